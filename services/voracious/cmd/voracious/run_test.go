package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/shared/proctest"
	"chaossuite.dev/shared/service"
)

func TestBadConfigExits2WithOneLine(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("state: {}"), 0o600))
	for _, tc := range []struct{ k, v, want string }{
		{"VORACIOUS_APPS", "-1", `invalid VORACIOUS_APPS="-1"`},
		{"VORACIOUS_APPS", "many", `invalid VORACIOUS_APPS="many": want a whole number`},
		{"VORACIOUS_APP_FORMAT", "app", `invalid VORACIOUS_APP_FORMAT="app"`},
		{"VORACIOUS_APP_FORMAT", "app%s%d", `invalid VORACIOUS_APP_FORMAT`},
		{"VORACIOUS_ADJUST_PAYLOAD", bad, `invalid VORACIOUS_ADJUST_PAYLOAD=`},
		{"VORACIOUS_ADJUST_PAYLOAD", filepath.Join(dir, "none.yaml"), `invalid VORACIOUS_ADJUST_PAYLOAD=`},
		{"VORACIOUS_STATE_FILE", filepath.Join(dir, "no", "state.json"), `invalid VORACIOUS_STATE_FILE=`},
		{"VORACIOUS_RESYNC", "maybe", `invalid VORACIOUS_RESYNC="maybe": want true or false`},
		{"VORACIOUS_MAX_APPS", "0", `invalid VORACIOUS_MAX_APPS="0": want a whole number from VORACIOUS_APPS`},
		{"VORACIOUS_MAX_APPS", "3", `invalid VORACIOUS_MAX_APPS="3"`}, // below VORACIOUS_APPS (5)
		{"VORACIOUS_MAX_APPS", "20000000", `invalid VORACIOUS_MAX_APPS="20000000"`},
		{"VORACIOUS_MAX_APPS", "lots", `invalid VORACIOUS_MAX_APPS="lots"`},
		{"VORACIOUS_EVICT_AFTER", "500ms", `invalid VORACIOUS_EVICT_AFTER="500ms": want 0 (never evict) or a duration of at least 1s`},
		{"VORACIOUS_EVICT_AFTER", "soon", `invalid VORACIOUS_EVICT_AFTER="soon"`},
		{"LOG_LEVEL", "chatty", `invalid LOG_LEVEL="chatty"`},
	} {
		proctest.ConfigError(t, "voracious", run, tc.k, tc.v, tc.want)
	}
}

func post(t *testing.T, url, app, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(url+"/accounts/a/applications/"+app+"/servo", "", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return resp.StatusCode, out
}

// TestRestartKeepsState runs the real binary: an app reaches in-measure, SIGTERM, a restart on
// the same state file, and the app goes on without HELLO. Then a corrupt file is refused and kept.
func TestRestartKeepsState(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := proctest.Build(t, "chaossuite.dev/voracious/cmd/voracious")
	state := filepath.Join(t.TempDir(), "state.json")

	p := proctest.Start(t, bin, "VORACIOUS_STATE_FILE="+state)
	for _, body := range []string{`{"event":"HELLO"}`, `{"event":"DESCRIPTION"}`, `{"event":"WHATS_NEXT"}`, `{"event":"MEASUREMENT","param":{"progress":10}}`} {
		code, out := post(t, p.URL, "app00000", body)
		require.Equal(t, 200, code, "%s: %v", body, out)
	}
	// At most a second behind, without any shutdown.
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(state)
		return err == nil && strings.Contains(string(b), `"in-measure"`)
	}, 5*time.Second, 50*time.Millisecond)
	post(t, p.URL, "app00000", `{"event":"MEASUREMENT","param":{"progress":20}}`)
	require.NoError(t, p.Signal(syscall.SIGTERM))
	code, err := p.Wait(10 * time.Second)
	require.NoError(t, err)
	require.Equal(t, 0, code, p.Output())

	p2 := proctest.Start(t, bin, "VORACIOUS_STATE_FILE="+state)
	code, out := post(t, p2.URL, "app00000", `{"event":"MEASUREMENT","param":{"progress":15}}`)
	assert.Equal(t, 400, code, "progress 20 was saved on SIGTERM, so 15 goes backwards: %v", out)
	for _, body := range []string{`{"event":"MEASUREMENT","param":{"progress":30}}`, `{"event":"MEASUREMENT"}`, `{"event":"WHATS_NEXT"}`} {
		code, out := post(t, p2.URL, "app00000", body)
		require.Equal(t, 200, code, "%s: %v", body, out)
	}
	resp, err := http.Get(p2.URL + "/")
	require.NoError(t, err)
	var stats map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&stats))
	resp.Body.Close()
	assert.Equal(t, 1.0, stats["max"])
	require.NoError(t, p2.Signal(syscall.SIGTERM))
	_, err = p2.Wait(10 * time.Second)
	require.NoError(t, err)

	corrupt := []byte(`{"version":1,"apps":[{"app":"x"`)
	require.NoError(t, os.WriteFile(state, corrupt, 0o600))
	p3 := proctest.StartAt(t, bin, proctest.FreeAddr(t), "VORACIOUS_STATE_FILE="+state)
	code, err = p3.Wait(10 * time.Second)
	require.NoError(t, err)
	assert.NotEqual(t, 0, code)
	assert.Contains(t, p3.Output(), "is corrupt")
	kept, err := os.ReadFile(state)
	require.NoError(t, err)
	assert.Equal(t, corrupt, kept, "a corrupt file is kept as it was")
}

