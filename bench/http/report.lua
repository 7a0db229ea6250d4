-- report.lua - wrk script for bench/http/run: one machine-readable line at the end
-- XRESULT requests bytes duration_us err_connect err_read err_write err_status err_timeout
done = function(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("XRESULT %d %d %d %d %d %d %d %d\n", summary.requests,
		summary.bytes, summary.duration, e.connect, e.read, e.write, e.status, e.timeout))
end
