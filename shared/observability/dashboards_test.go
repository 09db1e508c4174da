package observability

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const dashboardsDir = "../../dashboards"

// dashboard is the part of a Grafana dashboard model the tests read.
type dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []variable `json:"list"`
	} `json:"templating"`
	Annotations struct {
		List []annotation `json:"list"`
	} `json:"annotations"`
}

type panel struct {
	ID         int            `json:"id"`
	Type       string         `json:"type"`
	Title      string         `json:"title"`
	Datasource *datasourceRef `json:"datasource"`
	GridPos    *gridPos       `json:"gridPos"`
	Targets    []target       `json:"targets"`
	Panels     []panel        `json:"panels"` // a collapsed row's panels
}

type gridPos struct{ H, W, X, Y int }

type target struct {
	RefID      string         `json:"refId"`
	Expr       string         `json:"expr"`
	Datasource *datasourceRef `json:"datasource"`
}

type datasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Definition string          `json:"definition"`
	Datasource *datasourceRef  `json:"datasource"`
}

type annotation struct {
	Name       string         `json:"name"`
	BuiltIn    int            `json:"builtIn"`
	Expr       string         `json:"expr"`
	Datasource *datasourceRef `json:"datasource"`
}

// query is one PromQL expression of a dashboard, with where it sits.
type query struct {
	Dashboard, Where, Expr string
}

func loadDashboards(t *testing.T) map[string]dashboard {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dashboardsDir, "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no dashboards under %s", dashboardsDir)
	out := map[string]dashboard{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		var d dashboard
		dec := json.NewDecoder(strings.NewReader(string(b)))
		require.NoError(t, dec.Decode(&d), f)
		out[filepath.Base(f)] = d
	}
	return out
}

// panels returns every panel of d, those inside collapsed rows included.
func (d dashboard) allPanels() []panel {
	var out []panel
	for _, p := range d.Panels {
		out = append(out, p)
		out = append(out, p.Panels...)
	}
	return out
}

var labelValuesRe = regexp.MustCompile(`^\s*label_values\(\s*(.*?)\s*,\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*$`)

