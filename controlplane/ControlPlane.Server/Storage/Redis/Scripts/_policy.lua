-- Prepended to every policy script (RedisScripts): the key layout under the prefix ARGV[1].
local P = ARGV[1]
local POLICIES = P .. 'policies'  -- ZSET of the images that have a policy, score 0: ordered listing

local function policy_key(image) return P .. 'policy:' .. image end
local function changes_key(image) return P .. 'policy_changes:' .. image end

-- Appends an audit record, newest first, keeping the newest max. head is the record's JSON without
-- its closing brace and without before/after: the stored JSON goes in as is, so the record says
-- exactly what was there, whoever wrote it.
local function record(image, head, before, after, max)
  local json = head
  if before then json = json .. ',"before":' .. before end
  if after then json = json .. ',"after":' .. after end
  redis.call('LPUSH', changes_key(image), json .. '}')
  redis.call('LTRIM', changes_key(image), 0, max - 1)
end
