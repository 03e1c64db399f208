-- ARGV: prefix, now, ttl_seconds (0: keep each one's own), id...
-- Returns three integers per id: 1 renewed healthy, 2 renewed draining, 0 not found (unknown or
-- expired); the TTL; the new deadline. One call renews a whole heartbeat message (up to 1000 ids).
local now, override = tonumber(ARGV[2]), tonumber(ARGV[3])
local out = {}
for i = 4, #ARGV do
  local id = ARGV[i]
  local key = inst_key(id)
  local r = redis.call('HMGET', key, 'status', 'ttl_seconds')
  local n = #out
  if not r[1] or r[1] == 'expired' then
    out[n + 1], out[n + 2], out[n + 3] = 0, 0, 0
  else
    local ttl = tonumber(r[2])
    if override > 0 then ttl = override end
    local expires = now + ttl * 1000
    redis.call('HSET', key, 'ttl_seconds', ttl, 'last_heartbeat', ARGV[2], 'expires_at', expires)
    redis.call('ZADD', EXPIRY, expires, id)
    out[n + 1], out[n + 2], out[n + 3] = (r[1] == 'draining') and 2 or 1, ttl, expires
  end
end
return out
