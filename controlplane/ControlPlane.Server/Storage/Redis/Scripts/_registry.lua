-- Prepended to every registry script (RedisScripts): the key layout under the prefix ARGV[1],
-- and the record shape that RedisInstanceRecords parses. Times are unix milliseconds.
-- The scripts derive per-instance index keys (svc:, img:) from the record they read, so they
-- need a single Redis (or a replicated primary), not Redis Cluster.
local P = ARGV[1]
local EXPIRY = P .. 'inst_expiry'        -- ZSET id -> lease deadline; live instances only
local TTLS = P .. 'inst_ttl'             -- HASH id -> TTL (seconds); live instances only (what a renewal reads)
local EXPIRED = P .. 'inst_expired'      -- ZSET id -> expiry time; expired instances kept for retention
local ENDPOINTS = P .. 'inst_endpoints'  -- HASH HOST:port -> id of the live instance holding it
local DRAINING = P .. 'inst_draining'    -- SET of draining ids
local ALL = P .. 'instances'             -- ZSET of every id, score 0: ordered listing by id
local EXPIRATIONS = P .. 'inst_expirations'  -- ZSET '<time>:<id>' by expiry time: the fleet's expiries of the last hour
local EXPIRATIONS_KEPT_MS = 3600000
local LAGS = P .. 'expiry_lags'          -- HASH replica id -> '<lag ms> <until ms>': each live replica's expiry lag (advertise_lag.lua)

-- An advertised lag '<lag ms> <until ms>' as numbers; nil for a malformed one.
local function parse_lag(value)
  local l, u = string.match(value, '^(%d+) (%d+)$')
  if l then return tonumber(l), tonumber(u) end
  return nil
end

-- The expiry lag in force at now (ms): the longest of own and of every lag advertised until now or later.
-- A replica answers renewals from memory and writes them within its checkpoint interval, so no replica
-- may expire an instance sooner after its deadline than the slowest live replica's lag.
local function expiry_lag(now, own)
  local lag = tonumber(own)
  local advertised = redis.call('HGETALL', LAGS)
  for i = 2, #advertised, 2 do
    local l, u = parse_lag(advertised[i])
    if l and u >= now and l > lag then lag = l end
  end
  return lag
end

-- Appends id to groups[key], a list created on first use; groups also lists its keys in the order first
-- seen (groups[1], groups[2] ...), so a script writes one command (or change entry) per group, in order.
local function add_member(groups, key, id)
  local members = groups[key]
  if not members then
    members = {}
    groups[key] = members
    groups[#groups + 1] = key
  end
  members[#members + 1] = id
end

local function inst_key(id) return P .. 'inst:' .. id end
local function svc_key(name) return P .. 'svc:' .. name .. ':instances' end
local function img_key(image) return P .. 'img:' .. image .. ':instances' end

local FIELDS = { 'instance_id', 'name', 'image', 'host', 'port', 'region', 'metadata', 'ttl_seconds',
  'status', 'registered_at', 'last_heartbeat', 'expires_at', 'expired_at' }
local TTL, STATUS, LAST_HEARTBEAT, EXPIRES_AT = 8, 9, 11, 12

-- Puts a live record's lease in: a renewal moves only the instance's inst_expiry score (renew.lua),
-- so the deadline is that score and the last heartbeat the deadline less the TTL, unless the score is
-- still the deadline the hash holds (register, extend_leases and expiry write both fields).
local function with_lease(r, deadline)
  if deadline and r[STATUS] ~= 'expired' then
    local d = tonumber(deadline)
    if d ~= tonumber(r[EXPIRES_AT]) then
      r[EXPIRES_AT], r[LAST_HEARTBEAT] = d, d - tonumber(r[TTL]) * 1000
    end
  end
  return r
end

-- The record of id in FIELDS order (expired_at is nil while live), or false when there is none.
local function read(id)
  local r = redis.call('HMGET', inst_key(id), unpack(FIELDS))
  if not r[1] then return false end
  if r[STATUS] == 'expired' then return r end
  return with_lease(r, redis.call('ZSCORE', EXPIRY, id))
end

-- The records of ids that exist, in order: read() with the deadlines fetched a thousand at a time.
local function read_many(ids)
  local out = {}
  for from = 1, #ids, 1000 do
    local to = math.min(from + 999, #ids)
    local deadlines = redis.call('ZMSCORE', EXPIRY, unpack(ids, from, to))
    for i = from, to do
      local r = redis.call('HMGET', inst_key(ids[i]), unpack(FIELDS))
      if r[1] then out[#out + 1] = with_lease(r, deadlines[i - from + 1]) end
    end
  end
  return out
end

-- Frees endpoint only if id holds it: another instance may have taken it since id let it go.
local function release_endpoint(id, endpoint)
  if endpoint and redis.call('HGET', ENDPOINTS, endpoint) == id then
    redis.call('HDEL', ENDPOINTS, endpoint)
  end
end

-- Removes every trace of id (record r): its record, its indexes, its lease or retention entry.
local function forget(id, r)
  release_endpoint(id, redis.call('HGET', inst_key(id), 'endpoint'))
  redis.call('ZREM', EXPIRY, id)
  redis.call('HDEL', TTLS, id)
  redis.call('ZREM', EXPIRED, id)
  redis.call('SREM', DRAINING, id)
  redis.call('SREM', svc_key(r[2]), id)
  redis.call('SREM', img_key(r[3]), id)
  redis.call('ZREM', ALL, id)
  redis.call('DEL', inst_key(id))
end
