package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/pinger/internal/pinger"
	"chaossuite.dev/shared/proctest"
	"chaossuite.dev/shared/service"
)

func runPlanFile(t *testing.T, plan, out string, urls ...string) (stdout, stderr string, code int) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "plan.yaml")
	require.NoError(t, os.WriteFile(file, []byte(plan), 0o644))
	args := []string{"pinger", "experiment", "--plan", file, "--out", out, "--token", expToken, "--progress", "500ms"}
	for _, u := range urls {
		args = append(args, "--url", u)
	}
	var o, e bytes.Buffer
	err := run(context.Background(), args, func(string) string { return "" }, &o, &e)
	code = service.ExitCode("pinger", err, &e)
	return o.String(), e.String(), code
}

// One plan drives two pingers: the aggregate is their sum, each phase stands beside the
// baseline, and the run is kept in the history; the next run of the plan shows it as the
// previous one.
func TestPlanOnTwoPingers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(srv.Close)
	a, b := startPinger(t, srv.URL+"/"), startPinger(t, srv.URL+"/")
	out := t.TempDir()
	plan := `
name: two
targets: [{name: receiver}]
slo: {availability: 0.9}
phases:
  - {name: baseline, duration: 1s}
  - name: faster
    duration: 1500ms
    load: {receiver: {qps: 80}}
`
	stdout, stderr, code := runPlanFile(t, plan, out, a, b)
	require.Equal(t, 0, code, "%s\n%s", stdout, stderr)
	assert.Contains(t, stdout, "verdict: PASS")
	assert.Regexp(t, `faster\s+receiver\s+\d+\s+100\.0000 % \[`, stdout, "the table")
	assert.Contains(t, stdout, "probe "+a+": ")

	data, err := os.ReadFile(filepath.Join(out, "report.json"))
	require.NoError(t, err)
	var rep PlanReport
	require.NoError(t, json.Unmarshal(data, &rep))
	require.Len(t, rep.Phases, 2)
	assert.Equal(t, []string{a, b}, rep.Probes)
	for _, ph := range rep.Phases {
		tr := ph.Targets[0]
		require.Len(t, ph.Reports, 2)
		var sum uint64
		for _, pr := range ph.Reports {
			sum += pr.Report.Targets[0].SinceStart.Requests
		}
		assert.Equal(t, sum, tr.Counts.Requests, "%s: the aggregate is the probes' sum", ph.Name)
		assert.Positive(t, sum)
		var inHist int64
		for _, p := range tr.ByProbe {
			inHist += p.Latency.Count
		}
		assert.EqualValues(t, tr.Counts.Requests, tr.Latency.Count, "the merged histogram holds every request")
		assert.Equal(t, inHist, tr.Latency.Count)
	}
	base, fast := rep.Phases[0].Targets[0], rep.Phases[1].Targets[0]
	require.NotNil(t, fast.Baseline)
	// 80 QPS against the configured 50, for 1.5 s on two pingers: well above the baseline's rate.
	assert.Greater(t, float64(fast.Counts.Requests)/1.5, 1.3*float64(base.Counts.Requests)/1.0, "the phase's load was applied")

	hist, err := os.ReadDir(filepath.Join(out, historyDir))
	require.NoError(t, err)
	require.Len(t, hist, 1)
	for _, f := range []string{"report.json", "plan.yaml"} {
		_, err := os.Stat(filepath.Join(out, historyDir, hist[0].Name(), f))
		assert.NoError(t, err)
	}
	page, err := os.ReadFile(filepath.Join(out, "report.html"))
	require.NoError(t, err)
	assert.Contains(t, string(page), "No earlier run of this plan")

	// The second run sets the first beside it.
	stdout, stderr, code = runPlanFile(t, plan, out, a, b)
	require.Equal(t, 0, code, "%s\n%s", stdout, stderr)
	page, err = os.ReadFile(filepath.Join(out, "report.html"))
	require.NoError(t, err)
	assert.Contains(t, string(page), `id="previous">The previous run of this plan began`)
	data, _ = os.ReadFile(filepath.Join(out, "report.json"))
	require.NoError(t, json.Unmarshal(data, &rep))
	require.NotNil(t, rep.Previous)
	assert.NotNil(t, rep.Phases[1].Targets[0].Previous)
	// compare in CI: the second run against the first, within loose tolerances.
	hist, _ = os.ReadDir(filepath.Join(out, historyDir))
	require.Len(t, hist, 2)
	o, code := runCompare("--max-p99-increase", "10s", filepath.Join(out, historyDir, hist[0].Name()), filepath.Join(out, historyDir, hist[1].Name()))
	assert.Equal(t, 0, code, o)
}

