-- wrk script: POST a body template with a per-request unique id, count non-2xx, print results.
--
--   wrk -t1 -c32 -d10s -s bench/wrk_unique_post.lua URL -- TEMPLATE_FILE MARKER TAG [CONTENT_TYPE]
--
-- Every occurrence of MARKER in TEMPLATE_FILE is replaced by a 20-hex-digit id:
-- TAG (8 hex) .. thread (4 hex) .. counter (8 hex). Fixed length and hex only, so the id can also
-- stand inside base64 (attachment content) without breaking its padding.
-- done() prints one line "BENCH_JSON {...}" that bench/_harness.py parses.

local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

local parts = {}
local tag = "00000000"
local headers = {}
local counter = 0
ok = 0
non2xx = 0
first_error = ""

local function split_plain(text, marker)
  local out, start = {}, 1
  while true do
    local i, j = string.find(text, marker, start, true)
    if not i then
      table.insert(out, string.sub(text, start))
      return out
    end
    table.insert(out, string.sub(text, start, i - 1))
    start = j + 1
  end
end

function init(args)
  local file = assert(io.open(args[1], "rb"), "cannot open template " .. tostring(args[1]))
  local template = file:read("*a")
  file:close()
  parts = split_plain(template, args[2])
  assert(#parts > 1, "marker not found in template")
  tag = args[3] or tag
  headers["Content-Type"] = args[4] or "application/json"
end

function request()
  counter = counter + 1
  local id = string.format("%s%04x%08x", tag, tid or 0, counter)
  return wrk.format("POST", nil, headers, table.concat(parts, id))
end

function response(status, hdrs, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
  else
    non2xx = non2xx + 1
    if first_error == "" then
      first_error = tostring(status) .. " " .. string.sub(body or "", 1, 300)
    end
  end
end

local function json_string(s)
  s = string.gsub(s, '[%c"\\]', function(c) return string.format("\\u%04x", string.byte(c)) end)
  return '"' .. s .. '"'
end

function done(summary, latency, requests)
  local total_ok, total_bad, err = 0, 0, ""
  for _, thread in ipairs(threads) do
    total_ok = total_ok + (thread:get("ok") or 0)
    total_bad = total_bad + (thread:get("non2xx") or 0)
    local e = thread:get("first_error")
    if err == "" and e and e ~= "" then err = e end
  end
  local e = summary.errors
  local pct = {}
  for _, p in ipairs({50, 90, 99, 99.9}) do
    table.insert(pct, string.format('"p%s": %d', tostring(p), latency:percentile(p)))
  end
  table.insert(pct, string.format('"mean": %d', latency.mean))
  table.insert(pct, string.format('"max": %d', latency.max))
  io.write(string.format(
    'BENCH_JSON {"duration_us": %d, "requests": %d, "bytes": %d, "ok": %d, "non2xx": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {%s}, "first_error": %s}\n',
    summary.duration, summary.requests, summary.bytes, total_ok, total_bad,
    e.connect, e.read, e.write, e.status, e.timeout, table.concat(pct, ", "), json_string(err)))
end
