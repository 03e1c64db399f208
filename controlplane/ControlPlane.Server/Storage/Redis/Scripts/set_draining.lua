-- ARGV: prefix, id, '1' to drain | '0' to resume. Returns the record, or nil when unknown or expired.
local id = ARGV[2]
local key = inst_key(id)
local status = redis.call('HGET', key, 'status')
if not status or status == 'expired' then return false end
local target = ARGV[3] == '1' and 'draining' or 'healthy'
if target ~= status then changed('endpoints', redis.call('HGET', key, 'image'), id) end
if ARGV[3] == '1' then
  redis.call('HSET', key, 'status', 'draining')
  redis.call('SADD', DRAINING, id)
else
  redis.call('HSET', key, 'status', 'healthy')
  redis.call('SREM', DRAINING, id)
end
return read(id)
