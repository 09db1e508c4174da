package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"chaossuite.dev/pinger/internal/pinger"
	"chaossuite.dev/shared/chaos"
)

// Plan is an experiment as a file: the probes, the targets, and the phases run in order, each
// with its chaos, its load and its SLOs. See deploy/plans/example.yaml.
type Plan struct {
	Name       string       `yaml:"name,omitempty" json:"name"`
	Pingers    []string     `yaml:"pingers,omitempty" json:"pingers,omitempty"`
	PingersDNS string       `yaml:"pingers_dns,omitempty" json:"pingers_dns,omitempty"`
	Targets    []PlanTarget `yaml:"targets,omitempty" json:"targets"`
	Baseline   *bool        `yaml:"baseline,omitempty" json:"baseline,omitempty"`
	SLO        SLO          `yaml:"slo,omitempty" json:"slo"`
	Abort      []Abort      `yaml:"abort,omitempty" json:"abort,omitempty"`
	CheckEvery Duration     `yaml:"check_every,omitempty" json:"check_every,omitempty"`
	Phases     []Phase      `yaml:"phases,omitempty" json:"phases"`
}

// PlanTarget names a target of the pinger. With a url the plan defines it (the pinger probes
// the plan's targets for the experiment); without, it is one the pinger already has.
type PlanTarget struct {
	Name       string    `yaml:"name,omitempty" json:"name"`
	URL        string    `yaml:"url,omitempty" json:"url,omitempty"`
	QPS        float64   `yaml:"qps,omitempty" json:"qps,omitempty"`
	Method     string    `yaml:"method,omitempty" json:"method,omitempty"`
	Body       yaml.Node `yaml:"body,omitempty" json:"-"`
	Token      string    `yaml:"token,omitempty" json:"-"` // never written to a report
	Connection string    `yaml:"connection,omitempty" json:"connection,omitempty"`
	// SharedToken sends the suite's token (the pinger's AUTH_TOKEN) to a target without a
	// token of its own, as the suite's own services want.
	SharedToken bool `yaml:"shared_token,omitempty" json:"shared_token,omitempty"`
	body        json.RawMessage
}

// SLO is what a phase must hold; a field left out is not judged.
type SLO struct {
	Availability             *float64  `yaml:"availability,omitempty" json:"availability,omitempty"`
	FirstAttemptAvailability *float64  `yaml:"first_attempt_availability,omitempty" json:"first_attempt_availability,omitempty"`
	P99                      *Duration `yaml:"p99" json:"p99,omitempty"`
}

// Abort is a condition that stops the experiment at once: availability (after retries or at
// the first attempt) over the last `over` below a bound, or the p99 of the phase so far above
// one. Target empty: any judged target.
type Abort struct {
	Target                        string   `yaml:"target,omitempty" json:"target,omitempty"`
	AvailabilityBelow             *float64 `yaml:"availability_below,omitempty" json:"availability_below,omitempty"`
	FirstAttemptAvailabilityBelow *float64 `yaml:"first_attempt_availability_below,omitempty" json:"first_attempt_availability_below,omitempty"`
	P99Above                      Duration `yaml:"p99_above" json:"p99_above,omitempty"`
	Over                          Duration `yaml:"over,omitempty" json:"over,omitempty"`
	MinRequests                   uint64   `yaml:"min_requests,omitempty" json:"min_requests,omitempty"`
}

// Phase is one step of the plan.
type Phase struct {
	Name     string          `yaml:"name,omitempty" json:"name"`
	Duration Duration        `yaml:"duration,omitempty" json:"duration"`
	Chaos    Chaos           `yaml:"chaos,omitempty" json:"chaos"`
	Load     map[string]Load `yaml:"load,omitempty" json:"load,omitempty"`
	SLO      SLO             `yaml:"slo,omitempty" json:"slo"`
	Matrix   *Matrix         `yaml:"matrix,omitempty" json:"matrix,omitempty"`
}

// Chaos is what a phase runs: kills, upgrades, both, or neither.
type Chaos struct {
	Kill    *KillChaos    `yaml:"kill,omitempty" json:"kill,omitempty"`
	Upgrade *UpgradeChaos `yaml:"upgrade,omitempty" json:"upgrade,omitempty"`
}

// None reports whether the phase runs no chaos.
func (c Chaos) None() bool { return c.Kill == nil && c.Upgrade == nil }

