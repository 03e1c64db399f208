-- ARGV: prefix. Returns {live, draining, expired}.
return { redis.call('ZCARD', EXPIRY), redis.call('SCARD', DRAINING), redis.call('ZCARD', EXPIRED) }
