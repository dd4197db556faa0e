-- Shared by the intake_ratio scripts: number each wrk thread, and print one machine-readable line.
local threads_seen = 0

function setup(thread)
   threads_seen = threads_seen + 1
   thread:set("tid", threads_seen)
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d " ..
      "connect=%d read=%d write=%d status=%d timeout=%d\n",
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
      latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
