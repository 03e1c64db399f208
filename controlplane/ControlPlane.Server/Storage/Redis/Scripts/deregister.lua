-- ARGV: prefix, id. Returns the removed record, or nil when there was none.
local id = ARGV[2]
local r = read(id)
if not r then return false end
forget(id, r)
if r[STATUS] ~= 'expired' then changed('endpoints', r[3], id) end
return r
