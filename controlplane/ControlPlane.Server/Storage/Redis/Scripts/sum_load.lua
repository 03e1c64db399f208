-- ARGV: prefix, scope ('img' | 'inst'), image filter ('' for every image), window... Returns, per
-- bucket and counted key of the scope, {key, n, then n pairs of metric index (0-based) and value}
-- for the metrics it holds, read at one moment. The caller sums (exactly, in 64 bits).
local scope, image = ARGV[2], ARGV[3]
local prefix = image .. '/'

local function wanted(key)
  if image == '' then return true end
  if scope == 'img' then return key == image end
  -- image/instance: instance ids hold no '/', images may.
  return string.sub(key, 1, #prefix) == prefix and not string.find(key, '/', #prefix + 1, true)
end

local out = {}
for w = 4, #ARGV do
  local window = ARGV[w]
  for _, key in ipairs(redis.call('SMEMBERS', idx_key(window, scope))) do
    if wanted(key) then
      local keys = {}
      for m = 1, #METRICS do keys[m] = cnt_key(window, METRICS[m], key) end
      local values = redis.call('MGET', unpack(keys))
      local row = { key, 0 }
      for m = 1, #METRICS do
        if values[m] then
          row[#row + 1] = m - 1
          row[#row + 1] = values[m]
          row[2] = row[2] + 1
        end
      end
      if row[2] > 0 then
        for _, item in ipairs(row) do out[#out + 1] = item end
      end
    end
  end
end
return out
