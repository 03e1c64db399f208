-- ARGV: prefix, id... Returns one record (or nil) per id, read at one moment.
local out = {}
for i = 2, #ARGV do
  out[i - 1] = read(ARGV[i])
end
return out
