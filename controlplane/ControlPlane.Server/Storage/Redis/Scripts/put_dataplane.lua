-- ARGV: prefix, node id, status (protobuf bytes), stream opened at (ms), published at (ms), lifetime (ms).
-- Stores the node's status unless the stored one describes a newer stream (the node moved to
-- another replica since): latest stream wins. Returns 1 when stored, 0 when not.
local P = ARGV[1]
local key = P .. 'dp:' .. ARGV[2]
local stored = redis.call('HGET', key, 'opened_at')
if stored and tonumber(stored) > tonumber(ARGV[4]) then return 0 end
redis.call('HSET', key, 'status', ARGV[3], 'opened_at', ARGV[4], 'published_at', ARGV[5])
redis.call('PEXPIRE', key, tonumber(ARGV[6]))
redis.call('ZADD', P .. 'dataplanes', 0, ARGV[2])
return 1
