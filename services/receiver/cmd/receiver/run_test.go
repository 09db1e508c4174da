package main

import (
	"bytes"
	"context"
	"encoding/json"
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
		{"KILL_TIMEOUT", "soon", `invalid KILL_TIMEOUT="soon"`},
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
