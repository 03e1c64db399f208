-- Prepended to every registry script (RedisScripts): the key layout under the prefix ARGV[1],
-- and the record (inst:{id}, JSON) that RedisInstanceRecords parses. Times are unix milliseconds.
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

-- inst:{id} holds the instance as JSON, the reference's shape: the fields below in this order, times as
-- unix ms numbers, and metadata last, the JSON text the control plane wrote at registration, kept as is
-- (RedisInstanceRecords parses it; decode() finds it by its place). A record here is a table of those
-- fields (numbers as numbers, or as the text ARGV sent), and json, the text it was read as or written.

-- A number as JSON: text from ARGV as sent (formatting a Lua number costs Redis a printf), else whole.
local function num(x)
  if type(x) == 'string' then return x end
  return string.format('%.0f', x)
end

local function encode(r)
  local s = '{"instance_id":' .. cjson.encode(r.instance_id) .. ',"name":' .. cjson.encode(r.name)
    .. ',"image":' .. cjson.encode(r.image) .. ',"host":' .. cjson.encode(r.host) .. ',"port":' .. num(r.port)
    .. ',"region":' .. cjson.encode(r.region) .. ',"ttl_seconds":' .. num(r.ttl_seconds) .. ',"status":"' .. r.status
    .. '","registered_at":' .. num(r.registered_at) .. ',"last_heartbeat":' .. num(r.last_heartbeat)
    .. ',"expires_at":' .. num(r.expires_at)
  if r.expired_at then s = s .. ',"expired_at":' .. num(r.expired_at) end
  return s .. ',"endpoint":' .. cjson.encode(r.endpoint) .. ',"metadata":' .. r.metadata .. '}'
end

-- Every string above is quoted with its quotes escaped, so '"metadata":' unescaped is the key: the
-- first one, whatever keys the metadata itself holds.
local function decode(text)
  local r = cjson.decode(text)
  r.metadata = string.match(text, '"metadata":(.*)}$')
  r.json = text
  return r
end

-- Records an earlier version wrote as hashes (text fields, metadata as the protobuf bytes of a
-- google.protobuf.Struct) are read as records, and written as JSON the next time they change.
local function varint(s, i)
  local v, m = 0, 1
  while true do
    local b = string.byte(s, i)
    if not b then error('inst: truncated metadata') end
    v, i = v + (b % 128) * m, i + 1
    if b < 128 then return v, i end
    m = m * 128
  end
end

-- Calls f(field, value) for each field of the protobuf message s: a number (varint), or the bytes.
local function each_field(s, f)
  local i = 1
  while i <= #s do
    local key, v
    key, i = varint(s, i)
    local wire = key % 8
    if wire == 0 then
      v, i = varint(s, i)
    elseif wire == 1 then
      v, i = string.sub(s, i, i + 7), i + 8
    elseif wire == 2 then
      local n
      n, i = varint(s, i)
      v, i = string.sub(s, i, i + n - 1), i + n
    elseif wire == 5 then
      v, i = string.sub(s, i, i + 3), i + 4
    else
      error('inst: malformed metadata')
    end
    f(math.floor(key / 8), v)
  end
end

