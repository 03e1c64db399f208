-- ARGV: prefix, lower bound ('-' or '(' .. last id seen), count. Returns the records of the next
-- count instances by id (ids are ASCII, so byte order is ordinal order) and how many ids were read.
local ids = redis.call('ZRANGEBYLEX', ALL, ARGV[2], '+', 'LIMIT', 0, tonumber(ARGV[3]))
return { #ids, ids[#ids] or false, read_many(ids) }
