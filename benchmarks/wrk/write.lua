-- Posts the add-employee form with a new employee id on every request (BODY_PREFIX from the
-- environment holds the CSRF token), then reports as report.lua does.
dofile(os.getenv("WRK_REPORT"))
local thread_id = 0
local prefix = os.getenv("BODY_PREFIX")
local original_setup = setup

function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
  original_setup(thread)
end

local n = 0
function request()
  n = n + 1
  local id = string.format("BENCH-%d-%d", tid, n)
  local body = prefix .. "&id=" .. id .. "&name=Bench+" .. id .. "&hired_on=1999-01-04"
  -- wrk.format's headers replace wrk.headers (the -H options, the session's cookie among them)
  local headers = {["Content-Type"] = "application/x-www-form-urlencoded"}
  for name, value in pairs(wrk.headers) do headers[name] = value end
  return wrk.format("POST", nil, headers, body)
end
