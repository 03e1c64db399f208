-- ARGV: prefix, replica id, sent at (ms, the replica's clock), max delay (ms), margin (ms). Notes that Redis
-- heard from the replica now, by Redis's own clock (replica_contact: id -> ms), so that a replica back
-- from an outage can tell whether Redis has been answering others up to now (extend_leases.lua), and
-- since when without a break (replica_contact_since: id -> ms): a touch more than the margin after the
-- replica's last one begins a new run. A replica that has just started, or is just back from an outage
-- of its own, so says nothing of the time before, when the outage may have been everyone's.
-- Entries not renewed for an hour (replicas gone) are dropped.
-- Returns the time noted (ms); 0 when not noted: a touch that reaches Redis more than the max delay
-- after it was sent (Redis hung, or the link held it, and ran it as it woke) says nothing about when
-- the replica was in contact, and would make an outage of Redis itself look like one replica's
-- cut-off to the others back from it. (Replica clocks off Redis's by more than that: never noted,
-- and leases are extended after every outage, as without this check.)
local CONTACT = ARGV[1] .. 'replica_contact'
local SINCE = ARGV[1] .. 'replica_contact_since'
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if math.abs(now - tonumber(ARGV[3])) > tonumber(ARGV[4]) then
  return 0
end
local id, margin = ARGV[2], tonumber(ARGV[5])
local last = tonumber(redis.call('HGET', CONTACT, id) or '0')
local now_text = string.format('%.0f', now)
if last < now - margin or redis.call('HEXISTS', SINCE, id) == 0 then
  redis.call('HSET', SINCE, id, now_text)
end
redis.call('HSET', CONTACT, id, now_text)
local contacts = redis.call('HGETALL', CONTACT)
for i = 2, #contacts, 2 do
  if tonumber(contacts[i]) < now - 3600000 then
    redis.call('HDEL', CONTACT, contacts[i - 1])
    redis.call('HDEL', SINCE, contacts[i - 1])
  end
end
return now
