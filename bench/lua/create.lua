-- wrk script for the `create` workload: every request POSTs a new record
-- to the collection named in wrk's URL (wrk.path), e.g.
--   wrk -s bench/lua/create.lua http://127.0.0.1:PORT/v1/buckets/bench/collections/w/records
--
-- The body has the same shape as the seeded records, {"data":{"n":N,"pad":"xx…"}},
-- so a stored record (with the id and last_modified the server adds) is
-- about 300 bytes. PAD_BYTES (environment) sets the pad length; run.sh
-- passes the same value it seeds with.
--
-- No response() callback is defined on purpose: defining one makes wrk
-- parse every response in Lua, which slows the load generator down, and
-- wrk already counts non-2xx/3xx answers by itself ("Non-2xx or 3xx
-- responses"), which run.sh checks.

local pad = string.rep("x", tonumber(os.getenv("PAD_BYTES") or "207"))
local headers = { ["Content-Type"] = "application/json" }

-- Each wrk thread has its own Lua state; give each thread its own range of
-- counters so that n is unique across the whole run (not required by the
-- server, but it makes the created records distinguishable).
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

local counter = 0
function request()
  counter = counter + 1
  local n = (tid or 0) * 1000000000 + counter
  local body = '{"data":{"n":' .. n .. ',"pad":"' .. pad .. '"}}'
  return wrk.format("POST", nil, headers, body)
end
