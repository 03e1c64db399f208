-- ARGV: prefix, then three values per instance: id, beat time (unix ms), ttl_seconds (0: keep its own).
-- Returns one integer per instance: its new deadline (beat time + TTL), negated when it is draining,
-- or 0 when it is not found (unknown or expired). A renewal moves only the deadline, the instance's
-- inst_expiry score (readers derive the last heartbeat from it), and inst_ttl says both whether an
-- instance is live and its TTL: a call renews up to a thousand instances in three commands, not
-- three per instance. The callers pass each id once (RedisRenewals).
local n = (#ARGV - 1) / 3
local ids = {}
for i = 1, n do ids[i] = ARGV[3 * i - 1] end
local ttls = redis.call('HMGET', TTLS, unpack(ids))
local draining = redis.call('SMISMEMBER', DRAINING, unpack(ids))
-- Deadlines only move forward (ZADD GT): a renewal written late (a checkpoint that waited out a Redis
-- outage, a slower replica's) never takes back a later deadline, such as the lease grace after that outage.
-- A unary heartbeat that changes the TTL sets its deadline as is (a shorter TTL moves it back).
local leases, set, out = {}, {}, {}
for i = 1, n do
  local ttl = ttls[i]
  if not ttl then
    -- Not in inst_ttl: unknown or expired, or live but registered before inst_ttl existed (a store
    -- written by an earlier version), which gets its entry now instead of being refused.
    local r = load(ids[i])
    if r and r.status ~= 'expired' and r.ttl_seconds then
      ttl = r.ttl_seconds
      redis.call('HSET', TTLS, ids[i], ttl)
    end
  end
  if ttl then
    ttl = tonumber(ttl)
    local override = tonumber(ARGV[3 * i + 1])
    local into = leases
    if override > 0 and override ~= ttl then
      into = set
      -- A unary heartbeat's ttl_seconds is the instance's TTL from now on.
      ttl = override
      redis.call('HSET', TTLS, ids[i], ttl)
      local r = load(ids[i])
      if r then
        r.ttl_seconds = ttl
        store(ids[i], r)
      end
    end
    local expires = tonumber(ARGV[3 * i]) + ttl * 1000
    into[#into + 1] = expires
    into[#into + 1] = ids[i]
    out[i] = draining[i] == 1 and -expires or expires
  else
    out[i] = 0
  end
end
if #leases > 0 then redis.call('ZADD', EXPIRY, 'GT', unpack(leases)) end
if #set > 0 then redis.call('ZADD', EXPIRY, unpack(set)) end
return out