local struct_json
-- A google.protobuf.Value as JSON, as its JSON mapping writes it (NaN and infinities as strings).
local function value_json(s)
  local out = 'null'
  each_field(s, function(field, v)
    if field == 2 then
      local d = struct.unpack('<d', v)
      if d ~= d then out = '"NaN"'
      elseif d == math.huge then out = '"Infinity"'
      elseif d == -math.huge then out = '"-Infinity"'
      elseif d == math.floor(d) and math.abs(d) < 1e15 then out = string.format('%.0f', d)
      else out = string.format('%.17g', d) end
    elseif field == 3 then out = cjson.encode(v)
    elseif field == 4 then out = v ~= 0 and 'true' or 'false'
    elseif field == 5 then out = struct_json(v)
    elseif field == 6 then
      local items = {}
      each_field(v, function(f, item) if f == 1 then items[#items + 1] = value_json(item) end end)
      out = '[' .. table.concat(items, ',') .. ']'
    elseif field == 1 then out = 'null' end
  end)
  return out
end

struct_json = function(s)
  local items = {}
  each_field(s, function(field, entry)
    if field == 1 then
      local k, v = '', ''
      each_field(entry, function(f, x) if f == 1 then k = x elseif f == 2 then v = x end end)
      items[#items + 1] = cjson.encode(k) .. ':' .. value_json(v)
    end
  end)
  return '{' .. table.concat(items, ',') .. '}'
end

local function from_hash(key)
  local h = redis.call('HMGET', key, 'instance_id', 'name', 'image', 'host', 'port', 'region', 'metadata', 'ttl_seconds',
    'status', 'registered_at', 'last_heartbeat', 'expires_at', 'expired_at', 'endpoint')
  if not h[1] then return nil end
  local r = { instance_id = h[1], name = h[2], image = h[3], host = h[4], port = tonumber(h[5]), region = h[6] or '',
    metadata = struct_json(h[7] or ''), ttl_seconds = tonumber(h[8]), status = h[9], registered_at = tonumber(h[10]),
    last_heartbeat = tonumber(h[11]), expires_at = tonumber(h[12]), expired_at = h[13] and tonumber(h[13]) or nil,
    endpoint = h[14] or (string.upper(h[4]) .. ':' .. h[5]) }
  r.json = encode(r)
  return r
end

-- The record of id, or nil when there is none.
local function load(id)
  local key = inst_key(id)
  local text = redis.pcall('GET', key)
  if type(text) == 'table' then return from_hash(key) end -- WRONGTYPE: an earlier version's hash
  if not text then return nil end
  return decode(text)
end

-- Writes r (its json too).
local function store(id, r)
  r.json = encode(r)
  redis.call('SET', inst_key(id), r.json)
end

-- A live record's lease: a renewal moves only the instance's inst_expiry score (renew.lua), so the
-- deadline is that score and the last heartbeat the deadline less the TTL, unless the score is still
-- the deadline the record holds (register, extend_leases and expiry write both fields).
local function lease(r, deadline)
  if deadline and r.status ~= 'expired' then
    local d = tonumber(deadline)
    if d ~= r.expires_at then
      r.expires_at, r.last_heartbeat = d, d - r.ttl_seconds * 1000
    end
  end
  return r
end

-- What the scripts answer for a record: {its JSON, its inst_expiry score or false}. The caller applies
-- the lease (RedisInstanceRecords), as lease() does: the score is not in the JSON.
local function reply(r, deadline)
  return { r.json, deadline or false }
end

-- The replies of ids' records, positionally (false where there is none), read at one moment: one
-- MGET and one ZMSCORE per thousand ids.
local function read_at(ids)
  local out = {}
  for from = 1, #ids, 1000 do
    local to = math.min(from + 999, #ids)
    local keys = {}
    for i = from, to do keys[i - from + 1] = inst_key(ids[i]) end
    local texts = redis.call('MGET', unpack(keys))
    local deadlines = redis.call('ZMSCORE', EXPIRY, unpack(ids, from, to))
    for i = from, to do
      local text = texts[i - from + 1]
      if not text then
        -- MGET answers nil for a hash too (an earlier version's record).
        local r = load(ids[i])
        text = r and r.json
      end
      out[i] = text and { text, deadlines[i - from + 1] or false } or false
    end
  end
  return out
end

-- The replies of the records of ids that exist, in order.
local function read_many(ids)
  local out = {}
  for _, r in ipairs(read_at(ids)) do
    if r then out[#out + 1] = r end
  end
  return out
end

-- Frees endpoint only if id holds it: another instance may have taken it since id let it go.
local function release_endpoint(id, endpoint)
  if endpoint and redis.call('HGET', ENDPOINTS, endpoint) == id then
    redis.call('HDEL', ENDPOINTS, endpoint)
  end
end

-- Removes every trace of id (record r, as load() read it): its record, its indexes, its lease or retention entry.
local function forget(id, r)
  release_endpoint(id, r.endpoint)
  redis.call('ZREM', EXPIRY, id)
  redis.call('HDEL', TTLS, id)
  redis.call('ZREM', EXPIRED, id)
  redis.call('SREM', DRAINING, id)
  redis.call('SREM', svc_key(r.name), id)
  redis.call('SREM', img_key(r.image), id)
  redis.call('ZREM', ALL, id)
  redis.call('DEL', inst_key(id))
end
