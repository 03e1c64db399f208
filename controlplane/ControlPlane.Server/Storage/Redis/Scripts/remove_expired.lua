-- ARGV: prefix, cutoff (expired at or before it), count. Removes up to count instances expired
-- by the cutoff; returns {how many ids were looked at, their records}.
local ids = redis.call('ZRANGEBYSCORE', EXPIRED, '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local r = read(id)
  if r then
    forget(id, r)
    out[#out + 1] = r
  else
    redis.call('ZREM', EXPIRED, id)
  end
end
return { #ids, out }
