-- ARGV: prefix, 'svc' | 'img', name or image. Returns the records of the service's or image's
-- instances (any order; the caller filters and sorts), read at one moment.
return read_many(redis.call('SMEMBERS', ARGV[2] == 'svc' and svc_key(ARGV[3]) or img_key(ARGV[3])))
