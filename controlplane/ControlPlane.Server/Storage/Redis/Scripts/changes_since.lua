-- ARGV: prefix, revision, count. Returns {epoch, the current revision, the oldest revision still
-- in the log (nil when empty), the log entries after the revision (at most count, oldest first)}.
local epoch = change_epoch()
local current = tonumber(redis.call('GET', CHANGE_REV) or '0')
local first = redis.call('ZRANGE', CHANGE_LOG, 0, 0, 'WITHSCORES')
local entries = redis.call('ZRANGEBYSCORE', CHANGE_LOG, '(' .. ARGV[2], '+inf', 'LIMIT', 0, tonumber(ARGV[3]))
return { epoch, current, first[2] or false, entries }
