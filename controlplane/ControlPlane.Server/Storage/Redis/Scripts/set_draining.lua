-- ARGV: prefix, id, '1' to drain | '0' to resume. Returns the record, or nil when unknown or expired.
local id = ARGV[2]
local r = load(id)
if not r or r.status == 'expired' then return false end
local target = ARGV[3] == '1' and 'draining' or 'healthy'
if target ~= r.status then
  changed('endpoints', r.image, id)
  r.status = target
  store(id, r)
end
if target == 'draining' then
  redis.call('SADD', DRAINING, id)
else
  redis.call('SREM', DRAINING, id)
end
return reply(r, redis.call('ZSCORE', EXPIRY, id))
