-- ARGV: prefix, image, policy JSON, its version, audit record head, max records.
-- Returns {1, previous JSON or nil} when stored, {0, stored JSON} when the stored policy already
-- has this version (a retried PUT is not a change: nothing is written, no record is added).
local image, policy, version = ARGV[2], ARGV[3], ARGV[4]
local key = policy_key(image)
local before = redis.call('GET', key)
if before then
  local ok, stored = pcall(cjson.decode, before)
  if ok and type(stored) == 'table' and (stored.version or '') == version then
    return { 0, before }
  end
end
redis.call('SET', key, policy)
redis.call('ZADD', POLICIES, 0, image)
record(image, ARGV[5], before, policy, tonumber(ARGV[6]))
changed('policy', image)
return { 1, before }
