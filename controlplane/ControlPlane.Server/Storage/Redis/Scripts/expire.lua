-- ARGV: prefix, now, this replica's expiry lag (ms), id... Expires those still live and whose deadline is at
-- or before the cutoff (now less the lag in force, expiry_lag; a heartbeat may have won the race since the
-- scan) and returns their records. Expiring twice finds nothing to do, so of replicas racing to expire an
-- instance exactly one gets its record back (and reports it).
-- The hash keeps the lease the instance ended with (renewals move only its inst_expiry score).
local now = tonumber(ARGV[2])
local cutoff = now - expiry_lag(now, ARGV[3])
local out = {}
local images = {}
for i = 4, #ARGV do
  local id = ARGV[i]
  local key = inst_key(id)
  local r = read(id)
  if r and r[STATUS] ~= 'expired' and tonumber(r[EXPIRES_AT]) <= cutoff then
    release_endpoint(id, redis.call('HGET', key, 'endpoint'))
    redis.call('SREM', DRAINING, id)
    redis.call('ZREM', EXPIRY, id)
    redis.call('HDEL', TTLS, id)
    redis.call('HSET', key, 'status', 'expired', 'expired_at', ARGV[2], 'last_heartbeat', r[LAST_HEARTBEAT], 'expires_at', r[EXPIRES_AT])
    redis.call('ZADD', EXPIRED, ARGV[2], id)
    redis.call('ZADD', EXPIRATIONS, now, ARGV[2] .. ':' .. id)
    add_member(images, r[3], id)
    r[STATUS], r[13] = 'expired', ARGV[2]
    out[#out + 1] = r
  end
end
changed_many('endpoints', images, images)
-- The self-preservation window is at most EXPIRATIONS_KEPT_MS long: older entries say nothing.
redis.call('ZREMRANGEBYSCORE', EXPIRATIONS, '-inf', now - EXPIRATIONS_KEPT_MS)
return out
