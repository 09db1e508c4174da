package observability

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	promql "github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/shared/service"
)

const (
	servicesDir = "../../services"
	sharedDir   = ".."
	promPkg     = "github.com/prometheus/client_golang/prometheus"
	promauto    = "github.com/prometheus/client_golang/prometheus/promauto"
)

// contract is the metric names the dashboards, the e2e runs and users' alerts rely on: a
// service renaming one breaks them all, so a rename must show here first.
var contract = map[string][]string{
	"pinger": {
		"pinger_requests_total", "pinger_requests_succeeded_total", "pinger_requests_failed_total",
		"pinger_requests_dropped_total", "pinger_first_attempt_failed_total", "pinger_http_errors_total",
		"pinger_request_errors_total", "pinger_request_duration_seconds", "pinger_request_attempts",
		"pinger_pending_requests", "pinger_responses_total", "pinger_running",
	},
	"reaper": {"reaper_kill_requests_total", "reaper_latest_kill_method", "reaper_running"},
	"helmsman": {
		"helmsman_receiver_status", "helmsman_upgrade_requests_total", "helmsman_latest_version",
		"helmsman_latest_upgrade_type", "helmsman_replicas", "helmsman_upgrade_duration_seconds",
		"helmsman_reconciles_total", "helmsman_running",
	},
	"nodekiller": {"nodekiller_kills_total", "nodekiller_last_kill_timestamp_seconds", "nodekiller_node_recovery_seconds"},
	"receiver":   {"receiver_requests_total", "receiver_kill_requests_total", "receiver_config_generation", "receiver_info"},
	"voracious":  {"voracious_events_total", "voracious_apps", "voracious_cycles_total"},
}

// registered is what the sources register: metric name → kind (counter, gauge, histogram,
// summary, untyped, desc) and where.
type registered struct {
	Kind, Pos string
	// Labels are the label names of a *Vec (none for a plain metric); LabelsKnown is false
	// where the test could not read them.
	Labels      []string
	LabelsKnown bool
}

// sourceMetrics walks the non-test Go sources under root and returns the metric names their
// prometheus.*Opts composite literals and prometheus.NewDesc calls give, plus the positions
// of names it could not resolve to a constant string.
func sourceMetrics(t *testing.T, root string) (map[string]registered, []string) {
	t.Helper()
	found := map[string]registered{}
	var unresolved []string
	if _, err := os.Stat(root); err != nil {
		return found, nil
	}
	dirs := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "testdata", "vendor", "node_modules":
				return filepath.SkipDir
			}
			if strings.HasPrefix(d.Name(), ".") && path != root {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			dirs[filepath.Dir(path)] = append(dirs[filepath.Dir(path)], path)
		}
		return nil
	})
	require.NoError(t, err)

	for _, files := range dirs {
		fset := token.NewFileSet()
		var parsed []*ast.File
		for _, f := range files {
			af, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
			require.NoError(t, err, f)
			parsed = append(parsed, af)
		}
		consts := packageConsts(parsed)
		for _, af := range parsed {
			prom := importNames(af)
			if len(prom) == 0 {
				continue
			}
			ast.Inspect(af, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.CompositeLit:
					kind, ok := optsKind(n.Type, prom)
					if !ok {
						return true
					}
					name, ok := optsName(n, consts)
					pos := fset.Position(n.Pos()).String()
					if !ok {
						unresolved = append(unresolved, pos)
						return true
					}
					if _, seen := found[name]; name != "" && !seen {
						found[name] = registered{Kind: kind, Pos: pos}
					}
				case *ast.CallExpr:
					if name, r, ok := constructor(n, prom, consts); ok {
						r.Pos = fset.Position(n.Pos()).String()
						found[name] = r
					}
					if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "NewDesc" && isPkg(sel.X, prom) && len(n.Args) > 0 {
						pos := fset.Position(n.Pos()).String()
						if name, ok := constString(n.Args[0], consts); ok {
							found[name] = registered{Kind: "desc", Pos: pos}
						} else {
							unresolved = append(unresolved, pos)
						}
					}
				}
				return true
			})
		}
	}
	return found, unresolved
}

