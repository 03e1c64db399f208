-- ARGV: prefix, now, grace (ms; 0: each instance's own TTL), marker, marker TTL (ms).
-- After a store outage: every live instance's deadline moves to at least now + grace, so none
-- expires for heartbeats the control plane could not record. The marker (SET NX) names the outage by
-- the last revision the replicas had seen before it: the replicas that noticed the same outage run
-- this once (a second run would only move deadlines already later), and since it is itself a
-- revision ('leases'), the next outage has another name. Returns how many deadlines moved, or -1
-- when the marker was already set.
if not redis.call('SET', P .. 'lease_grace:' .. ARGV[4], '1', 'NX', 'PX', tonumber(ARGV[5])) then
  return -1
end
local now, grace = tonumber(ARGV[2]), tonumber(ARGV[3])
local leases = redis.call('ZRANGE', EXPIRY, 0, -1, 'WITHSCORES')
local moved = 0
for i = 1, #leases, 2 do
  local id = leases[i]
  local deadline = tonumber(leases[i + 1])
  local ttl = tonumber(redis.call('HGET', TTLS, id) or '0')
  local floor = now + grace
  if grace == 0 then
    floor = now + ttl * 1000
  end
  if deadline < floor then
    -- The record keeps the last heartbeat, which the new deadline no longer tells (lease()).
    local r = load(id)
    if r then
      r.last_heartbeat = r.expires_at == deadline and r.last_heartbeat or deadline - ttl * 1000
      r.expires_at = floor
      store(id, r)
    end
    redis.call('ZADD', EXPIRY, floor, id)
    moved = moved + 1
  end
end
changed('leases', '*')
return moved
