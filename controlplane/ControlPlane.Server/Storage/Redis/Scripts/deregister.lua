-- ARGV: prefix, id. Returns the removed record, or nil when there was none.
local id = ARGV[2]
local r = load(id)
if not r then return false end
local removed = reply(r, r.status ~= 'expired' and redis.call('ZSCORE', EXPIRY, id))
forget(id, r)
if r.status ~= 'expired' then changed('endpoints', r.image, id) end
return removed