// constructor reads prometheus.NewCounter(opts), NewCounterVec(opts, labels) and their
// gauge, histogram and summary twins (promauto's too), opts being a composite literal.
func constructor(call *ast.CallExpr, prom map[string]bool, consts map[string]string) (string, registered, bool) {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || len(call.Args) == 0 {
		return "", registered{}, false
	}
	fn := sel.Sel.Name
	vec := strings.HasSuffix(fn, "Vec")
	switch strings.TrimSuffix(fn, "Vec") {
	case "NewCounter", "NewGauge", "NewHistogram", "NewSummary", "NewUntyped":
	default:
		return "", registered{}, false
	}
	arg := call.Args[0]
	if u, ok := arg.(*ast.UnaryExpr); ok && u.Op == token.AND {
		arg = u.X
	}
	lit, ok := arg.(*ast.CompositeLit)
	if !ok {
		return "", registered{}, false
	}
	kind, ok := optsKind(lit.Type, prom)
	if !ok {
		return "", registered{}, false
	}
	name, ok := optsName(lit, consts)
	if !ok || name == "" {
		return "", registered{}, false
	}
	r := registered{Kind: kind, LabelsKnown: true}
	if vec {
		r.Labels, r.LabelsKnown = stringList(call.Args[1:], consts)
	}
	return name, r, true
}

// stringList reads a []string{...} literal of constant strings.
func stringList(args []ast.Expr, consts map[string]string) ([]string, bool) {
	if len(args) != 1 {
		return nil, false
	}
	lit, ok := args[0].(*ast.CompositeLit)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(lit.Elts))
	for _, e := range lit.Elts {
		s, ok := constString(e, consts)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

// importNames returns the local names under which af imports the prometheus packages.
func importNames(af *ast.File) map[string]bool {
	names := map[string]bool{}
	for _, imp := range af.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		if path != promPkg && path != promauto {
			continue
		}
		name := filepath.Base(path)
		if imp.Name != nil {
			name = imp.Name.Name
		}
		names[name] = true
	}
	return names
}

func isPkg(x ast.Expr, names map[string]bool) bool {
	id, ok := x.(*ast.Ident)
	return ok && names[id.Name]
}

func optsKind(typ ast.Expr, prom map[string]bool) (string, bool) {
	sel, ok := typ.(*ast.SelectorExpr)
	if !ok || !isPkg(sel.X, prom) {
		return "", false
	}
	switch sel.Sel.Name {
	case "CounterOpts", "CounterVecOpts":
		return "counter", true
	case "GaugeOpts", "GaugeVecOpts":
		return "gauge", true
	case "HistogramOpts", "HistogramVecOpts":
		return "histogram", true
	case "SummaryOpts", "SummaryVecOpts":
		return "summary", true
	case "UntypedOpts", "Opts":
		return "untyped", true
	}
	return "", false
}

// optsName joins Namespace, Subsystem and Name as prometheus.BuildFQName does. A *VecOpts
// literal without its own Name ("" with ok) is named by the Opts literal it embeds.
func optsName(lit *ast.CompositeLit, consts map[string]string) (string, bool) {
	parts := map[string]string{}
	for _, el := range lit.Elts {
		kv, ok := el.(*ast.KeyValueExpr)
		if !ok {
			continue
		}
		key, ok := kv.Key.(*ast.Ident)
		if !ok {
			continue
		}
		switch key.Name {
		case "Namespace", "Subsystem", "Name":
			v, ok := constString(kv.Value, consts)
			if !ok {
				return "", false
			}
			parts[key.Name] = v
		}
	}
	if parts["Name"] == "" {
		return "", true
	}
	var nonEmpty []string
	for _, k := range []string{"Namespace", "Subsystem", "Name"} {
		if parts[k] != "" {
			nonEmpty = append(nonEmpty, parts[k])
		}
	}
	return strings.Join(nonEmpty, "_"), true
}

// constString evaluates a string literal, a package constant or a concatenation of them.
func constString(e ast.Expr, consts map[string]string) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(e.Value)
		return s, err == nil
	case *ast.Ident:
		s, ok := consts[e.Name]
		return s, ok
	case *ast.ParenExpr:
		return constString(e.X, consts)
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return "", false
		}
		l, ok1 := constString(e.X, consts)
		r, ok2 := constString(e.Y, consts)
		return l + r, ok1 && ok2
	}
	return "", false
}

// packageConsts returns the package-level string constants of one package's files.
func packageConsts(files []*ast.File) map[string]string {
	consts := map[string]string{}
	pending := map[string]ast.Expr{}
	for _, af := range files {
		for _, decl := range af.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i < len(vs.Values) {
						pending[n.Name] = vs.Values[i]
					}
				}
			}
		}
	}
	// Constants may name each other: resolve until nothing changes.
	for changed := true; changed; {
		changed = false
		for name, e := range pending {
			if s, ok := constString(e, consts); ok {
				consts[name] = s
				delete(pending, name)
				changed = true
			}
		}
	}
	return consts
}

