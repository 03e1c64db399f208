-- ARGV: prefix, image, policy JSON, its version, audit record head, max records, required version
-- ('' = none). Returns {1, previous JSON or nil} when stored, {0, stored JSON} when the stored policy
-- already has this version (a retried PUT is not a change: nothing is written, no record is added),
-- {2, stored JSON or nil} when a version is required and the stored policy has another or there is
-- none (compare-and-set, checked here so no other write can come between the check and the SET).
local image, policy, version, required = ARGV[2], ARGV[3], ARGV[4], ARGV[7]
local key = policy_key(image)
local before = redis.call('GET', key)
local stored_version = nil
if before then
  local ok, stored = pcall(cjson.decode, before)
  if ok and type(stored) == 'table' then
    stored_version = stored.version or ''
  end
end
if required ~= '' and stored_version ~= required then
  return { 2, before }
end
if stored_version == version then
  return { 0, before }
end
redis.call('SET', key, policy)
redis.call('ZADD', POLICIES, 0, image)
record(image, ARGV[5], before, policy, tonumber(ARGV[6]))
changed('policy', image)
return { 1, before }
