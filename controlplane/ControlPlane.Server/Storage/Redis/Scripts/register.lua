-- ARGV: prefix, then eleven values per registration: id, name, image, host, port, region, metadata
-- (its JSON text, MetadataJson), ttl_seconds, now, endpoint (HOST:port), expires (now + ttl_seconds, in ms).
-- Numbers come as text and are stored as sent: formatting a Lua number costs Redis a printf.
-- Returns one flat array, per registration in order its outcome and what the caller cannot know
-- (it has the spec and now; the record is those, so RedisRegistrations builds it): 'created' (healthy,
-- registered now); 'updated', status, registered_at; 'duplicate_instance_id' | 'port_conflict', the
-- record in the way (nothing written for it); 'unreadable_record', why (nothing written for it).
-- Small replies: parsing a record per registration cost the client more than Redis spent running the script.
-- The registrations run in order, each with its own guards (a later one sees what an earlier one
-- wrote), in one atomic script. A registration that changes what nodes are sent (new, back from
-- expiry, moved, new metadata) changes its image: one revision per such image, after them all, whose
-- entry names the image's changed instances.

-- What the guards read (the record, one SET; the endpoint) is written by each registration; the indexes no
-- guard reads (deadlines, TTLs, the listing, the service and image sets) are written once after them
-- all, a command per index instead of one per registration: Redis' cost is per command, and per argument.
local deadlines, ttls, listed, by_name, by_image = {}, {}, {}, {}, {}
-- Ids registered by this call: their record holds their new deadline, inst_expiry not yet.
local written = {}
-- Whether any record existed before this call (one EXISTS for them all): when none did, the common
-- case of every id new, a registration reads its record only if this call wrote it.
local any_record = false
-- A local: every read of a global is a table lookup.
local ARGV = ARGV

-- The reply of record r of id, which this call may have registered already (then the record is the whole truth).
local function reply_current(id, r)
  if written[id] then return reply(r, false) end
  return reply(r, redis.call('ZSCORE', EXPIRY, id))
end

-- Registers the eleven values at ARGV[a]; appends its reply to out.
local function register(a, out, changed_images)
  local id, name, image, host, port, region, metadata = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], ARGV[a + 5], ARGV[a + 6]
  local ttl, now, endpoint, expires = ARGV[a + 7], ARGV[a + 8], ARGV[a + 9], ARGV[a + 10]

  -- Nothing is written for a registration before its reads are done, and a record that cannot be
  -- read (written by something else) refuses that registration alone: an error would end the script
  -- with earlier registrations' records written and their indexes (written after them all) not.
  local readable, current = pcall(function() return (any_record or written[id]) and load(id) end)
  if not readable then
    local n = #out
    out[n + 1], out[n + 2] = 'unreadable_record', 'inst:' .. id .. ': ' .. tostring(current)
    return
  end
  if current and (current.name ~= name or current.image ~= image) then
    local n = #out
    out[n + 1], out[n + 2] = 'duplicate_instance_id', reply_current(id, current)
    return
  end
  -- A new id takes a free endpoint with one command (HSETNX: written only if free, so a refusal
  -- below still writes nothing); a taken one, or an update's, is read as before.
  local taken = not current and redis.call('HSETNX', ENDPOINTS, endpoint, id) == 1
  local holder = not taken and redis.call('HGET', ENDPOINTS, endpoint)
  if holder and holder ~= id then
    local holder_readable, h = pcall(load, holder)
    if not holder_readable then
      local n = #out
      out[n + 1], out[n + 2] = 'unreadable_record', 'inst:' .. holder .. ' (holding ' .. endpoint .. '): ' .. tostring(h)
      return
    end
    -- Only a live holder counts (expiry and removal release the endpoint; this is a safety net).
    if h and h.status ~= 'expired' then
      local n = #out
      out[n + 1], out[n + 2] = 'port_conflict', reply_current(holder, h)
      return
    end
  end

  local status, registered = 'healthy', now
  if current then
    status, registered = current.status, current.registered_at
    if status == 'expired' then
      -- Back before removal: the same instance returns, healthy. A draining one stays draining:
      -- drain is an operator's decision that a re-registering agent must not undo.
      status = 'healthy'
      redis.call('ZREM', EXPIRED, id)
    elseif current.endpoint ~= endpoint then
      release_endpoint(id, current.endpoint)
    end
  end
  -- Indexed again on every registration (the writes are idempotent), so a record whose index
  -- entries went missing is whole again once its agent registers.
  add_member(by_name, name, id)
  add_member(by_image, image, id)
  listed[#listed + 1] = '0'
  listed[#listed + 1] = id
  store(id, { instance_id = id, name = name, image = image, host = host, port = port, region = region, ttl_seconds = ttl,
    status = status, registered_at = registered, last_heartbeat = now, expires_at = expires, endpoint = endpoint, metadata = metadata })
  -- Already id's (HSETNX above, or an update that kept its endpoint): rewriting it would change nothing.
  if holder ~= id and not taken then
    redis.call('HSET', ENDPOINTS, endpoint, id)
  end
  deadlines[#deadlines + 1] = expires
  deadlines[#deadlines + 1] = id
  ttls[#ttls + 1] = id
  ttls[#ttls + 1] = ttl
  written[id] = true
  if not current or current.status ~= status or current.host ~= host or current.port ~= tonumber(port)
    or current.region ~= region or current.metadata ~= metadata then
    add_member(changed_images, image, id)
  end
  if current then
    local n = #out
    out[n + 1], out[n + 2], out[n + 3] = 'updated', status, current.registered_at
  else
    out[#out + 1] = 'created'
  end
end

local keys, out, changed_images = {}, {}, {}
for a = 2, #ARGV, 11 do
  keys[#keys + 1] = inst_key(ARGV[a])
end
if #keys > 0 then
  any_record = redis.call('EXISTS', unpack(keys)) > 0
end
for i = 1, #keys do
  register(11 * i - 9, out, changed_images)
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