// expand gives the series names a metric of kind exposes.
func expand(name, kind string) []string {
	switch kind {
	case "histogram":
		return []string{name, name + "_bucket", name + "_sum", name + "_count"}
	case "summary":
		return []string{name, name + "_sum", name + "_count"}
	}
	return []string{name}
}

// collectorNames are the Go and process collectors' metrics, as service.NewRegistry gathers
// them on this platform.
func collectorNames(t *testing.T) map[string]bool {
	t.Helper()
	mfs, err := service.NewRegistry().Gather()
	require.NoError(t, err)
	names := map[string]bool{}
	for _, mf := range mfs {
		kind := strings.ToLower(mf.GetType().String())
		for _, n := range expand(mf.GetName(), kind) {
			names[n] = true
		}
	}
	return names
}

func TestSourceMetricsFindsTheSharedHTTPMetrics(t *testing.T) {
	found, unresolved := sourceMetrics(t, sharedDir)
	assert.Empty(t, unresolved)
	assert.Equal(t, "counter", found["http_server_requests_total"].Kind)
	assert.Equal(t, "histogram", found["http_server_request_duration_seconds"].Kind)
}

func TestConstString(t *testing.T) {
	files := []*ast.File{mustParse(t, `package p
const ns = "pinger"
const name = ns + "_requests_total"
`)}
	consts := packageConsts(files)
	assert.Equal(t, "pinger_requests_total", consts["name"])
	af := mustParse(t, `package p
import prom "github.com/prometheus/client_golang/prometheus"
var a = prom.NewCounterVec(prom.CounterOpts{Namespace: "x", Subsystem: "y", Name: "z_total"}, nil)
`)
	var names []string
	prom := importNames(af)
	ast.Inspect(af, func(n ast.Node) bool {
		if lit, ok := n.(*ast.CompositeLit); ok {
			if _, ok := optsKind(lit.Type, prom); ok {
				name, ok := optsName(lit, consts)
				require.True(t, ok)
				names = append(names, name)
			}
		}
		return true
	})
	assert.Equal(t, []string{"x_y_z_total"}, names)
}

func mustParse(t *testing.T, src string) *ast.File {
	t.Helper()
	af, err := parser.ParseFile(token.NewFileSet(), "p.go", src, 0)
	require.NoError(t, err)
	return af
}

// TestDashboardMetricsAreRegistered: every metric a dashboard query selects is one a
// service's sources register (or a Go/process collector metric). The names are checked per
// service; a service whose sources register no metric at all cannot be checked and is
// skipped, by name, so that the gap shows.
func TestDashboardMetricsAreRegistered(t *testing.T) {
	shared, unresolvedShared := sourceMetrics(t, sharedDir)
	collectors := collectorNames(t)
	used := usedNames(t)

	perService := map[string]map[string]registered{}
	unresolved := map[string][]string{}
	for svc := range contract {
		perService[svc], unresolved[svc] = sourceMetrics(t, filepath.Join(servicesDir, svc))
	}

	byOwner := map[string][]string{}
	for _, name := range slices.Sorted(maps.Keys(used)) {
		owner := "shared"
		for svc := range contract {
			if strings.HasPrefix(name, svc+"_") {
				owner = svc
			}
		}
		byOwner[owner] = append(byOwner[owner], name)
	}

	for _, owner := range slices.Sorted(maps.Keys(byOwner)) {
		t.Run(owner, func(t *testing.T) {
			known := map[string]bool{}
			for n := range collectors {
				known[n] = true
			}
			addAll := func(m map[string]registered) {
				for n, r := range m {
					for _, e := range expand(n, r.Kind) {
						known[e] = true
					}
				}
			}
			addAll(shared)
			notes := unresolvedShared
			if owner != "shared" {
				if len(perService[owner]) == 0 {
					t.Skipf("SKIPPED, NOT CHECKED: services/%s registers no metric in its sources (not written yet?); "+
						"the dashboards use %s", owner, strings.Join(byOwner[owner], ", "))
				}
				addAll(perService[owner])
				notes = append(notes, unresolved[owner]...)
			}
			for _, name := range byOwner[owner] {
				if !known[name] {
					t.Errorf("%s is not registered by the sources (used by %s)", name, strings.Join(used[name], "; "))
				}
			}
			if t.Failed() && len(notes) > 0 {
				t.Logf("metric names the sources build at run time, which this test cannot read: %s", strings.Join(notes, ", "))
			}
		})
	}
}

