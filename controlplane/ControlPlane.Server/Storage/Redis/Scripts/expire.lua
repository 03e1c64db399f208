-- ARGV: prefix, now, id... Expires those still live and past their deadline (a heartbeat may have
-- won the race since the scan) and returns their records. Expiring twice finds nothing to do, so of
-- replicas racing to expire an instance exactly one gets its record back (and reports it).
local now = tonumber(ARGV[2])
local out = {}
local images = {}
for i = 3, #ARGV do
  local id = ARGV[i]
  local key = inst_key(id)
  local r = redis.call('HMGET', key, 'status', 'expires_at', 'endpoint', 'image')
  if r[1] and r[1] ~= 'expired' and tonumber(r[2]) <= now then
    release_endpoint(id, r[3])
    redis.call('SREM', DRAINING, id)
    redis.call('ZREM', EXPIRY, id)
    redis.call('HSET', key, 'status', 'expired', 'expired_at', ARGV[2])
    redis.call('ZADD', EXPIRED, ARGV[2], id)
    redis.call('ZADD', EXPIRATIONS, now, ARGV[2] .. ':' .. id)
    images[r[4]] = true
    out[#out + 1] = read(id)
  end
end
for image in pairs(images) do
  changed('endpoints', image)
end
-- The self-preservation window is at most EXPIRATIONS_KEPT_MS long: older entries say nothing.
redis.call('ZREMRANGEBYSCORE', EXPIRATIONS, '-inf', now - EXPIRATIONS_KEPT_MS)
return out
