-- ARGV: prefix, node, epoch, sequence, sequence - 1, window, counts TTL (s), now (ms), epoch retention
-- (ms), max epochs per node, then per counted key: scope ('img' | 'inst'), key, and one value per
-- METRICS entry. Sequences are decimal strings (unsigned 64-bit: beyond Lua's exact numbers).
-- Accepts the report when its sequence follows the epoch's last accepted one (a new epoch starts at
-- 1) and adds its counts in the same step; a resend (at or below) or a gap (beyond) changes nothing.
-- Instance keys are indexed in their image's set too (_load.lua), so that one image's stats read only its keys.
-- Returns {'accepted' | 'duplicate' | 'gap', the epoch's last accepted sequence}.
local node, epoch, seq, prev = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local window, ttl, now = ARGV[6], tonumber(ARGV[7]), tonumber(ARGV[8])
local retention, max_epochs = tonumber(ARGV[9]), tonumber(ARGV[10])
local SEQ, EPOCHS = seq_key(node), epochs_key(node)
local MAX = '9223372036854775807'

-- a > b for decimal strings without leading zeros.
local function greater(a, b) return #a > #b or (#a == #b and a > b) end

-- Epochs idle longer than the retention are forgotten (a later report of one is a gap from 0).
for _, idle in ipairs(redis.call('ZRANGEBYSCORE', EPOCHS, '-inf', '(' .. (now - retention))) do
  redis.call('HDEL', SEQ, idle)
  redis.call('ZREM', EPOCHS, idle)
end
local last = redis.call('HGET', SEQ, epoch)
if last then
  redis.call('ZADD', EPOCHS, now, epoch)
  redis.call('PEXPIRE', SEQ, retention)
  redis.call('PEXPIRE', EPOCHS, retention)
else
  last = '0'
end
if not greater(seq, last) then return { 'duplicate', last } end
if prev ~= last then return { 'gap', last } end

if last == '0' then
  -- A new epoch: the node's least recently used one goes when it already has the most it may keep.
  if redis.call('ZCARD', EPOCHS) >= max_epochs then
    local lru = redis.call('ZRANGE', EPOCHS, 0, 0)[1]
    redis.call('HDEL', SEQ, lru)
    redis.call('ZREM', EPOCHS, lru)
  end
  redis.call('ZADD', EPOCHS, now, epoch)
end

-- Adds v to counter k, saturating near 2^63 (as the embedded store does) instead of failing
-- half-way: a script that stops on an error keeps what it wrote before. A counter is created with
-- its TTL in one step (every counter of a bucket expires with it); INCRBY's own overflow error is
-- caught and saturates too, so an existing counter costs one command.
local function add(k, v)
  if redis.call('SET', k, v, 'EX', ttl, 'NX') then return end
  local sum = redis.pcall('INCRBY', k, v)
  if type(sum) == 'table' or sum >= 9.2e18 then redis.call('SET', k, MAX, 'KEEPTTL') end
end

local width = 2 + #METRICS
local indexed = {}
local by_image = 0
for g = 11, #ARGV, width do
  local scope, key = ARGV[g], ARGV[g + 1]
  local idx = idx_key(window, scope)
  redis.call('SADD', idx, key)
  indexed[idx] = true
  if scope == 'inst' then
    local image = image_idx_key(window, image_of(key))
    by_image = by_image + redis.call('SADD', image, key)
    indexed[image] = true
  end
  for m = 1, #METRICS do
    local v = ARGV[g + 1 + m]
    if v ~= '0' then add(cnt_key(window, METRICS[m], key), v) end
  end
end
if by_image > 0 then
  local n = by_image_key(window)
  redis.call('INCRBY', n, by_image)
  indexed[n] = true
end
for idx in pairs(indexed) do redis.call('EXPIRE', idx, ttl) end
redis.call('HSET', SEQ, epoch, seq)
redis.call('PEXPIRE', SEQ, retention)
redis.call('PEXPIRE', EPOCHS, retention)
return { 'accepted', seq }