// TestDashboardsCoverTheContract: every metric of the contract shows on a dashboard.
func TestDashboardsCoverTheContract(t *testing.T) {
	used := usedNames(t)
	base := map[string]bool{}
	for n := range used {
		base[n] = true
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if strings.HasSuffix(n, suf) {
				base[strings.TrimSuffix(n, suf)] = true
			}
		}
	}
	for _, svc := range slices.Sorted(maps.Keys(contract)) {
		for _, name := range contract[svc] {
			assert.True(t, base[name], "%s (%s) is on no dashboard", name, svc)
		}
	}
	for _, name := range []string{"http_server_requests_total", "http_server_request_duration_seconds"} {
		assert.True(t, base[name], "%s is on no dashboard", name)
	}
}

// TestContractMatchesRegistrations: where a service's sources exist, they register every name
// of its contract row.
func TestContractMatchesRegistrations(t *testing.T) {
	for _, svc := range slices.Sorted(maps.Keys(contract)) {
		t.Run(svc, func(t *testing.T) {
			found, _ := sourceMetrics(t, filepath.Join(servicesDir, svc))
			if len(found) == 0 {
				t.Skipf("SKIPPED, NOT CHECKED: services/%s registers no metric in its sources (not written yet?)", svc)
			}
			for _, name := range contract[svc] {
				assert.Contains(t, found, name, "services/%s does not register %s", svc, name)
			}
		})
	}
}

// labelUse is a set of label names a query relies on and the metrics they must belong to.
type labelUse struct {
	What    string
	Labels  []string
	Metrics []string
}

// labelUses returns the label names expr relies on: each selector's matchers, and the
// grouping labels of each aggregation by the metrics under it.
func labelUses(e promql.Expr) []labelUse {
	var uses []labelUse
	promql.Inspect(e, func(n promql.Node, _ []promql.Node) error {
		switch n := n.(type) {
		case *promql.VectorSelector:
			var labels []string
			for _, m := range n.LabelMatchers {
				if m.Name != "__name__" {
					labels = append(labels, m.Name)
				}
			}
			if names := metricNames(n); len(labels) > 0 && len(names) > 0 {
				uses = append(uses, labelUse{"matcher", labels, names})
			}
		case *promql.AggregateExpr:
			if !n.Without && len(n.Grouping) > 0 {
				uses = append(uses, labelUse{"by (" + strings.Join(n.Grouping, ", ") + ")", n.Grouping, metricNames(n.Expr)})
			}
		}
		return nil
	})
	return uses
}

// TestDashboardLabelsAreRegistered: the labels a query filters or groups by are labels its
// metrics have (or the job and instance Prometheus adds, or a histogram's le).
func TestDashboardLabelsAreRegistered(t *testing.T) {
	all, _ := sourceMetrics(t, sharedDir)
	for svc := range contract {
		found, _ := sourceMetrics(t, filepath.Join(servicesDir, svc))
		for n, r := range found {
			all[n] = r
		}
	}
	// labelsOf returns the labels a series name has, and whether the test knows them.
	labelsOf := func(series string) (map[string]bool, bool) {
		labels := map[string]bool{"job": true, "instance": true}
		r, ok := all[series]
		if !ok {
			for _, suf := range []string{"_bucket", "_sum", "_count"} {
				if base := strings.TrimSuffix(series, suf); base != series {
					if r, ok = all[base]; ok && (r.Kind == "histogram" || r.Kind == "summary") {
						if suf == "_bucket" {
							labels["le"] = true
						}
						break
					}
					ok = false
				}
			}
		}
		if !ok || !r.LabelsKnown {
			return nil, false
		}
		for _, l := range r.Labels {
			labels[l] = true
		}
		return labels, true
	}
	checked := 0
	for file, d := range loadDashboards(t) {
		for _, q := range d.queries(file) {
			expr, _ := substitute(q.Expr, grafanaVars)
			e, err := parse(expr)
			if err != nil {
				continue
			}
			for _, use := range labelUses(e) {
				for _, l := range use.Labels {
					known, has := false, false
					for _, m := range use.Metrics {
						labels, ok := labelsOf(m)
						if !ok {
							continue
						}
						known = true
						has = has || labels[l]
					}
					if known {
						checked++
						assert.True(t, has, "%s %s: %s uses label %q, which %s do not have: %q",
							file, q.Where, use.What, l, strings.Join(use.Metrics, ", "), expr)
					}
				}
			}
		}
	}
	t.Logf("%d label uses checked against the sources (those of metrics whose sources are absent are not)", checked)
}

func TestLabelUses(t *testing.T) {
	e, err := parse(`sum by (code) (rate(x_total{target="a"}[1m])) / on() group_left sum(y)`)
	require.NoError(t, err)
	assert.Equal(t, []labelUse{
		{"by (code)", []string{"code"}, []string{"x_total"}},
		{"matcher", []string{"target"}, []string{"x_total"}},
	}, labelUses(e))
}
