-- wrk script of bench/screens.py: POSTs the requests of a file (one "token<TAB>JSON body" per
-- line, one line per user and body) in turn, each thread from its own offset, so consecutive
-- requests come from different signed-in users. "__CMID__" in a body becomes a fresh UUID (a
-- mutation's clientMutationId). Responses whose body holds a non-empty `errors` list (GraphQL
-- errors, or a mutation payload's user errors) are counted, and done() prints one line
-- "BENCHJSON {...}" with the counts and latencies for the bench to read.
--
--   wrk -t2 -c64 -d18s --latency -s bench/screens.lua http://127.0.0.1:8000/graphql -- requests.tsv

local entries = {}
local next_entry = 0
local threads = {}
body_errors = 0 -- a global: done() reads each thread's count with thread:get

function setup(thread)
   thread:set("thread_no", #threads)
   table.insert(threads, thread)
end

function init(args)
   for line in io.lines(args[1]) do
      local tab = line:find("\t", 1, true)
      if tab then
         entries[#entries + 1] = { "Bearer " .. line:sub(1, tab - 1), line:sub(tab + 1) }
      end
   end
   next_entry = (thread_no * 7919) % #entries
   math.randomseed(os.time() * 1000 + thread_no)
end

local function uuid4()
   return string.format("%04x%04x-%04x-4%03x-%04x-%04x%04x%04x",
      math.random(0, 0xffff), math.random(0, 0xffff), math.random(0, 0xffff),
      math.random(0, 0xfff), math.random(0x8000, 0xbfff),
      math.random(0, 0xffff), math.random(0, 0xffff), math.random(0, 0xffff))
end

function request()
   next_entry = next_entry % #entries + 1
   local entry = entries[next_entry]
   local body = entry[2]
   if body:find("__CMID__", 1, true) then
      body = body:gsub("__CMID__", uuid4())
   end
   return wrk.format("POST", nil, {
      ["Content-Type"] = "application/json",
      ["Authorization"] = entry[1],
   }, body)
end

function response(status, headers, body)
   if body:find('"errors"%s*:%s*%[%s*{') then
      body_errors = body_errors + 1
   end
end

function done(summary, latency, requests)
   local errors = 0
   for _, thread in ipairs(threads) do
      errors = errors + thread:get("body_errors")
   end
   local e = summary.errors
   io.write(string.format(
      'BENCHJSON {"requests": %d, "duration_us": %d, "status": %d, "connect": %d, ' ..
      '"read": %d, "write": %d, "timeout": %d, "body_errors": %d, ' ..
      '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
      summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
      errors, latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max))
end
