-- wrk script: POSTs GraphQL bodies and prints one machine-readable result line.
--
-- BENCH_BODIES names a file of JSON request bodies, one per line. Each wrk
-- thread cycles through them, starting at its own offset, so a file of
-- distinct writes (placeOrder of different orders) is spread over threads.

local bodies = {}
local threads = {}
local index = 1
-- Answers that are not a clean GraphQL success (a non-200 or an "errors" member).
graphql_errors = 0

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(os.getenv("BENCH_BODIES")) do
    if #line > 0 then
      table.insert(bodies, line)
    end
  end
  -- Spread the threads over the file (id is set by setup above).
  index = (id * math.floor(#bodies / math.max(1, tonumber(os.getenv("BENCH_THREADS") or "1")))) % #bodies + 1
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local body = bodies[index]
  index = index % #bodies + 1
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) then
    graphql_errors = graphql_errors + 1
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local failed = 0
  for _, thread in ipairs(threads) do
    failed = failed + (thread:get("graphql_errors") or 0)
  end
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"graphql":%d},' ..
    '"p50_us":%d,"p95_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout, failed,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.mean, latency.max))
end
