-- ARGV: prefix, id. Returns the removed record, or nil when there was none. An expired record's removal
-- changes what nodes are sent too: its image's endpoint set goes with the image's last record.
local id = ARGV[2]
local r = load(id)
if not r then return false end
local removed = reply(r, r.status ~= 'expired' and redis.call('ZSCORE', EXPIRY, id))
forget(id, r)
changed('endpoints', r.image, id)
return removed
