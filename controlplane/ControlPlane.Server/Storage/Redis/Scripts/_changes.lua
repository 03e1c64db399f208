-- Prepended to every script after its own prelude (which defines P): change notifications. Every
-- change to what nodes are sent (an instance's routability, a policy) calls changed() in the same
-- script, so the revision, the log entry, the message and the change itself are one atomic step.
local CHANGE_REV = P .. 'change_rev'      -- STRING: the revision of the last change (INCR)
local CHANGE_EPOCH = P .. 'change_epoch'  -- STRING: names this revision sequence; a store that starts afresh gets a new one
local CHANGE_LOG = P .. 'change_log'      -- ZSET '<revision> <kind> <name>' scored by revision, the newest CHANGE_LOG_MAX
local CHANGES = P .. 'changes'            -- pub/sub channel: the same '<revision> <kind> <name>'
local CHANGE_LOG_MAX = 10000

-- The epoch, created on first use (Redis' clock: a store emptied and refilled never reuses one).
local function change_epoch()
  local epoch = redis.call('GET', CHANGE_EPOCH)
  if not epoch then
    local t = redis.call('TIME')
    epoch = t[1] .. '.' .. t[2]
    redis.call('SET', CHANGE_EPOCH, epoch)
  end
  return epoch
end

-- Records that resource kind/name may have changed: the next revision, logged and published.
local function changed(kind, name)
  change_epoch()
  local rev = redis.call('INCR', CHANGE_REV)
  local entry = rev .. ' ' .. kind .. ' ' .. name
  redis.call('ZADD', CHANGE_LOG, rev, entry)
  if rev > CHANGE_LOG_MAX then
    redis.call('ZREMRANGEBYSCORE', CHANGE_LOG, '-inf', rev - CHANGE_LOG_MAX)
  end
  redis.call('PUBLISH', CHANGES, entry)
  return rev
end
