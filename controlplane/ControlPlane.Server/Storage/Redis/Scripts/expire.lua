-- ARGV: prefix, now, id... Expires those still live and past their deadline (a heartbeat may have
-- won the race since the scan) and returns their records. Expiring twice finds nothing to do.
local now = tonumber(ARGV[2])
local out = {}
for i = 3, #ARGV do
  local id = ARGV[i]
  local key = inst_key(id)
  local r = redis.call('HMGET', key, 'status', 'expires_at', 'endpoint')
  if r[1] and r[1] ~= 'expired' and tonumber(r[2]) <= now then
    release_endpoint(id, r[3])
    redis.call('SREM', DRAINING, id)
    redis.call('ZREM', EXPIRY, id)
    redis.call('HSET', key, 'status', 'expired', 'expired_at', ARGV[2])
    redis.call('ZADD', EXPIRED, ARGV[2], id)
    out[#out + 1] = read(id)
  end
end
return out
