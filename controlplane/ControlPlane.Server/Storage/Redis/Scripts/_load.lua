-- Prepended to every load-count script (RedisScripts): the key layout under the prefix ARGV[1].
-- Counts per 10 s bucket (window = the bucket's start in unix seconds), metric and key (an image,
-- or image/instance), as the reference lays them out; each bucket indexes the keys it holds.
local P = ARGV[1]
local METRICS = { 'req', 'bytes', '4xx', '5xx' }
for i = 0, 15 do METRICS[#METRICS + 1] = 'lat' .. i end

local function cnt_key(window, metric, key) return P .. 'lb:cnt:' .. window .. ':' .. metric .. ':' .. key end
local function idx_key(window, scope) return P .. 'lb:idx:' .. window .. ':' .. scope end  -- SET of the keys counted in the bucket
-- SET of the image/instance keys of one image counted in the bucket, and a count of the keys so indexed:
-- when it equals the bucket's inst index's size, every key of that is in its image's set (a bucket also
-- written by an earlier version, which kept only the inst index, must be read through that).
local function image_idx_key(window, image) return P .. 'lb:idx:' .. window .. ':inst:' .. image end
local function by_image_key(window) return P .. 'lb:idx:' .. window .. ':inst-by-image' end
-- image/instance -> image: instance ids hold no '/', images may.
local function image_of(key) return string.match(key, '^(.*)/[^/]*$') end
local function seq_key(node) return P .. 'lb:seq:' .. node end        -- HASH epoch -> last accepted sequence
local function epochs_key(node) return P .. 'lb:epochs:' .. node end  -- ZSET epoch -> when it last reported (ms)