// An experiment that meets a halted suite refuses to start, and says why; the lever needs the
// token.
func TestExperimentRefusesHaltedSuite(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(srv.Close)
	base := startPinger(t, srv.URL+"/")
	post := func(path, token string) int {
		code, _, err := proctest.TryCall(http.MethodPost, base+path, token, "")
		require.NoError(t, err)
		return code
	}
	assert.Equal(t, http.StatusUnauthorized, post("/halt", "wrong"))
	assert.Equal(t, http.StatusOK, post("/halt", expToken))
	assert.Equal(t, http.StatusConflict, post("/start-reaper", expToken), "no chaos starts while halted")

	stdout, stderr, code := runPlanFile(t, "targets: [{name: receiver}]\nphases: [{name: a, duration: 1s}]\n", t.TempDir(), base)
	assert.Equal(t, 1, code, stdout)
	assert.Contains(t, stderr, "refusing to start: the suite was halted (pinger since")
	assert.Contains(t, stderr, "POST /resume lifts it")

	assert.Equal(t, http.StatusOK, post("/resume", expToken))
	stdout, stderr, code = runPlanFile(t, "targets: [{name: receiver}]\nphases: [{name: a, duration: 1s}]\n", t.TempDir(), base)
	assert.Equal(t, 0, code, "%s\n%s", stdout, stderr)
}

// A condition that cannot hold (a p99 under a microsecond) stops the run: ABORTED, exit 3,
// and the report is written.
func TestImpossibleAbortStopsTheRun(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(srv.Close)
	base := startPinger(t, srv.URL+"/")
	out := t.TempDir()
	plan := `
targets: [{name: receiver}]
abort: [{p99_above: 1us}]
check_every: 200ms
phases:
  - {name: baseline, duration: 30s}
  - {name: never, duration: 30s}
`
	stdout, stderr, code := runPlanFile(t, plan, out, base)
	assert.Equal(t, 3, code, "%s\n%s", stdout, stderr)
	assert.Contains(t, stdout, "verdict: ABORTED")
	assert.Contains(t, stdout, "ABORTED in baseline at")
	data, err := os.ReadFile(filepath.Join(out, "report.json"))
	require.NoError(t, err)
	var rep PlanReport
	require.NoError(t, json.Unmarshal(data, &rep))
	assert.Equal(t, VerdictAborted, rep.Verdict)
	require.Len(t, rep.Phases, 1)
	assert.Less(t, rep.Phases[0].To.Sub(rep.Phases[0].From).Seconds(), 10.0, "stopped long before its 30 s")
	assert.True(t, strings.HasPrefix(rep.Abort.Condition, "receiver: p99 of the phase so far"), rep.Abort.Condition)
}

// A plan's targets with a url replace the pingers' own for the run, and go again after it.
func TestPlanDefinesTargets(t *testing.T) {
	var gets sync.Map
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { gets.Store(r.Method, true) }))
	t.Cleanup(srv.Close)
	base := startPinger(t, srv.URL+"/")
	plan := fmt.Sprintf(`
targets:
  - {name: api, url: %s/x, qps: 30, method: GET, connection: keepalive}
phases: [{name: a, duration: 1s}]
`, srv.URL)
	stdout, stderr, code := runPlanFile(t, plan, t.TempDir(), base)
	require.Equal(t, 0, code, "%s\n%s", stdout, stderr)
	assert.Regexp(t, `target api: \d+ requests, 0 failed`, stdout)
	_, got := gets.Load(http.MethodGet)
	assert.True(t, got, "the plan's method")
	var names []string
	for _, tg := range infoOf(t, base).Targets {
		names = append(names, tg.Name)
	}
	assert.Equal(t, []string{"receiver"}, names, "the pinger's own targets are back")
}

func infoOf(t *testing.T, base string) pinger.Info {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/info", nil)
	req.Header.Set("Authorization", "Bearer "+expToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var info pinger.Info
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&info))
	return info
}

// The probes: the command line's URLs win, then the plan's list, then every address of its
// name.
func TestResolveProbes(t *testing.T) {
	ctx := context.Background()
	got, err := resolveProbes(ctx, &Plan{Pingers: []string{"http://a:1"}}, []string{"http://b:2"})
	require.NoError(t, err)
	assert.Equal(t, []string{"http://b:2"}, got)
	got, _ = resolveProbes(ctx, &Plan{Pingers: []string{"http://a:1"}}, nil)
	assert.Equal(t, []string{"http://a:1"}, got)
	got, err = resolveProbes(ctx, &Plan{PingersDNS: "127.0.0.1:8002"}, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"http://127.0.0.1:8002"}, got)
	_, err = resolveProbes(ctx, &Plan{PingersDNS: "no-such-host.invalid:8002"}, nil)
	assert.ErrorContains(t, err, "pingers_dns no-such-host.invalid:8002")
	got, _ = resolveProbes(ctx, &Plan{}, nil)
	assert.Equal(t, []string{"http://127.0.0.1:8002"}, got)
}

// A bad plan, or the flags of the short form beside --plan, exit 2 with the reason.
func TestBadPlanExitsTwo(t *testing.T) {
	_, stderr, code := runPlanFile(t, "targets: [{name: r}]\nphases: [{name: a, duration: 1m, chaoss: {}}]\n", t.TempDir(), "http://127.0.0.1:1")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "line 2: unknown field chaoss in a phase")
	var e bytes.Buffer
	err := run(context.Background(), []string{"pinger", "experiment", "--plan", "x.yaml", "--duration", "1m"}, func(string) string { return "" }, io.Discard, &e)
	assert.Equal(t, 2, service.ExitCode("pinger", err, &e))
	assert.Contains(t, e.String(), "--duration belong in the plan")
}