// KillChaos sets the reaper: methods taken in turn, one kill every interval. Left out, the
// reaper's own settings.
type KillChaos struct {
	Methods  []string `yaml:"methods,omitempty" json:"methods,omitempty"`
	Interval Duration `yaml:"interval,omitempty" json:"interval,omitempty"`
}

// UpgradeChaos sets the helmsman: types taken in turn, one upgrade every interval.
type UpgradeChaos struct {
	Types    []string `yaml:"types,omitempty" json:"types,omitempty"`
	Interval Duration `yaml:"interval,omitempty" json:"interval,omitempty"`
}

// Load is a target's rate in a phase: qps, or a ramp from one rate to another over `over`
// (the whole phase when left out).
type Load struct {
	QPS  float64  `yaml:"qps,omitempty" json:"qps,omitempty"`
	From float64  `yaml:"from,omitempty" json:"from,omitempty"`
	To   float64  `yaml:"to,omitempty" json:"to,omitempty"`
	Over Duration `yaml:"over,omitempty" json:"over,omitempty"`
}

// Matrix runs the phase once per cell of kill methods x upgrade types x rates.
type Matrix struct {
	KillMethods  []string  `yaml:"kill_methods,omitempty" json:"kill_methods,omitempty"`
	UpgradeTypes []string  `yaml:"upgrade_types,omitempty" json:"upgrade_types,omitempty"`
	Rates        []float64 `yaml:"rates,omitempty" json:"rates,omitempty"`
	Target       string    `yaml:"target,omitempty" json:"target,omitempty"` // the target the rates apply to; empty: every one
}

// Duration is a YAML duration such as 30s or 2m.
type Duration time.Duration

// D is the duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalYAML reads a duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil {
		return fmt.Errorf("line %d: %q is not a duration such as 30s or 2m", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as a string such as 30s.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads it back.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}

// Step is one phase as it runs: a phase, or one cell of a phase's matrix.
type Step struct {
	Name     string            `json:"name"`
	Phase    string            `json:"phase"`
	Cell     map[string]string `json:"cell,omitempty"`
	Baseline bool              `json:"baseline,omitempty"`
	Duration time.Duration     `json:"-"`
	Chaos    Chaos             `json:"chaos"`
	Load     map[string]Load   `json:"load,omitempty"`
	SLO      SLO               `json:"slo"`
}

// Limits on a plan, so that a typo cannot ask for a week or a million cells.
const (
	maxPlanPhases   = 200
	maxPlanDuration = 24 * time.Hour
)

// ParsePlan decodes a plan strictly (an unknown field is an error) and checks it; every error
// names the field and its line.
func ParsePlan(file string, data []byte) (*Plan, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var p Plan
	if err := dec.Decode(&p); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: the plan is empty", file)
		}
		return nil, fmt.Errorf("%s: %s", file, yamlMessage(err))
	}
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root)
	v := &planCheck{file: file, root: &root}
	v.check(&p)
	if v.err != nil {
		return nil, v.err
	}
	return &p, nil
}

var yamlType = regexp.MustCompile(`field (\S+) not found in type main\.(\w+)`)

// yamlMessage rewrites the decoder's messages in the plan's terms.
func yamlMessage(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n  ")
	msg = strings.ReplaceAll(msg, "\n  ", "; ")
	msg = yamlType.ReplaceAllStringFunc(msg, func(s string) string {
		m := yamlType.FindStringSubmatch(s)
		return "unknown field " + m[1] + " in " + sectionName(m[2])
	})
	msg = strings.ReplaceAll(msg, "main.", "")
	return msg
}

func sectionName(t string) string {
	switch t {
	case "Plan":
		return "the plan (want name, pingers, pingers_dns, targets, baseline, slo, abort, check_every, phases)"
	case "PlanTarget":
		return "a target (want name, url, qps, method, body, token, shared_token, connection)"
	case "SLO":
		return "an slo (want availability, first_attempt_availability, p99)"
	case "Abort":
		return "an abort condition (want target, availability_below, first_attempt_availability_below, p99_above, over, min_requests)"
	case "Phase":
		return "a phase (want name, duration, chaos, load, slo, matrix)"
	case "Chaos":
		return "chaos (want kill, upgrade)"
	case "KillChaos":
		return "kill (want methods, interval)"
	case "UpgradeChaos":
		return "upgrade (want types, interval)"
	case "Load":
		return "a load (want qps, or from, to and over)"
	case "Matrix":
		return "a matrix (want kill_methods, upgrade_types, rates, target)"
	}
	return t
}

