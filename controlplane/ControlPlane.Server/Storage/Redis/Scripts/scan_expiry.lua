-- ARGV: prefix, now, limit, window (ms), this replica's expiry lag (ms). The cutoff is now less the lag in
-- force (the longest of this one and every live replica's, expiry_lag): renewals a replica holds in memory
-- reach Redis within it. Returns {overdue ids (live, deadline <= cutoff, at most limit), live count, the
-- next deadline after the cutoff or nil, the earliest expiry time of a retained instance or nil, how many
-- instances expired within the window before now (every replica's expiries), the lag in force}.
local now = ARGV[2]
local lag = expiry_lag(tonumber(now), ARGV[5])
local cutoff = tonumber(now) - lag
local overdue = redis.call('ZRANGEBYSCORE', EXPIRY, '-inf', cutoff, 'LIMIT', 0, tonumber(ARGV[3]))
local live = redis.call('ZCARD', EXPIRY)
local nxt = redis.call('ZRANGEBYSCORE', EXPIRY, '(' .. cutoff, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
local first = redis.call('ZRANGE', EXPIRED, 0, 0, 'WITHSCORES')
local recent = redis.call('ZCOUNT', EXPIRATIONS, '(' .. (tonumber(now) - tonumber(ARGV[4])), now)
return { overdue, live, nxt[2] or false, first[2] or false, recent, lag }
