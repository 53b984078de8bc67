-- Counts answers by class and prints wrk's figures as one JSON line at the end.
local counts = {}

function setup(thread)
  table.insert(counts, thread)
end

function init(args)
  ok, redirects, client_errors, server_errors = 0, 0, 0, 0
end

function response(status, headers, body)
  if status >= 500 then server_errors = server_errors + 1
  elseif status >= 400 then client_errors = client_errors + 1
  elseif status >= 300 then redirects = redirects + 1
  else ok = ok + 1 end
end

function done(summary, latency, requests)
  local totals = {ok = 0, redirects = 0, client_errors = 0, server_errors = 0}
  for _, thread in ipairs(counts) do
    for key, _ in pairs(totals) do totals[key] = totals[key] + thread:get(key) end
  end
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "socket_errors": %d, "ok": %d, "redirects": %d, ' ..
    '"client_errors": %d, "server_errors": %d, "p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f}\n',
    summary.requests, summary.duration / 1e6,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    totals.ok, totals.redirects, totals.client_errors, totals.server_errors,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
