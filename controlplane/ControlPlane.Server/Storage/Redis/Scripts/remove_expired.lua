-- ARGV: prefix, cutoff (expired at or before it), count. Removes up to count instances expired
-- by the cutoff; returns {how many ids were looked at, their records}. A removal changes what nodes
-- are sent (an image keeps its endpoint set, with no endpoints, while it has retained records; its
-- last one gone, the set goes), so each image whose instances were removed gets a change naming them.
local ids = redis.call('ZRANGEBYSCORE', EXPIRED, '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
local images = {}
for _, id in ipairs(ids) do
  local r = load(id)
  if r then
    out[#out + 1] = reply(r, false)
    forget(id, r)
    add_member(images, r.image, id)
  else
    redis.call('ZREM', EXPIRED, id)
  end
end
changed_many('endpoints', images, images)
return { #ids, out }
