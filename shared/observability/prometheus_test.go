package observability

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

const (
	prometheusConfig = "../../deploy/prometheus/prometheus.yml"
	grafanaDir       = "../../deploy/grafana/provisioning"
)

func promtool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("SKIPPED, NOT CHECKED: promtool is not installed (Debian: apt-get install prometheus)")
	}
	return path
}

func TestPromtoolChecksConfig(t *testing.T) {
	out, err := exec.Command(promtool(t), "check", "config", prometheusConfig).CombinedOutput()
	assert.NoError(t, err, "promtool check config %s:\n%s", prometheusConfig, out)
}

// TestPromtoolParsesDashboardQueries: the installed Prometheus (the one the e2e run starts)
// parses every dashboard query too, not only the parser this module builds against.
func TestPromtoolParsesDashboardQueries(t *testing.T) {
	bin := promtool(t)
	var b strings.Builder
	b.WriteString("groups:\n  - name: dashboards\n    rules:\n")
	n := 0
	for file, d := range loadDashboards(t) {
		for _, q := range d.queries(file) {
			expr, _ := substitute(q.Expr, grafanaVars)
			n++
			fmt.Fprintf(&b, "      - record: dashboard:query_%d\n        expr: %q\n", n, expr)
		}
	}
	rules := filepath.Join(t.TempDir(), "dashboards.rules.yml")
	require.NoError(t, os.WriteFile(rules, []byte(b.String()), 0o600))
	out, err := exec.Command(bin, "check", "rules", rules).CombinedOutput()
	assert.NoError(t, err, "promtool check rules:\n%s", out)
	assert.Contains(t, string(out), fmt.Sprintf("%d rules found", n))
}

// TestPrometheusScrapesEveryService: every service of the compose topology is a scrape job,
// at its service name and port, the receivers through DNS discovery of their alias.
func TestPrometheusScrapesEveryService(t *testing.T) {
	raw, err := os.ReadFile(prometheusConfig)
	require.NoError(t, err)
	var cfg struct {
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
			DNSSDConfigs []struct {
				Names []string `yaml:"names"`
				Type  string   `yaml:"type"`
				Port  int      `yaml:"port"`
			} `yaml:"dns_sd_configs"`
		} `yaml:"scrape_configs"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &cfg))
	jobs := map[string][]string{}
	for _, sc := range cfg.ScrapeConfigs {
		for _, s := range sc.StaticConfigs {
			jobs[sc.JobName] = append(jobs[sc.JobName], s.Targets...)
		}
		for _, d := range sc.DNSSDConfigs {
			for _, n := range d.Names {
				jobs[sc.JobName] = append(jobs[sc.JobName], fmt.Sprintf("dns %s %s:%d", d.Type, n, d.Port))
			}
		}
	}
	for job, want := range map[string]string{
		"pinger":     "pinger:8002",
		"reaper":     "reaper:8003",
		"helmsman":   "helmsman:8004",
		"nodekiller": "nodekiller:8001",
		"voracious":  "voracious:8080",
		"receiver":   "dns A receiver:8000",
	} {
		assert.Equal(t, []string{want}, jobs[job], "job %s", job)
	}
}

// TestGrafanaProvisioning: the datasource points at the compose Prometheus with a fixed uid,
// and the provider loads the folder compose mounts the dashboards at.
func TestGrafanaProvisioning(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(grafanaDir, "datasources", "prometheus.yml"))
	require.NoError(t, err)
	var ds struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Name, UID, Type, URL, Access string
		} `yaml:"datasources"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &ds))
	require.Len(t, ds.Datasources, 1)
	assert.Equal(t, 1, ds.APIVersion)
	assert.Equal(t, "prometheus", ds.Datasources[0].Type)
	assert.Equal(t, "http://prometheus:9090", ds.Datasources[0].URL)
	assert.Equal(t, "chaos-prometheus", ds.Datasources[0].UID)

	raw, err = os.ReadFile(filepath.Join(grafanaDir, "dashboards", "provider.yml"))
	require.NoError(t, err)
	var prov struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Type    string `yaml:"type"`
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &prov))
	require.Len(t, prov.Providers, 1)
	assert.Equal(t, "file", prov.Providers[0].Type)
	assert.Equal(t, "/var/lib/grafana/dashboards", prov.Providers[0].Options.Path)
}