// planCheck validates a decoded plan, keeping the first error with its line.
type planCheck struct {
	file string
	root *yaml.Node
	err  error
}

// fail records an error at the field path (keys and indexes from the top).
func (v *planCheck) fail(msg string, path ...any) {
	if v.err != nil {
		return
	}
	names := make([]string, 0, len(path))
	for _, p := range path {
		switch p := p.(type) {
		case int:
			names[len(names)-1] += fmt.Sprintf("[%d]", p)
		default:
			names = append(names, fmt.Sprint(p))
		}
	}
	where := v.file
	if line := v.line(path); line > 0 {
		where += ":" + strconv.Itoa(line)
	}
	v.err = fmt.Errorf("%s: %s: %s", where, strings.Join(names, "."), msg)
}

// line is the line of the node at path, or of its nearest parent there.
func (v *planCheck) line(path []any) int {
	n := v.root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, p := range path {
		var next *yaml.Node
		at := line
		switch p := p.(type) {
		case int:
			if n.Kind == yaml.SequenceNode && p < len(n.Content) {
				next = n.Content[p]
				at = next.Line
			}
		case string:
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == p {
						next, at = n.Content[i+1], n.Content[i].Line // the key's line
					}
				}
			}
		}
		if next == nil {
			return line
		}
		n, line = next, at
	}
	return line
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

func (v *planCheck) check(p *Plan) {
	if p.Name == "" {
		p.Name = "experiment"
	}
	if !namePattern.MatchString(p.Name) {
		v.fail("want 1 to 63 letters, digits, '.', '-' or '_'", "name")
	}
	for i, u := range p.Pingers {
		if !isHTTPURL(u) {
			v.fail(fmt.Sprintf("%q: want a base URL such as http://127.0.0.1:8002", u), "pingers", i)
		}
	}
	if p.PingersDNS != "" {
		if len(p.Pingers) > 0 {
			v.fail("set pingers or pingers_dns, not both", "pingers_dns")
		}
		if _, _, err := net.SplitHostPort(p.PingersDNS); err != nil {
			v.fail(fmt.Sprintf("%q: want host:port such as pinger:8002", p.PingersDNS), "pingers_dns")
		}
	}
	if len(p.Targets) == 0 {
		v.fail("name at least one target to judge, such as - name: receiver", "targets")
	}
	seen := map[string]bool{}
	for i := range p.Targets {
		v.checkTarget(&p.Targets[i], i)
		if seen[p.Targets[i].Name] {
			v.fail(fmt.Sprintf("%q appears twice", p.Targets[i].Name), "targets", i, "name")
		}
		seen[p.Targets[i].Name] = true
	}
	v.checkSLO(p.SLO, "slo")
	for i := range p.Abort {
		v.checkAbort(&p.Abort[i], seen, "abort", i)
	}
	if p.CheckEvery == 0 {
		p.CheckEvery = Duration(time.Second)
	}
	if p.CheckEvery.D() < 100*time.Millisecond || p.CheckEvery.D() > time.Minute {
		v.fail("want a duration from 100ms to 1m", "check_every")
	}
	if len(p.Phases) == 0 {
		v.fail("want at least one phase", "phases")
	}
	baseline := p.Baseline == nil || *p.Baseline
	names := map[string]bool{}
	var total time.Duration
	cells := 0
	for i := range p.Phases {
		ph := &p.Phases[i]
		v.checkPhase(ph, seen, i)
		if names[ph.Name] {
			v.fail(fmt.Sprintf("%q appears twice", ph.Name), "phases", i, "name")
		}
		names[ph.Name] = true
		if i == 0 && baseline && (!ph.Chaos.None() || ph.Matrix != nil) {
			v.fail("the first phase is the baseline and runs without chaos; give it no chaos or matrix, or set baseline: false", "phases", 0, "chaos")
		}
		n := ph.cells()
		cells += n
		total += time.Duration(n) * ph.Duration.D()
	}
	if cells > maxPlanPhases {
		v.fail(fmt.Sprintf("%d phases once the matrices are expanded: at most %d", cells, maxPlanPhases), "phases")
	}
	if total > maxPlanDuration {
		v.fail(fmt.Sprintf("the phases last %s in all: at most %s", total, maxPlanDuration), "phases")
	}
}

