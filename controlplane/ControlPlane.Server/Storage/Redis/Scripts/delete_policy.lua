-- ARGV: prefix, image, audit record head, max records. Returns the deleted policy's JSON, or nil
-- (and no record) when there was none.
local image = ARGV[2]
local key = policy_key(image)
local before = redis.call('GET', key)
if not before then return false end
redis.call('DEL', key)
redis.call('ZREM', POLICIES, image)
record(image, ARGV[3], before, false, tonumber(ARGV[4]))
changed('policy', image)
return before
