-- ARGV: prefix, scope ('img' | 'inst'), image filter ('' for every image), budget (counted keys to
-- read at most), cursor (where to go on in the first window: '0' at its start), window... Reads the
-- windows' counted keys of the scope in order, from the cursor on, until the budget is spent, so that
-- no call holds Redis for long however many keys a bucket counts (a fleet-wide hour can be millions).
-- With an image filter only that image's keys are read: its image key, looked up in each bucket's img
-- index; or its instance keys, scanned in its own index of the bucket (a bucket some of whose keys an
-- earlier version counted, which kept no such index, is scanned whole, filtered), the choice kept in
-- the cursor ('i:' or 'g:' before SSCAN's) so a window is read through one set from start to end.
-- Returns {windows finished, cursor in the next one, then per key read: window position (1-based), key,
-- n, n pairs of metric index (0-based) and value}. SSCAN may return a key twice: the caller keeps the
-- first (per window) and sums (exactly, in 64 bits).
local scope, image = ARGV[2], ARGV[3]
local budget, cursor = tonumber(ARGV[4]), ARGV[5]
local prefix = image .. '/'

-- Whether a key scanned in the scope's index is one to read (an image's instance keys are filtered
-- only when read through the bucket's whole inst index). image/instance: instance ids hold no '/', images may.
local function wanted(key)
  if image == '' then return true end
  return string.sub(key, 1, #prefix) == prefix and not string.find(key, '/', #prefix + 1, true)
end

local out = { 0, '0' }

-- Appends the key's non-zero counters of the window (at position w - 5), or nothing when it has none.
local function emit(window, w, key)
  local keys = {}
  for m = 1, #METRICS do keys[m] = cnt_key(window, METRICS[m], key) end
  local values = redis.call('MGET', unpack(keys))
  local at = #out
  out[at + 1], out[at + 2], out[at + 3] = w - 5, key, 0
  for m = 1, #METRICS do
    if values[m] then
      out[#out + 1] = m - 1
      out[#out + 1] = values[m]
      out[at + 3] = out[at + 3] + 1
    end
  end
  if out[at + 3] == 0 then
    for i = #out, at + 1, -1 do out[i] = nil end
  end
end

-- The set to scan in the window, the SSCAN cursor in it, and what marks that set in the cursor returned.
local function source(window)
  if image == '' then return idx_key(window, scope), cursor end
  local kind, at = string.match(cursor, '^(%a):(%d+)$')
  if not kind then
    at = '0'
    local all = redis.call('SCARD', idx_key(window, 'inst'))
    kind = tonumber(redis.call('GET', by_image_key(window)) or '0') == all and 'i' or 'g'
  end
  if kind == 'i' then return image_idx_key(window, image), at, 'i:' end
  return idx_key(window, 'inst'), at, 'g:'
end

local read = 0
local w = 6
while w <= #ARGV and read < budget do
  local window = ARGV[w]
  if image ~= '' and scope == 'img' then
    read = read + 1
    if redis.call('SISMEMBER', idx_key(window, 'img'), image) == 1 then emit(window, w, image) end
    cursor = '0'
  else
    local set, at, kind = source(window)
    local scan = redis.call('SSCAN', set, at, 'COUNT', budget - read)
    cursor = scan[1] == '0' and '0' or (kind or '') .. scan[1]
    for _, key in ipairs(scan[2]) do
      read = read + 1
      if wanted(key) then emit(window, w, key) end
    end
  end
  if cursor == '0' then w = w + 1 end
end
out[1], out[2] = w - 6, cursor
return out
