-- ARGV: prefix. Returns {status, opened_at, published_at} of every node by id, read at one moment;
-- ids whose entry expired leave the index.
local P = ARGV[1]
local out = {}
for _, id in ipairs(redis.call('ZRANGE', P .. 'dataplanes', 0, -1)) do
  local r = redis.call('HMGET', P .. 'dp:' .. id, 'status', 'opened_at', 'published_at')
  if r[1] then
    out[#out + 1] = r[1]
    out[#out + 1] = r[2]
    out[#out + 1] = r[3]
  else
    redis.call('ZREM', P .. 'dataplanes', id)
  end
end
return out