func TestSubcommands(t *testing.T) {
	getenv := func(string) string { return "" }
	var out bytes.Buffer
	err := run(context.Background(), []string{"voracious", "dance"}, getenv, &out, &out)
	var ue *service.UsageError
	require.ErrorAs(t, err, &ue)
	assert.Contains(t, ue.Msg, "emulate")
	err = run(context.Background(), []string{"voracious", "emulate", "--apps", "3"}, getenv, &out, &out)
	require.ErrorAs(t, err, &ue, "emulate needs --url")
	err = run(context.Background(), []string{"voracious", "healthcheck"}, func(k string) string {
		if k == "LISTEN_ADDR" {
			return proctest.FreeAddr(t)
		}
		return ""
	}, &out, &out)
	var ee *service.ExitError
	assert.ErrorAs(t, err, &ee, "nothing listens: the healthcheck fails")
}

// TestRunServesAndEmulates runs voracious in-process as main does, drives it with the emulate
// subcommand for a moment, and stops it by its context.
func TestRunServesAndEmulates(t *testing.T) {
	addr := proctest.FreeAddr(t)
	env := map[string]string{"LISTEN_ADDR": addr, "VORACIOUS_APPS": "3"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"voracious"}, func(k string) string { return env[k] }, &bytes.Buffer{}, &bytes.Buffer{})
	}()
	require.Eventually(t, func() bool {
		return run(context.Background(), []string{"voracious", "healthcheck"}, func(k string) string { return env[k] }, &bytes.Buffer{}, &bytes.Buffer{}) == nil
	}, 5*time.Second, 20*time.Millisecond)

	resp, err := http.Get("http://" + addr + "/accounts/x/application-overrides")
	require.NoError(t, err)
	var apps map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&apps))
	resp.Body.Close()
	assert.Len(t, apps, 3)
	assert.Contains(t, apps, "app00002")

	var out bytes.Buffer
	err = run(context.Background(), []string{"voracious", "emulate", "--url", "http://" + addr, "--apps", "20", "--duration", "500ms", "--concurrency", "4"},
		func(string) string { return "" }, &out, &bytes.Buffer{})
	require.NoError(t, err, out.String())
	assert.Contains(t, out.String(), "backend statistics (GET /): n 20")

	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
}

// TestHostileRequestsDoNotPoisonTheStateFile runs the real binary as Kubernetes does (with a
// state file): requests that once made every restart fail ("empty app name", "acct/\ufffd
// appears twice") are refused, and the restart on the file written after them comes up.
func TestHostileRequestsDoNotPoisonTheStateFile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := proctest.Build(t, "chaossuite.dev/voracious/cmd/voracious")
	state := filepath.Join(t.TempDir(), "state.json")
	p := proctest.Start(t, bin, "VORACIOUS_STATE_FILE="+state, "VORACIOUS_MAX_APPS=10")
	for _, app := range []string{"", "%FF", "%FE", "%00", "a%0D%0Ab", "a%2Fb", strings.Repeat("x", 5000), "ok"} {
		resp, err := http.Post(p.URL+"/accounts/a/applications/"+app+"/servo", "application/json", strings.NewReader(`{"event":"HELLO"}`))
		require.NoError(t, err)
		resp.Body.Close()
		if app == "ok" {
			require.Equal(t, 200, resp.StatusCode)
		} else {
			assert.Contains(t, []int{400, 404}, resp.StatusCode, app)
		}
	}
	require.NoError(t, p.Signal(syscall.SIGTERM))
	code, err := p.Wait(10 * time.Second)
	require.NoError(t, err)
	require.Equal(t, 0, code, p.Output())

	p2 := proctest.Start(t, bin, "VORACIOUS_STATE_FILE="+state)
	code2, out := post(t, p2.URL, "ok", `{"event":"WHATS_NEXT"}`)
	assert.Equal(t, 200, code2, "%v", out)
	assert.Equal(t, "DESCRIBE", out["cmd"])
	require.NoError(t, p2.Signal(syscall.SIGTERM))
	_, err = p2.Wait(10 * time.Second)
	require.NoError(t, err)
}