func (v *planCheck) checkTarget(t *PlanTarget, i int) {
	if !namePattern.MatchString(t.Name) {
		v.fail(fmt.Sprintf("%q: want 1 to 63 letters, digits, '.', '-' or '_'", t.Name), "targets", i, "name")
		return
	}
	if t.URL == "" {
		for _, f := range []struct {
			name string
			set  bool
		}{{"method", t.Method != ""}, {"body", t.Body.Kind != 0}, {"token", t.Token != ""}, {"connection", t.Connection != ""}, {"shared_token", t.SharedToken}} {
			if f.set {
				v.fail("only a target with a url can set it (without one the pinger's own target is used as it is)", "targets", i, f.name)
			}
		}
		if t.QPS < 0 || t.QPS > 50000 {
			v.fail("want a rate above 0 and at most 50000", "targets", i, "qps")
		}
		return
	}
	if t.Body.Kind != 0 {
		var body any
		if err := t.Body.Decode(&body); err != nil {
			v.fail(err.Error(), "targets", i, "body")
			return
		}
		data, err := json.Marshal(jsonable(body))
		if err != nil {
			v.fail("not representable as JSON: "+err.Error(), "targets", i, "body")
			return
		}
		t.body = data
	}
	pt := t.Target()
	if err := pt.Validate(); err != nil {
		field := "url"
		switch {
		case strings.Contains(err.Error(), "qps"):
			field = "qps"
		case strings.Contains(err.Error(), "method"):
			field = "method"
		case strings.Contains(err.Error(), "connection"):
			field = "connection"
		}
		v.fail(err.Error(), "targets", i, field)
	}
}

// jsonable turns the maps YAML decodes into ones JSON can encode.
func jsonable(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = jsonable(x)
		}
		return v
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[fmt.Sprint(k)] = jsonable(x)
		}
		return out
	case []any:
		for i, x := range v {
			v[i] = jsonable(x)
		}
	}
	return v
}

// Target is the pinger target the plan defines (only for a target with a url).
func (t PlanTarget) Target() pinger.Target {
	return pinger.Target{Name: t.Name, URL: t.URL, QPS: t.QPS, Method: t.Method, Body: t.body, Token: t.Token,
		Connection: pinger.ConnectionMode(t.Connection), SharedToken: t.SharedToken}
}

func (v *planCheck) checkSLO(s SLO, path ...any) {
	for _, f := range []struct {
		name string
		v    *float64
	}{{"availability", s.Availability}, {"first_attempt_availability", s.FirstAttemptAvailability}} {
		if f.v != nil && (*f.v <= 0 || *f.v > 1) {
			v.fail(fmt.Sprintf("%v: want a share above 0 and at most 1, such as 0.999", *f.v), append(path, f.name)...)
		}
	}
	if s.P99 != nil && s.P99.D() <= 0 {
		v.fail("want a positive duration such as 500ms", append(path, "p99")...)
	}
}

func (v *planCheck) checkAbort(a *Abort, targets map[string]bool, path ...any) {
	if a.Target != "" && !targets[a.Target] {
		v.fail(fmt.Sprintf("%q is not one of the plan's targets", a.Target), append(path, "target")...)
	}
	set := 0
	for _, f := range []struct {
		name string
		v    *float64
	}{{"availability_below", a.AvailabilityBelow}, {"first_attempt_availability_below", a.FirstAttemptAvailabilityBelow}} {
		if f.v == nil {
			continue
		}
		set++
		if *f.v <= 0 || *f.v > 1 {
			v.fail(fmt.Sprintf("%v: want a share above 0 and at most 1, such as 0.95", *f.v), append(path, f.name)...)
		}
	}
	if a.P99Above != 0 {
		set++
		if a.P99Above.D() < 0 {
			v.fail("want a positive duration such as 2s", append(path, "p99_above")...)
		}
		if a.Over != 0 {
			v.fail("p99_above judges the phase so far: leave over out", append(path, "over")...)
		}
	}
	if set != 1 {
		v.fail("want exactly one of availability_below, first_attempt_availability_below, p99_above", path...)
	}
	if a.P99Above == 0 {
		if a.Over == 0 {
			a.Over = Duration(30 * time.Second)
		}
		if a.Over.D() < time.Second || a.Over.D() > time.Hour {
			v.fail("want a duration from 1s to 1h", append(path, "over")...)
		}
	}
	if a.MinRequests == 0 {
		a.MinRequests = 10
	}
}

