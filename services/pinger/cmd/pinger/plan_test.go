package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// The commented example parses, and expands into its phases and matrix cells in order.
func TestExamplePlanParses(t *testing.T) {
	data, err := os.ReadFile("../../../../deploy/plans/example.yaml")
	require.NoError(t, err)
	p, err := ParsePlan("example.yaml", data)
	require.NoError(t, err)
	assert.Equal(t, "kills-then-upgrades", p.Name)
	var names []string
	for _, s := range p.Steps() {
		names = append(names, s.Name)
	}
	assert.Equal(t, []string{"baseline", "kills", "upgrades",
		"kill-matrix[kill=stop,rate=20]", "kill-matrix[kill=stop,rate=80]",
		"kill-matrix[kill=halt,rate=20]", "kill-matrix[kill=halt,rate=80]"}, names)
	steps := p.Steps()
	assert.True(t, steps[0].Baseline)
	assert.True(t, steps[0].Chaos.None())
	assert.Equal(t, Load{From: 20, To: 80, Over: Duration(2 * time.Minute)}, steps[1].Load["receiver"], "a ramp without over lasts the phase")
	assert.Equal(t, 2*time.Second, steps[2].SLO.P99.D(), "the phase's p99 overrides the plan's")
	assert.InDelta(t, 0.999, *steps[2].SLO.Availability, 1e-12, "the plan's availability SLO still holds")
	assert.Equal(t, 30*time.Second, p.Abort[0].Over.D())
}

// A matrix gives one step per cell, kill methods slowest and rates fastest, each with the
// phase's other chaos settings and its cell named.
func TestMatrixExpansion(t *testing.T) {
	p, err := ParsePlan("m.yaml", []byte(`
targets: [{name: receiver}, {name: other}]
phases:
  - {name: base, duration: 10s}
  - name: m
    duration: 20s
    chaos: {kill: {interval: 5s}, upgrade: {interval: 30s}}
    matrix: {kill_methods: [stop, pause], upgrade_types: [ROLLOUT, IN_PLACE], rates: [10, 40], target: receiver}
`))
	require.NoError(t, err)
	steps := p.Steps()
	require.Len(t, steps, 1+2*2*2)
	c := steps[1+5] // pause, ROLLOUT, 40
	assert.Equal(t, "m[kill=pause,upgrade=ROLLOUT,rate=40]", c.Name)
	assert.Equal(t, map[string]string{"kill": "pause", "upgrade": "ROLLOUT", "rate": "40"}, c.Cell)
	assert.Equal(t, []string{"pause"}, c.Chaos.Kill.Methods)
	assert.Equal(t, 5*time.Second, c.Chaos.Kill.Interval.D())
	assert.Equal(t, []string{"ROLLOUT"}, c.Chaos.Upgrade.Types)
	assert.Equal(t, map[string]Load{"receiver": {QPS: 40}}, c.Load, "the rate applies to the matrix's target only")
	assert.Equal(t, 20*time.Second, c.Duration)
	assert.Nil(t, p.Phases[1].Chaos.Kill.Methods, "expanding leaves the plan as it was")
}

