-- wrk script for bench/submit (and bench/peers): every connection POSTs the same body, by default a valid job spec to
-- Trainyard's /v1/jobs.
--
-- Environment (set by run.sh):
--   BENCH_KEY      the API key token <id>.<secret> (sent as a bearer token when set)
--   BENCH_BODY     the JSON body (for Trainyard, a job spec without a name: the server generates one per job)
--   BENCH_DONE_DIR an empty directory; each thread leaves a file there when it has its share of responses
--   BENCH_PATH     the path to POST to (default /v1/jobs)
--   BENCH_STATUS   the status every answer must have (default 201)
--   BENCH_HEADERS  more headers, "Name: value" separated by "|" (slurmrestd's X-SLURM-USER-NAME and -TOKEN)
-- Arguments after `--`: <total requests> <threads>
--
-- wrk itself only knows durations. To run a fixed number of requests, each thread stops after its share, and the last
-- thread to finish sends SIGINT to wrk (the shell's $PPID), which ends wrk's sleep so that the duration it reports
-- is the time the requests took, not the -d cap. -d stays as the upper bound in time.
--
-- Every response must have BENCH_STATUS; the others are counted (with the first one kept as a sample) and printed by done(), and
-- run.sh fails the run on any.

wrk.method = "POST"
wrk.path = os.getenv("BENCH_PATH") or "/v1/jobs"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
if os.getenv("BENCH_KEY") then wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY") end
for name, value in string.gmatch(os.getenv("BENCH_HEADERS") or "", "([^:|]+):%s*([^|]+)") do wrk.headers[name] = value end
local expected = tonumber(os.getenv("BENCH_STATUS") or "201")

local threads = {}
local next_id = 0

-- Runs in the main Lua state once per thread, before it starts: give each thread an id and its share of requests.
function setup(thread)
   table.insert(threads, thread)
   thread:set("id", next_id)
   next_id = next_id + 1
end

-- Runs in each thread's own Lua state; the counters below are per thread.
function init(args)
   local total = tonumber(args[1])
   local nthreads = tonumber(args[2])
   nthreads_all = nthreads
   quota = math.floor(total / nthreads)
   if id < total % nthreads then quota = quota + 1 end
   responses = 0
   non201 = 0
   sample = ""
   finished = false
end

function response(status, headers, body)
   if finished then return end
   responses = responses + 1
   if status ~= expected then
      non201 = non201 + 1
      if sample == "" then sample = tostring(status) .. " " .. string.sub(body or "", 1, 300) end
   end
   if responses >= quota then
      finished = true
      wrk.thread:stop()
      local dir = os.getenv("BENCH_DONE_DIR")
      -- Touch first, count after: whichever thread counts last sees every file, so someone always sends the signal.
      -- The kill runs in the background, after a pause: system() ignores SIGINT in wrk until the shell has exited.
      -- ($PPID is wrk's pid, and background subshells keep it.)
      os.execute(string.format(
         "touch '%s/done.%d'; if [ \"$(ls '%s' | wc -l)\" -ge %d ]; then (sleep 0.2; kill -INT $PPID) >/dev/null 2>&1 & fi",
         dir, id, dir, nthreads_all))
   end
end

-- Runs once in the main state after every thread has stopped: one machine-readable line for run.sh.
function done(summary, latency, requests)
   local bad, sample_all = 0, ""
   for _, t in ipairs(threads) do
      bad = bad + (t:get("non201") or 0)
      local s = t:get("sample") or ""
      if sample_all == "" and s ~= "" then sample_all = s end
   end
   local e = summary.errors
   io.write(string.format(
      "BENCH requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d non201=%d " ..
      "err_connect=%d err_read=%d err_write=%d err_timeout=%d err_status=%d\n",
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, bad, e.connect, e.read, e.write, e.timeout, e.status))
   if sample_all ~= "" then
      io.write("BENCH_SAMPLE " .. string.gsub(sample_all, "\n", " ") .. "\n")
   end
end