func (v *planCheck) checkPhase(ph *Phase, targets map[string]bool, i int) {
	if !namePattern.MatchString(ph.Name) {
		v.fail(fmt.Sprintf("%q: want 1 to 63 letters, digits, '.', '-' or '_'", ph.Name), "phases", i, "name")
	}
	if ph.Duration.D() < time.Second || ph.Duration.D() > maxPlanDuration {
		v.fail("want a duration from 1s to 24h, such as 2m", "phases", i, "duration")
	}
	if k := ph.Chaos.Kill; k != nil {
		for j, m := range k.Methods {
			if km, err := chaos.ParseKillMethod(m); err != nil || km == chaos.Spare {
				v.fail(fmt.Sprintf("%q: want stop, halt, pause or partition", m), "phases", i, "chaos", "kill", "methods", j)
			}
		}
		if k.Interval != 0 && k.Interval.D() < time.Second {
			v.fail("want a duration of 1s or more", "phases", i, "chaos", "kill", "interval")
		}
	}
	if u := ph.Chaos.Upgrade; u != nil {
		for j, t := range u.Types {
			if _, err := chaos.ParseUpgradeType(t); err != nil {
				v.fail(fmt.Sprintf("%q: want IN_PLACE, ROLLOUT or MAX_SURGE", t), "phases", i, "chaos", "upgrade", "types", j)
			}
		}
		if u.Interval != 0 && u.Interval.D() < time.Second {
			v.fail("want a duration of 1s or more", "phases", i, "chaos", "upgrade", "interval")
		}
	}
	for name, l := range ph.Load {
		if !targets[name] {
			v.fail(fmt.Sprintf("%q is not one of the plan's targets", name), "phases", i, "load", name)
			continue
		}
		v.checkLoad(l, ph.Duration.D(), "phases", i, "load", name)
	}
	v.checkSLO(ph.SLO, "phases", i, "slo")
	if m := ph.Matrix; m != nil {
		if len(m.KillMethods)+len(m.UpgradeTypes)+len(m.Rates) == 0 {
			v.fail("want kill_methods, upgrade_types or rates", "phases", i, "matrix")
		}
		for j, s := range m.KillMethods {
			if km, err := chaos.ParseKillMethod(s); err != nil || km == chaos.Spare {
				v.fail(fmt.Sprintf("%q: want stop, halt, pause or partition", s), "phases", i, "matrix", "kill_methods", j)
			}
		}
		for j, s := range m.UpgradeTypes {
			if _, err := chaos.ParseUpgradeType(s); err != nil {
				v.fail(fmt.Sprintf("%q: want IN_PLACE, ROLLOUT or MAX_SURGE", s), "phases", i, "matrix", "upgrade_types", j)
			}
		}
		for j, r := range m.Rates {
			if r <= 0 || r > 50000 {
				v.fail(fmt.Sprintf("%v: want a rate above 0 and at most 50000", r), "phases", i, "matrix", "rates", j)
			}
		}
		if m.Target != "" && !targets[m.Target] {
			v.fail(fmt.Sprintf("%q is not one of the plan's targets", m.Target), "phases", i, "matrix", "target")
		}
		if len(m.Rates) > 0 && len(ph.Load) > 0 {
			v.fail("a matrix over rates sets the load itself: leave load out", "phases", i, "load")
		}
	}
}

func (v *planCheck) checkLoad(l Load, phase time.Duration, path ...any) {
	ramp := l.From != 0 || l.To != 0 || l.Over != 0
	switch {
	case ramp && l.QPS != 0:
		v.fail("set qps, or from and to (a ramp), not both", path...)
	case !ramp && (l.QPS <= 0 || l.QPS > 50000):
		v.fail("want a rate above 0 and at most 50000", append(path, "qps")...)
	case ramp && (l.From <= 0 || l.From > 50000):
		v.fail("want a rate above 0 and at most 50000", append(path, "from")...)
	case ramp && (l.To <= 0 || l.To > 50000):
		v.fail("want a rate above 0 and at most 50000", append(path, "to")...)
	case ramp && (l.Over.D() < 0 || l.Over.D() > phase):
		v.fail("want a duration up to the phase's", append(path, "over")...)
	}
}

