-- ARGV: prefix, id... Returns one record (or nil) per id, read at one moment.
local ids = {}
for i = 2, #ARGV do ids[i - 1] = ARGV[i] end
return read_at(ids)
