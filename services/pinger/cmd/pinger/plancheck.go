package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"chaossuite.dev/pinger/internal/pinger"
	"chaossuite.dev/shared/chaos"
)

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
		}{{"method", t.Method != ""}, {"body", t.Body.Kind != 0}, {"token", t.Token != ""}, {"connection", t.Connection != ""}, {"shared_token", t.SharedToken},
			{"version_header", t.VersionHeader != ""}} {
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
		case strings.Contains(err.Error(), "version header"):
			field = "version_header"
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
		Connection: pinger.ConnectionMode(t.Connection), SharedToken: t.SharedToken, VersionHeader: t.VersionHeader}
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
