-- ARGV: prefix, now, this replica's expiry lag (ms), id... Expires those still live and whose deadline is at
-- or before the cutoff (now less the lag in force, expiry_lag; a heartbeat may have won the race since the
-- scan) and returns their records. Expiring twice finds nothing to do, so of replicas racing to expire an
-- instance exactly one gets its record back (and reports it).
-- The record keeps the lease the instance ended with (renewals move only its inst_expiry score).
local now = tonumber(ARGV[2])
local cutoff = now - expiry_lag(now, ARGV[3])
local out = {}
local images = {}
for i = 4, #ARGV do
  local id = ARGV[i]
  local r = load(id)
  if r and r.status ~= 'expired' and lease(r, redis.call('ZSCORE', EXPIRY, id)).expires_at <= cutoff then
    release_endpoint(id, r.endpoint)
    redis.call('SREM', DRAINING, id)
    redis.call('ZREM', EXPIRY, id)
    redis.call('HDEL', TTLS, id)
    r.status, r.expired_at = 'expired', ARGV[2]
    store(id, r)
    redis.call('ZADD', EXPIRED, ARGV[2], id)
    redis.call('ZADD', EXPIRATIONS, now, ARGV[2] .. ':' .. id)
    add_member(images, r.image, id)
    out[#out + 1] = reply(r, false)
  end
end
changed_many('endpoints', images, images)
-- The self-preservation window is at most EXPIRATIONS_KEPT_MS long: older entries say nothing.
redis.call('ZREMRANGEBYSCORE', EXPIRATIONS, '-inf', now - EXPIRATIONS_KEPT_MS)
return out
