package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/shared/proctest"
	"chaossuite.dev/shared/service"
)

func TestBadConfigExits2WithOneLine(t *testing.T) {
	for _, tc := range []struct{ k, v, want string }{
		{"KILL_METHODS", "stop,explode", `invalid KILL_METHODS="stop,explode": want a comma-separated list of spare, stop, halt`},
		{"KILL_INTERVAL", "-1s", `invalid KILL_INTERVAL="-1s"`},
		{"KILL_JITTER", "lots", `invalid KILL_JITTER="lots"`},
		{"KILL_JITTER", "90s", `invalid KILL_JITTER="1m30s": want less than KILL_INTERVAL (1m0s)`},
		{"RECEIVER_URL", "receiver:8000", `invalid RECEIVER_URL="receiver:8000"`},
		{"RECEIVER_URL", "http://user:hunter2@", `invalid RECEIVER_URL="http://redacted@"`},
		{"KILL_JITTER", "NaN%", `invalid KILL_JITTER="NaN%"`},
		{"KILL_JITTER", "Inf%", `invalid KILL_JITTER="Inf%"`},
		{"KILL_INTERVAL", "1ns", `invalid KILL_INTERVAL="1ns": want a positive duration such as 60s, from 10ms to 24h`},
		{"KILL_INTERVAL", "100000h", `invalid KILL_INTERVAL="100000h0m0s"`},
		{"KILL_TIMEOUT", "1h", `invalid KILL_TIMEOUT="1h0m0s"`},
		{"SHUTDOWN_TIMEOUT", "1h", `invalid SHUTDOWN_TIMEOUT="1h0m0s"`},
		{"BODY_TIMEOUT", "0s", `invalid BODY_TIMEOUT="0s"`},
		{"MAX_CONNECTIONS", "1", `invalid MAX_CONNECTIONS="1": want a whole number from 8 to 1048576`},
		{"KILL_VIA", "carrier-pigeon", `invalid KILL_VIA="carrier-pigeon": want receiver (POST RECEIVER_URL {"kill_node"}) or nodekiller`},
		{"KILL_VIA", "nodekiller", `invalid NODEKILLER_URL="": want the nodekiller's base URL such as http://nodekiller:8001, which KILL_VIA=nodekiller needs`},
	} {
		proctest.ConfigError(t, "reaper", run, tc.k, tc.v, tc.want)
	}
}

// With KILL_VIA=nodekiller the nodekiller's URL is required and spare, which the nodekiller
// refuses, is no method.
func TestKillViaNodekillerConfig(t *testing.T) {
	for _, tc := range []struct{ name, url, methods, want string }{
		{"not a URL", "nodekiller:8001", "stop", `invalid NODEKILLER_URL="nodekiller:8001"`},
		{"credentials redacted", "http://user:hunter2@", "stop", `invalid NODEKILLER_URL="http://redacted@"`},
		{"spare", "http://nodekiller:8001", "stop,spare", `invalid KILL_METHODS="stop,spare": want stop, halt, pause or partition: with KILL_VIA=nodekiller spare kills nothing`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"KILL_VIA": "nodekiller", "NODEKILLER_URL": tc.url, "KILL_METHODS": tc.methods}
			err := run(context.Background(), []string{"reaper"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
			var out bytes.Buffer
			assert.Equal(t, 2, service.ExitCode("reaper", err, &out))
			assert.Contains(t, out.String(), tc.want)
			assert.Equal(t, 1, strings.Count(out.String(), "\n"), "one line")
			assert.NotContains(t, out.String(), "hunter2")
		})
	}
}

// TestRunKills runs the whole reaper in-process against a fake receiver: it sends the methods
// in turn, counts them, and /stop and /start switch it.
func TestRunKills(t *testing.T) {
	var mu sync.Mutex
	var got []string
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]string
		_ = json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		got = append(got, body["kill_node"]+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		_, _ = io.WriteString(w, `{"kill":{"victim":"n1"}}`)
	}))
	t.Cleanup(receiver.Close)

	addr := proctest.FreeAddr(t)
	env := map[string]string{"LISTEN_ADDR": addr, "RECEIVER_URL": receiver.URL, "KILL_INTERVAL": "50ms",
		"KILL_METHODS": "halt,stop", "AUTOSTART": "true", "AUTH_TOKEN": "tok"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"reaper"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	}()
	base := "http://" + addr
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 5*time.Second, 20*time.Millisecond)

	assert.NoError(t, run(context.Background(), []string{"reaper", "healthcheck"}, func(k string) string { return env[k] }, io.Discard, io.Discard))
	var usage bytes.Buffer
	assert.Equal(t, 2, service.ExitCode("reaper", run(context.Background(), []string{"reaper", "explode"}, func(k string) string { return env[k] }, io.Discard, io.Discard), &usage))

	require.Eventually(t, func() bool {
		_, info := proctest.Call(t, http.MethodGet, base+"/info", "tok", "")
		return info["total"].(map[string]any)["requests"].(float64) >= 3
	}, 5*time.Second, 20*time.Millisecond)

	code, out := proctest.Call(t, http.MethodPost, base+"/stop", "tok", "")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, true, out["changed"])
	code, out = proctest.Call(t, http.MethodPost, base+"/stop", "tok", "")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "already stopped", out["message"])

	_, info := proctest.Call(t, http.MethodGet, base+"/info", "tok", "")
	assert.Equal(t, false, info["running"])
	assert.Nil(t, info["next_kill_at"])
	results := info["last_results"].([]any)
	first := results[len(results)-1].(map[string]any)
	assert.Equal(t, "halt", first["method"])
	assert.Equal(t, "n1", first["victim"])
	mu.Lock()
	assert.Equal(t, "halt Bearer tok", got[0])
	assert.Equal(t, "stop Bearer tok", got[1])
	mu.Unlock()

	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	metrics, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	for _, want := range []string{`reaper_kill_requests_total{method="halt",result="ok"}`, `reaper_latest_kill_method{method="stop"}`, "reaper_running 0"} {
		assert.Contains(t, string(metrics), want)
	}
	assert.False(t, strings.Contains(string(metrics), "tok\""), "the token never shows")

	code, out = proctest.Call(t, http.MethodPost, base+"/start", "tok", "")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "started", out["message"])
	_, info = proctest.Call(t, http.MethodGet, base+"/info", "tok", "")
	assert.Equal(t, true, info["running"])
	assert.NotNil(t, info["next_kill_at"])

	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
}
