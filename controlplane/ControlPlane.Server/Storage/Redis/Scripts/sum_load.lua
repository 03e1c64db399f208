-- ARGV: prefix, scope ('img' | 'inst'), image filter ('' for every image), budget (counted keys to
-- read at most), cursor (SSCAN cursor in the first window), window... Reads the windows' counted keys
-- of the scope in order, from the cursor on, until the budget is spent, so that no call holds Redis
-- for long however many keys a bucket counts (a fleet-wide hour can be millions). Returns
-- {windows finished, cursor in the next one, then per key read: window position (1-based), key, n,
-- n pairs of metric index (0-based) and value}. SSCAN may return a key twice: the caller keeps the
-- first (per window) and sums (exactly, in 64 bits).
local scope, image = ARGV[2], ARGV[3]
local budget, cursor = tonumber(ARGV[4]), ARGV[5]
local prefix = image .. '/'

local function wanted(key)
  if image == '' then return true end
  if scope == 'img' then return key == image end
  -- image/instance: instance ids hold no '/', images may.
  return string.sub(key, 1, #prefix) == prefix and not string.find(key, '/', #prefix + 1, true)
end

local out = { 0, '0' }
local read = 0
local w = 6
while w <= #ARGV and read < budget do
  local window = ARGV[w]
  local scan = redis.call('SSCAN', idx_key(window, scope), cursor, 'COUNT', budget - read)
  cursor = scan[1]
  for _, key in ipairs(scan[2]) do
    read = read + 1
    if wanted(key) then
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
  end
  if cursor == '0' then w = w + 1 end
end
out[1], out[2] = w - 6, cursor
return out
