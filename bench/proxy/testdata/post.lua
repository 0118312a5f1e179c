-- wrk script of bench/proxy: POSTs one GraphQL body with fixed headers and
-- prints the run's figures as one JSON line.
--   wrk ... -s post.lua URL -- BODY_FILE HEADERS_FILE
-- HEADERS_FILE has one "Name: value" a line (the session cookie: a file, not
-- argv).
local req

function init(args)
  local f = assert(io.open(args[1], "rb"))
  local body = f:read("*a")
  f:close()
  local headers = {}
  for line in io.lines(args[2]) do
    local k, v = line:match("^([^:]+):%s*(.*)$")
    if k then headers[k] = v end
  end
  req = wrk.format("POST", wrk.path, headers, body)
end

function request()
  return req
end

-- The histogram ("hist": [[microseconds, count], ...]) lets the harness pool
-- the runs of one contender across rounds.
function done(summary, latency, requests)
  local e = summary.errors
  local hist = {}
  for i = 1, #latency do
    local v, c = latency(i)
    hist[#hist + 1] = string.format("[%d,%d]", v, c)
  end
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,"status_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d,"hist":[%s]}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max,
    table.concat(hist, ",")))
end
