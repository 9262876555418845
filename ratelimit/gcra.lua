-- GCRA over several keys at once, all or nothing (see package doc).
-- KEYS[i]: the keys. ARGV[1]: now in microseconds, or "" for the server's
-- clock (TIME, so instances with skewed clocks still agree). ARGV[2i],
-- ARGV[2i+1]: key i's emission interval and window, in microseconds.
-- Returns {allowed (1|0), now, pending_1, ..., pending_n}: pending is how
-- far the key's theoretical arrival time is ahead of now after the
-- decision. Values stay below 2^53, so Lua's doubles hold them exactly.
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local tats = {}
local allowed = 1
for i, key in ipairs(KEYS) do
  local tat = tonumber(redis.call('GET', key)) or now
  if tat < now then
    tat = now
  end
  tats[i] = tat
  if tat + tonumber(ARGV[2 * i]) - tonumber(ARGV[2 * i + 1]) > now then
    allowed = 0
  end
end
local out = {allowed, now}
for i, key in ipairs(KEYS) do
  local tat = tats[i]
  if allowed == 1 then
    tat = tat + tonumber(ARGV[2 * i])
    -- The key is worth keeping until its TAT: after that it equals a
    -- fresh key. A rejected request writes nothing (no penalty extension).
    redis.call('SET', key, string.format('%d', tat), 'PX', math.ceil((tat - now) / 1000))
  end
  out[i + 2] = tat - now
end
return out
