-- Prepended to every script after its own prelude (which defines P): change notifications. Every
-- change to what nodes are sent (an instance's routability, a policy) calls changed() in the same
-- script, so the revision, the log entry, the message and the change itself are one atomic step.
local CHANGE_REV = P .. 'change_rev'      -- STRING: the revision of the last change (INCR)
local CHANGE_EPOCH = P .. 'change_epoch'  -- STRING: names this revision sequence; a store that starts afresh gets a new one
local CHANGE_LOG = P .. 'change_log'      -- ZSET '<revision> <kind> <name>' scored by revision, the newest CHANGE_LOG_MAX
local CHANGES = P .. 'changes'            -- pub/sub channel: the same '<revision> <kind> <name>', one or more lines
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

-- An endpoints entry names at most this many instances; past it, it names none (the whole image changed),
-- which bounds the log's size (CHANGE_LOG_MAX entries) and the message's.
local CHANGE_IDS_MAX = 64

-- Records that resources kind/names[i] may have changed: a revision each (the next ones, in order),
-- logged, and one message carrying their entries, one per line: a script that changes several
-- resources (a batch of registrations, an expiry pass) costs one log write and one message. ids, when
-- given, maps a name to the instances whose change it records: an endpoints entry lists them after the
-- image ('<revision> endpoints <image> <id> <id>...'), so a replica re-reads those instances, not the
-- image's every instance. Names and ids hold no spaces (the registry validates both).
local function changed_many(kind, names, ids)
  if #names == 0 then return nil end
  change_epoch()
  local last = redis.call('INCRBY', CHANGE_REV, #names)
  local first = last - #names
  local log, entries = {}, {}
  for i, name in ipairs(names) do
    -- As text once: the entry and the score share it (a number argument costs Redis a printf).
    local rev = tostring(first + i)
    local entry = rev .. ' ' .. kind .. ' ' .. name
    local touched = ids and ids[name]
    if touched and #touched <= CHANGE_IDS_MAX then
      entry = entry .. ' ' .. table.concat(touched, ' ')
    end
    entries[i] = entry
    log[2 * i - 1], log[2 * i] = rev, entry
  end
  redis.call('ZADD', CHANGE_LOG, unpack(log))
  if last > CHANGE_LOG_MAX then
    redis.call('ZREMRANGEBYSCORE', CHANGE_LOG, '-inf', last - CHANGE_LOG_MAX)
  end
  redis.call('PUBLISH', CHANGES, table.concat(entries, '\n'))
  return last
end

-- Records that resource kind/name may have changed: the next revision, logged and published; id, when
-- given, is the one instance whose change it records.
local function changed(kind, name, id)
  return changed_many(kind, { name }, id and { [name] = { id } } or nil)
end
