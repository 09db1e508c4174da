package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
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
	// VersionHeader is the response header that names the version that answered (the
	// receiver's by default), or none.
	VersionHeader string `yaml:"version_header,omitempty" json:"version_header,omitempty"`
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
