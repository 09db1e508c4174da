package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/pinger/internal/pinger"
	"chaossuite.dev/shared/service"
)

func planRun(t *testing.T, dir, name string, at time.Time, requests, firstFailed, failed uint64, p99 float64) string {
	t.Helper()
	tr := TargetResult{Name: "receiver", Counts: pinger.Counts{Requests: requests, Succeeded: requests - failed, Failed: failed,
		FirstAttemptFailed: firstFailed}, Latency: pinger.Latency{P99: p99}}
	judge(&tr, SLO{}, 60)
	rep := PlanReport{Plan: "p", StartedAt: at, Verdict: VerdictPass,
		Phases: []StepResult{{Step: Step{Name: "kills"}, Targets: []TargetResult{tr}}}}
	data, err := json.Marshal(rep)
	require.NoError(t, err)
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, data, 0o644))
	return path
}

func runCompare(args ...string) (string, int) {
	var out bytes.Buffer
	err := run(context.Background(), append([]string{"pinger", "compare"}, args...), func(string) string { return "" }, &out, io.Discard)
	return out.String(), service.ExitCode("pinger", err, io.Discard)
}

// compare exits 0 within the tolerances, 1 beyond them (naming what is worse), 2 when asked
// wrongly.
func TestCompareExitCodes(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	old := planRun(t, dir, "old.json", at, 10000, 100, 2, 50)
	same := planRun(t, dir, "same.json", at.Add(time.Hour), 10000, 130, 3, 55)   // -0.3 pts, +10 %
	worse := planRun(t, dir, "worse.json", at.Add(time.Hour), 10000, 200, 2, 50) // -1 pt first attempt
	slower := planRun(t, dir, "slower.json", at.Add(time.Hour), 10000, 100, 2, 80)

	out, code := runCompare(old, same)
	assert.Equal(t, 0, code, out)
	assert.Contains(t, out, "kills  receiver  99.0000 % → 98.7000 %    -0.300")
	assert.Contains(t, out, "compare: OK")

	out, code = runCompare(old, worse)
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, "kills receiver: first-attempt availability 99.0000 % → 98.0000 % (-1.000 pts, tolerance 0.500)")

	out, code = runCompare("--max-first-attempt-drop", "2", old, worse)
	assert.Equal(t, 0, code, "a wider tolerance lets it through: %s", out)

	out, code = runCompare(old, slower)
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, "p99 50.0 → 80.0 ms (+30ms, tolerance 10ms)")
	out, code = runCompare("--max-p99-increase", "50ms", old, slower)
	assert.Equal(t, 0, code, out)

	_, code = runCompare(old)
	assert.Equal(t, 2, code)
	_, code = runCompare(old, filepath.Join(dir, "missing.json"))
	assert.Equal(t, 2, code)
	_, code = runCompare("--max-p99-increase", "lots", old, same)
	assert.Equal(t, 2, code)
}
