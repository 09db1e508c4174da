package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/pinger/internal/pinger"
	"chaossuite.dev/shared/proctest"
	"chaossuite.dev/shared/service"
)

const expToken = "experiment-token"

// startPinger runs a pinger in-process, already probing target (AUTOSTART), and returns its
// base URL.
func startPinger(t *testing.T, target string) string {
	t.Helper()
	addr := proctest.FreeAddr(t)
	env := map[string]string{"LISTEN_ADDR": addr, "RECEIVER_URL": target, "RECEIVER_QPS": "50",
		"AUTOSTART": "true", "AUTH_TOKEN": expToken, "MAX_ATTEMPTS": "1"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"pinger"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	}()
	t.Cleanup(func() { cancel(); <-done })
	base := "http://" + addr
	require.Eventually(t, func() bool {
		code, _, err := proctest.TryCall(http.MethodGet, base+"/readyz", "", "")
		return err == nil && code == http.StatusOK
	}, 10*time.Second, 20*time.Millisecond)
	return base
}

func lifetimeRequests(t *testing.T, base string) uint64 {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/info", nil)
	req.Header.Set("Authorization", "Bearer "+expToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var info pinger.Info
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&info))
	require.NotEmpty(t, info.Targets)
	return info.Targets[0].Lifetime.Requests
}

func runExperiment(t *testing.T, base, out string) (stdout, stderr string, err error) {
	t.Helper()
	var o, e bytes.Buffer
	err = run(context.Background(), []string{"pinger", "experiment", "--url", base, "--duration", "1500ms",
		"--progress", "500ms", "--out", out, "--token", expToken}, func(string) string { return "" }, &o, &e)
	return o.String(), e.String(), err
}

// The experiment measures its own window on a pinger that was already probing, prints
// progress while it runs, writes both reports and passes when the SLOs hold.
func TestExperimentPasses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(srv.Close)
	base := startPinger(t, srv.URL+"/")
	require.Eventually(t, func() bool { return lifetimeRequests(t, base) >= 10 }, 10*time.Second, 20*time.Millisecond,
		"probing before the experiment")

	out := t.TempDir()
	began := time.Now()
	stdout, stderr, err := runExperiment(t, base, out)
	require.NoError(t, err, "%s\n%s", stdout, stderr)
	assert.Contains(t, stdout, "verdict: PASS")
	assert.Regexp(t, `experiment: 1s/1\.5s  receiver: \d+ requests, availability 100\.0000 %`, stderr, "a progress line")

	m := regexp.MustCompile(`target receiver: (\d+) requests, 0 failed`).FindStringSubmatch(stdout)
	require.NotNil(t, m, stdout)
	window, _ := strconv.ParseUint(m[1], 10, 64)
	assert.Positive(t, window)
	assert.Less(t, window, lifetimeRequests(t, base), "the verdict leaves out what was sent before the experiment")

	for _, f := range []string{"report.json", "report.html"} {
		st, err := os.Stat(filepath.Join(out, f))
		require.NoError(t, err)
		assert.Positive(t, st.Size())
	}
	assert.Regexp(t, `replica 127\.0\.0\.1:\d+: \d+ requests, share 100\.0 %`, stdout, "traffic by replica")
	assert.Contains(t, stdout, "unexplained: 0 first-attempt failures")

	// The written report covers the experiment's window, the same as the verdict.
	data, err := os.ReadFile(filepath.Join(out, "report.json"))
	require.NoError(t, err)
	var plan PlanReport
	require.NoError(t, json.Unmarshal(data, &plan))
	assert.Equal(t, VerdictPass, plan.Verdict)
	require.Len(t, plan.Phases, 1)
	require.Len(t, plan.Phases[0].Reports, 1)
	assert.EqualValues(t, window, plan.Phases[0].Targets[0].Counts.Requests)
	rep := plan.Phases[0].Reports[0].Report
	assert.False(t, rep.From.Before(began), "the report starts with the experiment, not with the pinger")
	assert.EqualValues(t, window, rep.Targets[0].SinceStart.Requests)
	var inTimeline uint64
	for _, b := range rep.Targets[0].Timeline {
		inTimeline += b.Requests
	}
	assert.Equal(t, window, inTimeline, "the chart holds the window's requests and no others")
}

// A target that fails misses the availability SLO: FAIL and exit status 1.
func TestExperimentFailsOnMissedSLO(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "broken", http.StatusInternalServerError)
	}))
	t.Cleanup(srv.Close)
	base := startPinger(t, srv.URL+"/")

	stdout, _, err := runExperiment(t, base, t.TempDir())
	require.Error(t, err)
	assert.Contains(t, stdout, "verdict: FAIL")
	assert.Contains(t, err.Error(), "availability 0.0000 %")
	assert.Equal(t, 1, service.ExitCode("pinger", err, io.Discard))
}

// A bad flag is a usage error (exit 2) before anything starts; NaN is in no range.
func TestExperimentRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--min-availability", "NaN"}, {"--min-availability", "1.5"}, {"--duration", "0s"}, {"--max-p99", "-1s"},
	} {
		err := run(context.Background(), append([]string{"pinger", "experiment", "--url", "http://127.0.0.1:9"}, args...),
			func(string) string { return "" }, io.Discard, io.Discard)
		require.Error(t, err, "%v", args)
		assert.Equal(t, 2, service.ExitCode("pinger", err, io.Discard), "%v", args)
	}
}