// cells is how many steps the phase runs.
func (ph Phase) cells() int {
	if ph.Matrix == nil {
		return 1
	}
	n := 1
	for _, k := range []int{len(ph.Matrix.KillMethods), len(ph.Matrix.UpgradeTypes), len(ph.Matrix.Rates)} {
		if k > 0 {
			n *= k
		}
	}
	return n
}

// Steps expands the phases into the steps run in order: a phase with a matrix gives one step
// per cell, kill methods varying slowest and rates fastest.
func (p *Plan) Steps() []Step {
	var out []Step
	baseline := p.Baseline == nil || *p.Baseline
	for i, ph := range p.Phases {
		slo := mergeSLO(p.SLO, ph.SLO)
		base := Step{Name: ph.Name, Phase: ph.Name, Duration: ph.Duration.D(), Chaos: ph.Chaos, Load: ph.Load, SLO: slo,
			Baseline: i == 0 && baseline}
		if ph.Matrix == nil {
			out = append(out, fillRamps(base))
			continue
		}
		m := ph.Matrix
		kills, ups, rates := orOne(m.KillMethods), orOne(m.UpgradeTypes), m.Rates
		if len(rates) == 0 {
			rates = []float64{0}
		}
		for _, km := range kills {
			for _, ut := range ups {
				for _, r := range rates {
					s := base
					s.Cell = map[string]string{}
					var parts []string
					if km != "" {
						k := KillChaos{}
						if ph.Chaos.Kill != nil {
							k = *ph.Chaos.Kill
						}
						k.Methods = []string{km}
						s.Chaos.Kill = &k
						s.Cell["kill"] = km
						parts = append(parts, "kill="+km)
					}
					if ut != "" {
						u := UpgradeChaos{}
						if ph.Chaos.Upgrade != nil {
							u = *ph.Chaos.Upgrade
						}
						u.Types = []string{ut}
						s.Chaos.Upgrade = &u
						s.Cell["upgrade"] = ut
						parts = append(parts, "upgrade="+ut)
					}
					if r > 0 {
						s.Load = map[string]Load{}
						for _, t := range p.Targets {
							if m.Target == "" || m.Target == t.Name {
								s.Load[t.Name] = Load{QPS: r}
							}
						}
						rs := strconv.FormatFloat(r, 'f', -1, 64)
						s.Cell["rate"] = rs
						parts = append(parts, "rate="+rs)
					}
					s.Name = ph.Name + "[" + strings.Join(parts, ",") + "]"
					out = append(out, fillRamps(s))
				}
			}
		}
	}
	return out
}

// fillRamps gives a ramp without its own length the phase's.
func fillRamps(s Step) Step {
	if len(s.Load) == 0 {
		return s
	}
	load := make(map[string]Load, len(s.Load))
	for k, l := range s.Load {
		if l.QPS == 0 && l.Over == 0 {
			l.Over = Duration(s.Duration)
		}
		load[k] = l
	}
	s.Load = load
	return s
}

func orOne(s []string) []string {
	if len(s) == 0 {
		return []string{""}
	}
	return s
}

func mergeSLO(plan, phase SLO) SLO {
	out := plan
	if phase.Availability != nil {
		out.Availability = phase.Availability
	}
	if phase.FirstAttemptAvailability != nil {
		out.FirstAttemptAvailability = phase.FirstAttemptAvailability
	}
	if phase.P99 != nil {
		out.P99 = phase.P99
	}
	return out
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// flagPlan is the one-phase plan the flags describe: the target judged by availability and
// p99 for duration, with the reaper and the helmsman as they are configured.
func flagPlan(target string, duration time.Duration, minAvail float64, maxP99 time.Duration) *Plan {
	no := false
	p99 := Duration(maxP99)
	avail := minAvail
	return &Plan{
		Name: "experiment", Targets: []PlanTarget{{Name: target}}, Baseline: &no, CheckEvery: Duration(time.Second),
		SLO:    SLO{Availability: &avail, P99: &p99},
		Phases: []Phase{{Name: "run", Duration: Duration(duration), Chaos: Chaos{Kill: &KillChaos{}, Upgrade: &UpgradeChaos{}}}},
	}
}