// A bad plan is one clear error naming the file, the line and the field.
func TestBadPlans(t *testing.T) {
	for _, tc := range []struct {
		name, plan, want string
	}{
		{"unknown field", "targets: [{name: r}]\nphases:\n  - name: a\n    duration: 1m\n    chaoss: {}\n",
			"p.yaml: line 5: unknown field chaoss in a phase"},
		{"unknown top field", "targets: [{name: r}]\nphase: []\n", "line 2: unknown field phase in the plan"},
		{"bad duration", "targets: [{name: r}]\nphases:\n  - name: a\n    duration: soon\n", `line 4: "soon" is not a duration`},
		{"no phases", "targets: [{name: r}]\n", "p.yaml:1: phases: want at least one phase"},
		{"no targets", "phases: [{name: a, duration: 1m}]\n", "targets: name at least one target"},
		{"baseline with chaos", "targets: [{name: r}]\nphases:\n  - name: a\n    duration: 1m\n    chaos:\n      kill: {}\n",
			"p.yaml:5: phases[0].chaos: the first phase is the baseline"},
		{"bad kill method", "targets: [{name: r}]\nbaseline: false\nphases:\n  - name: a\n    duration: 1m\n    chaos:\n      kill:\n        methods:\n          - stop\n          - explode\n",
			`p.yaml:10: phases[0].chaos.kill.methods[1]: "explode": want stop, halt, pause or partition`},
		{"bad upgrade type", "targets: [{name: r}]\nbaseline: false\nphases:\n  - {name: a, duration: 1m, chaos: {upgrade: {types: [SIDEWAYS]}}}\n",
			`p.yaml:4: phases[0].chaos.upgrade.types[0]: "SIDEWAYS"`},
		{"load on unknown target", "targets: [{name: r}]\nphases:\n  - name: a\n    duration: 1m\n    load:\n      nobody: {qps: 5}\n",
			`p.yaml:6: phases[0].load.nobody: "nobody" is not one of the plan's targets`},
		{"ramp and qps", "targets: [{name: r}]\nphases:\n  - name: a\n    duration: 1m\n    load:\n      r: {qps: 5, to: 9}\n",
			"phases[0].load.r: set qps, or from and to"},
		{"ramp longer than phase", "targets: [{name: r}]\nphases:\n  - name: a\n    duration: 1m\n    load:\n      r: {from: 5, to: 9, over: 2m}\n",
			"phases[0].load.r.over: want a duration up to the phase's"},
		{"slo out of range", "targets: [{name: r}]\nslo:\n  availability: 99.9\nphases: [{name: a, duration: 1m}]\n",
			"p.yaml:3: slo.availability: 99.9: want a share above 0 and at most 1"},
		{"abort without a bound", "targets: [{name: r}]\nabort:\n  - target: r\n    over: 10s\nphases: [{name: a, duration: 1m}]\n",
			"p.yaml:3: abort[0]: want exactly one of"},
		{"abort on unknown target", "targets: [{name: r}]\nabort:\n  - target: x\n    availability_below: 0.9\nphases: [{name: a, duration: 1m}]\n",
			`p.yaml:3: abort[0].target: "x" is not one of the plan's targets`},
		{"duplicate phase", "targets: [{name: r}]\nphases:\n  - {name: a, duration: 1m}\n  - {name: a, duration: 1m}\n",
			`p.yaml:4: phases[1].name: "a" appears twice`},
		{"target fields without url", "targets:\n  - name: r\n    method: GET\nphases: [{name: a, duration: 1m}]\n",
			"p.yaml:3: targets[0].method: only a target with a url"},
		{"version header without url", "targets:\n  - name: r\n    version_header: none\nphases: [{name: a, duration: 1m}]\n",
			"p.yaml:3: targets[0].version_header: only a target with a url"},
		{"bad version header", "targets:\n  - name: r\n    url: http://x:8080/\n    qps: 5\n    version_header: \"X Version\"\nphases: [{name: a, duration: 1m}]\n",
			`p.yaml:5: targets[0].version_header: target r: version header "X Version": want a header name`},
		{"bad target url", "targets:\n  - name: r\n    url: ftp://x\n    qps: 5\nphases: [{name: a, duration: 1m}]\n",
			"p.yaml:3: targets[0].url:"},
		{"matrix too big", "targets: [{name: r}]\nbaseline: false\nphases:\n  - name: a\n    duration: 1s\n    matrix: {rates: [" + strings.Repeat("1, ", 200) + "1]}\n",
			"phases: 201 phases once the matrices are expanded: at most 200"},
		{"wrong type", "targets: [{name: r}]\nphases:\n  - name: a\n    duration: 1m\n    load:\n      r: {qps: lots}\n",
			"line 6: cannot unmarshal !!str `lots` into float64"},
		{"empty", "", "p.yaml: the plan is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePlan("p.yaml", []byte(tc.plan))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "main.", "no Go type names")
		})
	}
}

// A plan with a url defines the target; its body is YAML turned into JSON.
func TestPlanTargetWithURL(t *testing.T) {
	p, err := ParsePlan("p.yaml", []byte(`
targets:
  - name: api
    url: http://127.0.0.1:9000/x
    qps: 5
    method: put
    body: {kill_node: spare, n: 1}
    connection: keepalive
    version_header: x-app-release
phases: [{name: a, duration: 1m}]
`))
	require.NoError(t, err)
	pt := p.Targets[0].Target()
	require.NoError(t, pt.Validate())
	assert.Equal(t, "PUT", pt.Method)
	assert.Equal(t, "X-App-Release", pt.VersionHeader, "the plan's version header reaches the target, canonical")
	assert.JSONEq(t, `{"kill_node":"spare","n":1}`, string(pt.Body))
}

// The flags' one-phase plan, as the history keeps it, reads back as the same plan.
func TestFlagPlanRoundTrips(t *testing.T) {
	p := flagPlan("receiver", time.Minute, 0.999, time.Second)
	data, err := yaml.Marshal(p)
	require.NoError(t, err)
	back, err := ParsePlan("plan.yaml", data)
	require.NoError(t, err, string(data))
	assert.Equal(t, p.Steps(), back.Steps())
	assert.Contains(t, string(data), "duration: 1m0s")
}

func FuzzParsePlan(f *testing.F) {
	data, _ := os.ReadFile("../../../../deploy/plans/example.yaml")
	f.Add(string(data))
	f.Add("targets: [{name: r}]\nphases: [{name: a, duration: 1m, matrix: {rates: [1, 2]}}]\n")
	f.Add("targets: [{name: r, url: 'http://x/', qps: 1, body: {a: [1, {b: 2}]}}]\nphases: [{name: a, duration: 1s}]\n")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePlan("f.yaml", []byte(s))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.yaml") {
				t.Fatalf("an error that names no file: %v", err)
			}
			return
		}
		steps := p.Steps()
		if len(steps) == 0 || len(steps) > maxPlanPhases {
			t.Fatalf("%d steps", len(steps))
		}
		for _, st := range steps {
			if st.Duration <= 0 {
				t.Fatalf("step %s of %s", st.Name, st.Duration)
			}
		}
	})
}
