package observability

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/shared/auth"
)

const prometheusScript = "../../deploy/e2e/prometheus.sh"

func TestE2EScriptsAreValidBash(t *testing.T) {
	for _, f := range []string{prometheusScript, "../../deploy/e2e/targets.sh", "../../deploy/e2e/force.sh"} {
		out, err := exec.Command("bash", "-n", f).CombinedOutput()
		assert.NoError(t, err, "%s: %s", f, out)
	}
}

func TestPrometheusScriptWantsTargets(t *testing.T) {
	cmd := exec.Command("bash", prometheusScript)
	cmd.Env = append(os.Environ(), "TARGETS=", "TARGETS_CMD=")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, 2, exit.ExitCode())
	assert.Contains(t, string(out), "no targets")
}

// TestPrometheusScriptEvaluatesQueries runs deploy/e2e/prometheus.sh against a real server
// on loopback with a dashboard of two queries: one the server answers, one naming a metric
// nobody exports. The script must list the second and fail, and pass without it.
func TestPrometheusScriptEvaluatesQueries(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Prometheus; not in -short")
	}
	for _, tool := range []string{"prometheus", "promtool", "jq", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("SKIPPED, NOT CHECKED: %s is not installed (Debian: apt-get install prometheus jq curl)", tool)
		}
	}
	srv := newServer(t, "receiver", nil, auth.Token{}, func(r chi.Router) {
		r.Get("/hello", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	})
	resp, err := http.Get(srv.URL + "/hello")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)

	answered := `sum by (code) (rate(http_server_requests_total{handler="/hello",instance=~"$instance"}[$__rate_interval]))`
	missing := `sum(rate(nobody_exports_this_total{target=~"$target"}[$__rate_interval]))`
	// run runs the script; env adds to its environment. Its temporary directory must be gone
	// afterwards: the cleanup stopped Prometheus and the target refresh loop, then removed it.
	run := func(env []string, exprs ...string) (string, int) {
		var targets []map[string]any
		for i, e := range exprs {
			targets = append(targets, map[string]any{"refId": string(rune('A' + i)), "expr": e})
		}
		board, err := json.Marshal(map[string]any{"panels": []any{
			map[string]any{"id": 1, "type": "timeseries", "title": "under test", "targets": targets},
		}})
		require.NoError(t, err)
		file := filepath.Join(t.TempDir(), "board.json")
		require.NoError(t, os.WriteFile(file, board, 0o600))
		tmp := t.TempDir()
		cmd := exec.Command("bash", prometheusScript)
		cmd.Env = append(os.Environ(), "TMPDIR="+tmp, "DASHBOARDS="+file,
			"SCRAPE_INTERVAL=1", "EVAL_TIMEOUT=4", "FORCE=", "TARGETS=", "TARGETS_CMD=", "KEEP_DATA=")
		cmd.Env = append(cmd.Env, env...)
		out, err := cmd.CombinedOutput()
		left, rerr := os.ReadDir(tmp)
		require.NoError(t, rerr)
		assert.Empty(t, left, "the script left its temporary directory behind:\n%s", out)
		if err != nil {
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, "%s", out)
			return string(out), exit.ExitCode()
		}
		return string(out), 0
	}

	out, code := run([]string{"TARGETS=receiver=" + u.Host}, answered, missing)
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, "NO DATA: board.json panel under test [B]", out)
	assert.Contains(t, out, "nobody_exports_this_total{target=~\"receiver\"}[1m]", "variables substituted:\n"+out)
	assert.NotContains(t, out, "under test [A]", out)
	assert.Contains(t, out, "dashboard queries: 2, answered: 1, without data: 1", out)

	// The targets from a command, as the e2e run gives them, and the FORCE hook.
	out, code = run([]string{"TARGETS_CMD=echo receiver=" + u.Host, "FORCE=echo forced-hook-ran"}, answered)
	assert.Contains(t, out, "forced-hook-ran", out)
	assert.Equal(t, 0, code, out)
	assert.Contains(t, out, "dashboard queries: 1, answered: 1, without data: 0", out)
}
