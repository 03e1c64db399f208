-- ARGV: prefix, id, image. Logs that instance id of image changed, only while the store has no record
-- of it (the record is the truth otherwise, and its own changes are logged with it). Replicas still
-- sending id from a mass-removal hold re-read it, find it gone, and drop it. Returns 1 when logged.
local id, image = ARGV[2], ARGV[3]
if redis.call('EXISTS', inst_key(id)) == 1 then return 0 end
changed('endpoints', image, id)
return 1
