-- ARGV: prefix, replica id, lag (ms; -1 withdraws it), until (ms), now (ms). Advertises how long after a
-- deadline this replica lets an instance expire, until the given time (it renews the advertisement every
-- checkpoint interval; one that stops is ignored once it lapses), and drops lapsed advertisements.
local now = tonumber(ARGV[5])
if ARGV[3] == '-1' then
  redis.call('HDEL', LAGS, ARGV[2])
else
  redis.call('HSET', LAGS, ARGV[2], ARGV[3] .. ' ' .. ARGV[4])
end
local advertised = redis.call('HGETALL', LAGS)
for i = 2, #advertised, 2 do
  local _, u = parse_lag(advertised[i])
  if not u or u < now then redis.call('HDEL', LAGS, advertised[i - 1]) end
end
return redis.call('HLEN', LAGS)
