-- bench/check.lua — wrk script of bench/serve_bench.sh and bench/hostile.py: POST /v1/check with
-- the bodies of the file $BODIES (one JSON object a line) in turn; one RESULT line at the end.
local bodies, i = {}, 0
function init(args)
  for line in io.lines(os.getenv("BODIES")) do bodies[#bodies + 1] = line end
  i = math.random(#bodies)
end
function request()
  i = i % #bodies + 1
  return wrk.format("POST", "/v1/check", {["Content-Type"] = "application/json"}, bodies[i])
end
function done(s, lat, req)
  io.write(string.format("RESULT rps=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f " ..
    "requests=%d non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
    s.requests / (s.duration / 1e6), lat:percentile(50) / 1e3, lat:percentile(90) / 1e3,
    lat:percentile(99) / 1e3, lat.max / 1e3, s.requests, s.errors.status, s.errors.connect,
    s.errors.read, s.errors.write, s.errors.timeout))
end