// queries returns every PromQL expression of d: panel targets, annotations, and the series
// selectors of label_values variables.
func (d dashboard) queries(name string) []query {
	var out []query
	for _, p := range d.allPanels() {
		for _, tg := range p.Targets {
			out = append(out, query{name, fmt.Sprintf("panel %d %q target %s", p.ID, p.Title, tg.RefID), tg.Expr})
		}
	}
	for _, a := range d.Annotations.List {
		if a.BuiltIn == 0 {
			out = append(out, query{name, fmt.Sprintf("annotation %q", a.Name), a.Expr})
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		if m := labelValuesRe.FindStringSubmatch(v.Definition); m != nil {
			out = append(out, query{name, fmt.Sprintf("variable %q", v.Name), m[1]})
		}
	}
	return out
}

// grafanaVars are the values the tests and deploy/e2e/prometheus.sh give Grafana's variables.
var grafanaVars = map[string]string{
	"target":          "receiver",
	"instance":        ".*",
	"__rate_interval": "1m",
	"__interval":      "15s",
	"__range":         "5m",
	"__range_s":       "300",
	"__interval_ms":   "15000",
}

var varRe = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)(?::[A-Za-z]+)?\}|\$([A-Za-z0-9_]+)|\[\[([A-Za-z0-9_]+)\]\]`)

// substitute replaces Grafana's variables in expr as Grafana would, and reports those it does
// not know.
func substitute(expr string, vars map[string]string) (string, []string) {
	var unknown []string
	out := varRe.ReplaceAllStringFunc(expr, func(m string) string {
		sm := varRe.FindStringSubmatch(m)
		name := sm[1] + sm[2] + sm[3]
		v, ok := vars[name]
		if !ok {
			unknown = append(unknown, name)
			return m
		}
		return v
	})
	return out, unknown
}

func parse(expr string) (parser.Expr, error) {
	return parser.NewParser(parser.Options{}).ParseExpr(expr)
}

// metricNames returns the metric names expr selects.
func metricNames(e parser.Expr) []string {
	var names []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			name := vs.Name
			if name == "" {
				for _, m := range vs.LabelMatchers {
					if m.Name == "__name__" {
						name = m.Value
					}
				}
			}
			if name != "" {
				names = append(names, name)
			}
		}
		return nil
	})
	return names
}

func TestDashboardQueriesParse(t *testing.T) {
	for file, d := range loadDashboards(t) {
		qs := d.queries(file)
		require.NotEmpty(t, qs, file)
		for _, q := range qs {
			expr, unknown := substitute(q.Expr, grafanaVars)
			assert.Empty(t, unknown, "%s %s: unknown variables in %q", file, q.Where, q.Expr)
			e, err := parse(expr)
			if !assert.NoError(t, err, "%s %s: %q", file, q.Where, expr) {
				continue
			}
			assert.NotEmpty(t, metricNames(e), "%s %s selects no metric: %q", file, q.Where, expr)
		}
	}
}

// TestSubstitute: the variable forms Grafana accepts.
func TestSubstitute(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		unknown  []string
	}{
		{`rate(x{target=~"$target"}[$__rate_interval])`, `rate(x{target=~"receiver"}[1m])`, nil},
		{`x{instance=~"${instance}"}[$__range]`, `x{instance=~".*"}[5m]`, nil},
		{`x{instance=~"${instance:regex}"}`, `x{instance=~".*"}`, nil},
		{`x{a="[[target]]"}`, `x{a="receiver"}`, nil},
		{`x{a="$nope"}`, `x{a="$nope"}`, []string{"nope"}},
	} {
		got, unknown := substitute(tc.in, grafanaVars)
		assert.Equal(t, tc.want, got, tc.in)
		assert.Equal(t, tc.unknown, unknown, tc.in)
	}
}

// TestDashboardsImportAsIs: the dashboards import into Grafana 10+ without editing: no
// __inputs or ${DS_...} placeholders, a datasource variable every panel and query uses,
// target and instance variables, unique panel ids, panels inside the 24-column grid.
func TestDashboardsImportAsIs(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(dashboardsDir, "*.json"))
	require.NoError(t, err)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		assert.NotContains(t, string(raw), "__inputs", f)
		assert.NotContains(t, string(raw), "${DS_", f)
		var generic map[string]any
		require.NoError(t, json.Unmarshal(raw, &generic), f)
		assert.Nil(t, generic["id"], "%s: id must be null so that import creates a new dashboard", f)
	}
	for file, d := range loadDashboards(t) {
		t.Run(file, func(t *testing.T) {
			assert.NotEmpty(t, d.UID)
			assert.NotEmpty(t, d.Title)
			assert.GreaterOrEqual(t, d.SchemaVersion, 36, "Grafana 10+ schema")
			assert.LessOrEqual(t, d.SchemaVersion, 41)

			vars := map[string]variable{}
			for _, v := range d.Templating.List {
				vars[v.Name] = v
			}
			ds, ok := vars["datasource"]
			require.True(t, ok, "a datasource variable")
			assert.Equal(t, "datasource", ds.Type)
			assert.Equal(t, `"prometheus"`, string(ds.Query))
			inst, ok := vars["instance"]
			if assert.True(t, ok, "an instance variable") {
				assert.Equal(t, "query", inst.Type)
				assert.Regexp(t, labelValuesRe, inst.Definition)
			}
			if file == "chaos-test.json" {
				tg, ok := vars["target"]
				if assert.True(t, ok, "a target variable") {
					assert.Equal(t, "query", tg.Type)
					assert.Equal(t, "label_values(pinger_requests_total, target)", tg.Definition)
				}
			}
			for name, v := range vars {
				if v.Type == "query" && assert.NotNil(t, v.Datasource, name) {
					assert.Equal(t, "${datasource}", v.Datasource.UID, "variable %s", name)
				}
			}

			ids := map[int]string{}
			for _, p := range d.allPanels() {
				if prev, dup := ids[p.ID]; dup {
					t.Errorf("panel id %d used by %q and %q", p.ID, prev, p.Title)
				}
				ids[p.ID] = p.Title
				assert.NotEmpty(t, p.Title, "panel %d", p.ID)
				if assert.NotNil(t, p.GridPos, "panel %q", p.Title) {
					assert.LessOrEqual(t, p.GridPos.X+p.GridPos.W, 24, "panel %q", p.Title)
					assert.Positive(t, p.GridPos.W, "panel %q", p.Title)
					assert.Positive(t, p.GridPos.H, "panel %q", p.Title)
				}
				if p.Type == "row" {
					continue
				}
				assert.NotEmpty(t, p.Targets, "panel %q has no query", p.Title)
				if assert.NotNil(t, p.Datasource, "panel %q", p.Title) {
					assert.Equal(t, "${datasource}", p.Datasource.UID, "panel %q", p.Title)
				}
				refs := map[string]bool{}
				for _, tg := range p.Targets {
					assert.False(t, refs[tg.RefID], "panel %q: refId %s twice", p.Title, tg.RefID)
					refs[tg.RefID] = true
					if assert.NotNil(t, tg.Datasource, "panel %q target %s", p.Title, tg.RefID) {
						assert.Equal(t, "${datasource}", tg.Datasource.UID)
					}
				}
			}
			for _, a := range d.Annotations.List {
				if a.BuiltIn == 0 && assert.NotNil(t, a.Datasource, a.Name) {
					assert.Equal(t, "${datasource}", a.Datasource.UID, "annotation %s", a.Name)
				}
			}
		})
	}
}

// TestChaosDashboardPanels: the chaos-test dashboard has every panel an experiment is read
// from.
func TestChaosDashboardPanels(t *testing.T) {
	d := loadDashboards(t)["chaos-test.json"]
	var titles []string
	for _, p := range d.allPanels() {
		titles = append(titles, p.Title)
	}
	for _, want := range []string{
		"Success rate (lifetime)", "Success rate (last week)", "Success rate (last day)", "Success rate (last hour)",
		"First-attempt availability (lifetime)",
		"Requests sent / succeeded / failed / dropped", "Request rates",
		"Latency p50 / p90 / p99", "Attempts and retries", "Pending requests",
		"HTTP errors by code", "HTTP error rates by code",
		"Failures vs chaotic events", "Upgrade failures vs node failures",
		"Receiver status vs chaotic events", "Receiver status vs failures",
		"Served version vs upgrades", "Kills by method", "Node recovery time",
	} {
		assert.Contains(t, titles, want)
	}
	v := loadDashboards(t)["voracious.json"]
	titles = nil
	for _, p := range v.allPanels() {
		titles = append(titles, p.Title)
	}
	for _, want := range []string{"Events/s by type and result", "Apps by state", "Cycles/s", "Latency p50 / p99"} {
		assert.Contains(t, titles, want)
	}
}

// usedNames returns every metric name the dashboards' queries select, with where each is used.
func usedNames(t *testing.T) map[string][]string {
	t.Helper()
	used := map[string][]string{}
	for file, d := range loadDashboards(t) {
		for _, q := range d.queries(file) {
			expr, _ := substitute(q.Expr, grafanaVars)
			e, err := parse(expr)
			if err != nil {
				continue // TestDashboardQueriesParse reports it
			}
			for _, n := range metricNames(e) {
				used[n] = append(used[n], file+" "+q.Where)
			}
		}
	}
	return used
}
