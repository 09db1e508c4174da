package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/shared/proctest"
)

func TestBadConfigExits2WithOneLine(t *testing.T) {
	for _, tc := range []struct{ k, v, want string }{
		{"RECEIVER_VERSION", "no/slash", `invalid RECEIVER_VERSION="no/slash"`},
		{"NODEKILLER_URL", "nodekiller:8001", `invalid NODEKILLER_URL="nodekiller:8001": want a base URL`},
		{"LOG_LEVEL", "chatty", `invalid LOG_LEVEL="chatty": want debug, info, warn or error`},
		{"NODEKILLER_TIMEOUT", "soon", `invalid NODEKILLER_TIMEOUT="soon"`},
		{"NODEKILLER_TIMEOUT", "1h", `invalid NODEKILLER_TIMEOUT="1h0m0s": want a positive duration, at most 10m`},
		{"KILL_TIMEOUT", "10s", `invalid KILL_TIMEOUT="10s": want it unset: the receiver's limit on a forwarded kill is NODEKILLER_TIMEOUT now`},
		{"RECEIVER_MESSAGE", "bad \xff byte", `invalid RECEIVER_MESSAGE=`},
		{"NODE_NAME", "two\nlines", `invalid NODE_NAME=`},
		{"NODEKILLER_URL", "ftp://nk:hunter2@nodekiller:8001", `invalid NODEKILLER_URL="ftp://redacted@nodekiller:8001"`},
		{"SHUTDOWN_DELAY", "-1s", `invalid SHUTDOWN_DELAY="-1s"`},
		{"READ_HEADER_TIMEOUT", "20m", `invalid READ_HEADER_TIMEOUT="20m0s"`},
	} {
		proctest.ConfigError(t, "receiver", run, tc.k, tc.v, tc.want)
	}
}

// TestRunServes runs the whole receiver in-process, as main does, and stops it by its context.
func TestRunServes(t *testing.T) {
	addr := proctest.FreeAddr(t)
	env := map[string]string{"LISTEN_ADDR": addr, "RECEIVER_VERSION": "gamma", "NODE_NAME": "n1"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs bytes.Buffer
	go func() {
		done <- run(ctx, []string{"receiver"}, func(k string) string { return env[k] }, &logs, &bytes.Buffer{})
	}()

	require.Eventually(t, func() bool {
		return run(context.Background(), []string{"receiver", "healthcheck"}, func(k string) string { return env[k] }, &logs, &logs) == nil
	}, 5*time.Second, 20*time.Millisecond, "healthcheck subcommand passes once ready")

	resp, err := http.Get("http://" + addr + "/")
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	_ = resp.Body.Close()
	assert.Equal(t, "Gamma Receiver running!", out["message"])
	assert.Equal(t, "n1", out["node"])

	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
}

// slowBody opens a connection that sends a request's headers and then never its body.
func slowBody(t *testing.T, addr string) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Error(err)
		return
	}
	t.Cleanup(func() { _ = c.Close() })
	_, _ = io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
}

// Slow clients cannot take the receiver: they hold at most MAX_CONNECTIONS connections, each
// for at most BODY_TIMEOUT, so /healthz answers again; and a stop with a client dawdling past
// SHUTDOWN_TIMEOUT still ends, with status 0.
func TestSlowClientsCannotHoldIt(t *testing.T) {
	addr := proctest.FreeAddr(t)
	env := map[string]string{"LISTEN_ADDR": addr, "MAX_CONNECTIONS": "8", "BODY_TIMEOUT": "500ms", "SHUTDOWN_TIMEOUT": "100ms"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"receiver"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	}()
	// Generous limits: without the body timeout the slow bodies would hold every connection
	// for ever, so any bound tells; a busy machine only makes it slower.
	client := &http.Client{Timeout: 30 * time.Second}
	require.Eventually(t, func() bool {
		resp, err := client.Get("http://" + addr + "/healthz")
		if err == nil {
			_ = resp.Body.Close()
		}
		return err == nil
	}, 5*time.Second, 20*time.Millisecond)

	for range 16 { // twice MAX_CONNECTIONS
		slowBody(t, addr)
	}
	resp, err := client.Get("http://" + addr + "/healthz")
	require.NoError(t, err, "/healthz answers once the slow bodies time out")
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	slowBody(t, addr) // dawdles through the stop: its body timeout is past SHUTDOWN_TIMEOUT
	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err, "exit status 0")
	case <-time.After(30 * time.Second):
		t.Fatal("the stop did not end")
	}
}
