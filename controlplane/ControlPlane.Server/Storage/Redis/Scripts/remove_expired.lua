-- ARGV: prefix, cutoff (expired at or before it), count. Removes up to count instances expired
-- by the cutoff; returns {how many ids were looked at, their records}.
local ids = redis.call('ZRANGEBYSCORE', EXPIRED, '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local r = load(id)
  if r then
    out[#out + 1] = reply(r, false)
    forget(id, r)
  else
    redis.call('ZREM', EXPIRED, id)
  end
end
return { #ids, out }
