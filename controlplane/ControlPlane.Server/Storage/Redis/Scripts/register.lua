-- ARGV: prefix, id, name, image, host, port, region, metadata (protobuf bytes), ttl_seconds, now, endpoint (HOST:port)
-- Returns {outcome, record}: outcome 'created' | 'updated' with the instance, or
-- 'duplicate_instance_id' | 'port_conflict' with the instance in the way (nothing written).
-- A registration that changes what nodes are sent (new, back from expiry, moved, new metadata) is a change.
local id, name, image, endpoint = ARGV[2], ARGV[3], ARGV[4], ARGV[11]
local now, ttl = tonumber(ARGV[10]), tonumber(ARGV[9])
local key = inst_key(id)

local current = redis.call('HMGET', key, 'instance_id', 'name', 'image', 'status', 'endpoint', 'host', 'port', 'region', 'metadata')
local exists = current[1] ~= false
if exists and (current[2] ~= name or current[3] ~= image) then
  return { 'duplicate_instance_id', read(id) }
end
local holder = redis.call('HGET', ENDPOINTS, endpoint)
if holder and holder ~= id then
  local h = read(holder)
  -- Only a live holder counts (expiry and removal release the endpoint; this is a safety net).
  if h and h[STATUS] ~= 'expired' then
    return { 'port_conflict', h }
  end
end

local outcome, status = 'created', 'healthy'
if exists then
  outcome, status = 'updated', current[4]
  if status == 'expired' then
    -- Back before removal: the same instance returns, healthy. A draining one stays draining:
    -- drain is an operator's decision that a re-registering agent must not undo.
    status = 'healthy'
    redis.call('ZREM', EXPIRED, id)
    redis.call('HDEL', key, 'expired_at')
  elseif current[5] ~= endpoint then
    release_endpoint(id, current[5])
  end
else
  redis.call('HSET', key, 'instance_id', id, 'name', name, 'image', image, 'registered_at', ARGV[10])
  redis.call('SADD', svc_key(name), id)
  redis.call('SADD', img_key(image), id)
  redis.call('ZADD', ALL, 0, id)
end
local expires = now + ttl * 1000
redis.call('HSET', key, 'host', ARGV[5], 'port', ARGV[6], 'region', ARGV[7], 'metadata', ARGV[8],
  'ttl_seconds', ttl, 'status', status, 'last_heartbeat', ARGV[10], 'expires_at', expires, 'endpoint', endpoint)
redis.call('HSET', ENDPOINTS, endpoint, id)
redis.call('ZADD', EXPIRY, expires, id)
if not exists or current[4] ~= status or current[6] ~= ARGV[5] or current[7] ~= ARGV[6] or current[8] ~= ARGV[7] or current[9] ~= ARGV[8] then
  changed('endpoints', image)
end
return { outcome, read(id) }
