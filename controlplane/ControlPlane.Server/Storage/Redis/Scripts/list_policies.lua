-- ARGV: prefix, lower bound ('-' or '(' .. image), count (-1: all). Returns the policies' JSON in
-- image order (images are ASCII, so byte order is ordinal order), read at one moment.
local images = redis.call('ZRANGEBYLEX', POLICIES, ARGV[2], '+', 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, image in ipairs(images) do
  local json = redis.call('GET', policy_key(image))
  if json then out[#out + 1] = json end
end
return out
