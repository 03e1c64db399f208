-- ARGV: prefix, 'svc' | 'img', name or image. Returns the records of the service's or image's
-- instances (any order; the caller filters and sorts), read at one moment.
local members = redis.call('SMEMBERS', ARGV[2] == 'svc' and svc_key(ARGV[3]) or img_key(ARGV[3]))
local out = {}
for _, id in ipairs(members) do
  local r = read(id)
  if r then out[#out + 1] = r end
end
return out
