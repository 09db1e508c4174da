package main

import (
	"testing"

	"chaossuite.dev/shared/proctest"
)

// Every number is checked at start: NaN and infinities (which pass every comparison and then
// crash or burn: RECEIVER_QPS=NaN panicked at the first /start-pingers) and values out of a
// sane range exit 2 with one line.
func TestBadNumbersExit2WithOneLine(t *testing.T) {
	for _, tc := range []struct{ k, v, want string }{
		{"RECEIVER_QPS", "NaN", `invalid RECEIVER_QPS="NaN": want a finite number`},
		{"RECEIVER_QPS", "Inf", `invalid RECEIVER_QPS="Inf": want a finite number`},
		{"RECEIVER_QPS", "1e9", `invalid RECEIVER_QPS="1e+09": want a rate above 0, at most 50000`},
		{"RECEIVER_QPS", "0", `invalid RECEIVER_QPS="0"`},
		{"SELF_QPS", "NaN", `invalid SELF_QPS="NaN"`},
		{"SELF_QPS", "1e9", `invalid SELF_QPS="1e+09": want a rate of 0 or more, at most 50000`},
		{"SELF_QPS", "-1", `invalid SELF_QPS="-1"`},
		{"MAX_PENDING_FACTOR", "NaN", `invalid MAX_PENDING_FACTOR="NaN"`},
		{"MAX_PENDING_FACTOR", "1e300", `invalid MAX_PENDING_FACTOR="1e+300": want a number above 0, at most 100`},
		{"MAX_PENDING_FACTOR", "-Inf", `invalid MAX_PENDING_FACTOR="-Inf"`},
		{"MAX_ATTEMPTS", "0", `invalid MAX_ATTEMPTS="0"`},
		{"RETRY_BASE", "1h", `invalid RETRY_BASE="1h0m0s"`},
		{"REQUEST_TIMEOUT", "100h", `invalid REQUEST_TIMEOUT="100h0m0s"`},
		{"REAPER_URL", "reaper:8003", `invalid REAPER_URL="reaper:8003"`},
		{"RECEIVER_URL", "ftp://user:hunter2@receiver:8000/", `invalid RECEIVER_URL="ftp://redacted@receiver:8000/ at 10 QPS"`},
		{"RECEIVER_CONNECTION", "pooled", `invalid RECEIVER_CONNECTION="pooled": want spread, keepalive or new-connection`},
		{"CONN_MAX_AGE", "1ms", `invalid CONN_MAX_AGE="1ms": want a duration from 10ms to 1h`},
		{"NODEKILLER_URL", "nodekiller:8001", `invalid NODEKILLER_URL="nodekiller:8001"`},
	} {
		proctest.ConfigError(t, "pinger", run, tc.k, tc.v, tc.want)
	}
}
