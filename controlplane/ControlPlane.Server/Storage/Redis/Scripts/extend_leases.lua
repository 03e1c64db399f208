-- ARGV: prefix, now, grace (ms; 0: each instance's own TTL), marker, marker TTL (ms), this replica's id,
-- the time of its last contact before the outage as Redis answered it (touch_contact.lua; 0: unknown), margin (ms).
-- After a store outage: every live instance's deadline moves to at least now + grace, so none
-- expires for heartbeats the control plane could not record. The marker (SET NX) names the outage by
-- the last revision the replicas had seen before it: the replicas that noticed the same outage run
-- this once (a second run would only move deadlines already later), and since it is itself a
-- revision ('leases'), the next outage has another name. Returns how many deadlines moved, or -1
-- when the marker was already set, -2 when Redis heard from another replica more than the margin after
-- it last heard from this one (replica_contact, advertise_lag.lua): then Redis was up and only this
-- replica was cut off, agents could renew through the others, and extending would keep instances
-- whose agents are gone alive (a replica that keeps losing its link would do so for good).
-- (This replica's own entry may have moved since: a touch it sent as the link went down can reach Redis late.)
local own_id, own, margin = ARGV[6], tonumber(ARGV[7] or '0'), tonumber(ARGV[8] or '0')
if own_id and own_id ~= '' and own > 0 then
  local contacts = redis.call('HGETALL', P .. 'replica_contact')
  for i = 1, #contacts, 2 do
    if contacts[i] ~= own_id and tonumber(contacts[i + 1]) > own + margin then return -2 end
  end
end
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
