-- ARGV: prefix, now (ms, the replica's clock: the leases' time), grace (ms; 0: each instance's own TTL),
-- this replica's id, margin (ms).
-- After a store outage: every live instance's deadline moves to at least now + grace, so none
-- expires for heartbeats the control plane could not record, unless Redis has been serving other
-- replicas up to now: every replica in contact touches replica_contact each revision check
-- (touch_contact.lua), by Redis's clock, so another's entry later than Redis's now less the margin
-- (two intervals and a second) says Redis answered it just now. Then only this replica was cut off,
-- agents could renew through the others, and extending would keep instances whose agents are gone
-- alive (a replica that keeps losing its link would do so for good): returns -2, extends nothing.
-- The decision rests on Redis's clock and the contacts alone, not on what this replica saw of earlier
-- outages, so a replica back after several (or one that never got back in between) still extends
-- when no other has reached Redis since: none was recording heartbeats.
-- An extension is this replica's contact too (noted here, in the same step): another replica back from
-- the same outage then finds it and extends nothing. Should two still run for one outage (the first
-- cut off again at once, the second back more than the margin later), that is harmless: a later run
-- only moves deadlines later, never shortens one.
-- Only a replica in contact without a break for the margin or longer (replica_contact_since, which
-- touch_contact.lua keeps) counts: one that has just started, or is just back from an outage of its own,
-- says nothing of the time before, when Redis may have been down for all (a replica started during a
-- Redis outage touches as soon as Redis returns). One without that entry (an earlier version) counts.
-- Returns how many deadlines moved, or -2.
local CONTACT = P .. 'replica_contact'
local SINCE = P .. 'replica_contact_since'
local t = redis.call('TIME')
local redis_now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local own_id, margin = ARGV[4], tonumber(ARGV[5])
local contacts = redis.call('HGETALL', CONTACT)
for i = 1, #contacts, 2 do
  if contacts[i] ~= own_id and tonumber(contacts[i + 1]) > redis_now - margin then
    local since = redis.call('HGET', SINCE, contacts[i])
    if not since or tonumber(since) <= redis_now - margin then return -2 end
  end
end
redis.call('HSET', CONTACT, own_id, string.format('%.0f', redis_now))
-- Since 0: the extension counts at once for the others back from the same outage, which then extend nothing.
redis.call('HSET', SINCE, own_id, '0')
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
if moved > 0 then
  changed('leases', '*')
end
return moved
