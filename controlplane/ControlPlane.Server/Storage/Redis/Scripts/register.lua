-- ARGV: prefix, then eleven values per registration: id, name, image, host, port, region, metadata
-- (protobuf bytes), ttl_seconds, now, endpoint (HOST:port), expires (now + ttl_seconds, in ms).
-- Numbers come as text and are stored as sent: formatting a Lua number costs Redis a printf.
-- Returns one flat array, per registration in order its outcome and what the caller cannot know
-- (it has the spec and now; the record is those, so RedisRegistrations builds it): 'created' (healthy,
-- registered now); 'updated', status, registered_at; 'duplicate_instance_id' | 'port_conflict', the
-- record in the way (nothing written for it). Small replies: parsing a record per registration cost
-- the client more than Redis spent running the script.
-- The registrations run in order, each with its own guards (a later one sees what an earlier one
-- wrote), in one atomic script. A registration that changes what nodes are sent (new, back from
-- expiry, moved, new metadata) changes its image: one revision per such image, after them all, whose
-- entry names the image's changed instances.

-- What the guards read (the record, the endpoint) is written by each registration; the indexes no
-- guard reads (deadlines, TTLs, the listing, the service and image sets) are written once after them
-- all, a command per index instead of one per registration: Redis' cost is per command.
local deadlines, ttls, listed, by_name, by_image = {}, {}, {}, {}, {}
-- Ids registered by this call: their hash holds their new deadline, inst_expiry not yet.
local written = {}

-- read(id), for an id this call may have registered already (then the hash is the whole record).
local function read_current(id)
  if not written[id] then return read(id) end
  local r = redis.call('HMGET', inst_key(id), unpack(FIELDS))
  return r[1] and r or false
end

local function register(a, changed_images)
  local id, name, image, host, port, region, metadata = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], ARGV[a + 5], ARGV[a + 6]
  local ttl, now, endpoint, expires = ARGV[a + 7], ARGV[a + 8], ARGV[a + 9], ARGV[a + 10]
  local key = inst_key(id)

  local current = redis.call('HMGET', key, 'instance_id', 'name', 'image', 'status', 'endpoint', 'host', 'port', 'region', 'metadata', 'registered_at')
  local exists = current[1] ~= false
  if exists and (current[2] ~= name or current[3] ~= image) then
    return 'duplicate_instance_id', read_current(id)
  end
  local holder = redis.call('HGET', ENDPOINTS, endpoint)
  if holder and holder ~= id then
    local h = read_current(holder)
    -- Only a live holder counts (expiry and removal release the endpoint; this is a safety net).
    if h and h[STATUS] ~= 'expired' then
      return 'port_conflict', h
    end
  end

  local outcome, status, registered = 'created', 'healthy', now
  if exists then
    outcome, status, registered = 'updated', current[4], current[10]
    if status == 'expired' then
      -- Back before removal: the same instance returns, healthy. A draining one stays draining:
      -- drain is an operator's decision that a re-registering agent must not undo.
      status = 'healthy'
      redis.call('ZREM', EXPIRED, id)
      redis.call('HDEL', key, 'expired_at')
    elseif current[5] ~= endpoint then
      release_endpoint(id, current[5])
    end
    redis.call('HSET', key, 'host', host, 'port', port, 'region', region, 'metadata', metadata,
      'ttl_seconds', ttl, 'status', status, 'last_heartbeat', now, 'expires_at', expires, 'endpoint', endpoint)
  else
    redis.call('HSET', key, 'instance_id', id, 'name', name, 'image', image, 'registered_at', now, 'host', host, 'port', port,
      'region', region, 'metadata', metadata, 'ttl_seconds', ttl, 'status', status, 'last_heartbeat', now, 'expires_at', expires, 'endpoint', endpoint)
    add_member(by_name, name, id)
    add_member(by_image, image, id)
    listed[#listed + 1] = '0'
    listed[#listed + 1] = id
  end
  redis.call('HSET', ENDPOINTS, endpoint, id)
  deadlines[#deadlines + 1] = expires
  deadlines[#deadlines + 1] = id
  ttls[#ttls + 1] = id
  ttls[#ttls + 1] = ttl
  written[id] = true
  if not exists or current[4] ~= status or current[6] ~= host or current[7] ~= port or current[8] ~= region or current[9] ~= metadata then
    add_member(changed_images, image, id)
  end
  if exists then
    return outcome, status, registered
  end
  return outcome
end

-- Appends the values of register() to out.
local function append(out, ...)
  for i = 1, select('#', ...) do
    out[#out + 1] = select(i, ...)
  end
end

local out, changed_images = {}, {}
for a = 2, #ARGV, 11 do
  append(out, register(a, changed_images))
end
-- ZADD and HSET apply their pairs in order: an id registered twice keeps its later deadline and TTL.
if #deadlines > 0 then
  redis.call('ZADD', EXPIRY, unpack(deadlines))
  redis.call('HSET', TTLS, unpack(ttls))
end
if #listed > 0 then
  redis.call('ZADD', ALL, unpack(listed))
end
for _, set in ipairs(by_name) do
  redis.call('SADD', svc_key(set), unpack(by_name[set]))
end
for _, set in ipairs(by_image) do
  redis.call('SADD', img_key(set), unpack(by_image[set]))
end
changed_many('endpoints', changed_images, changed_images)
return out
