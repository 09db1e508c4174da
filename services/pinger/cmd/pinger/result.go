package main

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"chaossuite.dev/pinger/internal/pinger"
)

// Verdicts of a run.
const (
	VerdictPass    = "PASS"
	VerdictFail    = "FAIL"
	VerdictAborted = "ABORTED"
)

// PlanReport is a run of a plan: what report.json holds and what `pinger compare` reads.
type PlanReport struct {
	Plan      string       `json:"plan"`
	PlanFile  string       `json:"plan_file,omitempty"`
	Spec      *Plan        `json:"plan_spec"`
	StartedAt time.Time    `json:"started_at"`
	EndedAt   time.Time    `json:"ended_at"`
	Probes    []string     `json:"probes"`
	Verdict   string       `json:"verdict"`
	Reasons   []string     `json:"reasons,omitempty"`
	Abort     *AbortRecord `json:"abort,omitempty"`
	Phases    []StepResult `json:"phases"`
	// Previous is the run of the same plan before this one, when the history has it.
	Previous *PreviousRun `json:"previous,omitempty"`
}

// PreviousRun names the earlier run the report sets beside this one.
type PreviousRun struct {
	StartedAt time.Time `json:"started_at"`
	Verdict   string    `json:"verdict"`
	Path      string    `json:"path"`
}

// AbortRecord says what stopped the run, and when.
type AbortRecord struct {
	Condition string    `json:"condition"`
	At        time.Time `json:"at"`
	Phase     string    `json:"phase"`
}

// StepResult is one phase (or matrix cell) of the run.
type StepResult struct {
	Step
	DurationText string          `json:"duration"`
	From         time.Time       `json:"from"`
	To           time.Time       `json:"to"`
	Aborted      bool            `json:"aborted,omitempty"`
	Interrupted  bool            `json:"interrupted,omitempty"`
	Pass         bool            `json:"pass"`
	Targets      []TargetResult  `json:"targets"`
	Events       []pinger.Event  `json:"events"`
	Errors       []string        `json:"errors,omitempty"`
	Reports      []ProbeReport   `json:"probe_reports"`
	pages        map[string]bool // per-probe HTML written
}

// ProbeReport is one pinger's own report of the phase.
type ProbeReport struct {
	URL    string        `json:"url"`
	Report pinger.Report `json:"report"`
}

// ProbeCounts is one pinger's share of a target's figures.
type ProbeCounts struct {
	URL     string         `json:"url"`
	Counts  pinger.Counts  `json:"counts"`
	Latency pinger.Latency `json:"latency_ms"`
}

// TargetResult is one target's figures over a phase, added up over every probe: counts
// exactly, latency from the merged histograms.
type TargetResult struct {
	Name         string                 `json:"name"`
	Counts       pinger.Counts          `json:"counts"`
	Latency      pinger.Latency         `json:"latency_ms"`
	Availability Share                  `json:"availability"`
	FirstAttempt Share                  `json:"first_attempt_availability"`
	ByProbe      []ProbeCounts          `json:"by_probe"`
	Impact       []pinger.ImpactSummary `json:"impact"`
	Unexplained  uint64                 `json:"unexplained_first_attempt_failures"`
	Checks       []Check                `json:"checks"`
	Warnings     []string               `json:"warnings,omitempty"`
	Pass         bool                   `json:"pass"`
	Baseline     *Delta                 `json:"baseline,omitempty"`
	Previous     *Delta                 `json:"previous,omitempty"`
}

// aggregate adds up the probes' reports of a phase for the named targets. A histogram that
// cannot be decoded is an error: the percentiles would be wrong.
func aggregate(names []string, reports []ProbeReport) ([]TargetResult, error) {
	var out []TargetResult
	for _, name := range names {
		t := TargetResult{Name: name}
		merged := pinger.NewLatencyHistogram()
		found := false
		impact := map[[2]string]*pinger.ImpactSummary{}
		perEvent := map[eventKey]uint64{} // first-attempt failures of each event, over every probe
		for _, pr := range reports {
			tr := findReport(pr.Report.Targets, name)
			if tr == nil {
				continue
			}
			found = true
			c := tr.SinceStart
			addCounts(&t.Counts, c)
			t.ByProbe = append(t.ByProbe, ProbeCounts{URL: pr.URL, Counts: c, Latency: tr.LatencyMs})
			if tr.LatencyHistogram != "" {
				h, err := pinger.DecodeHistogram(tr.LatencyHistogram)
				if err != nil {
					return nil, fmt.Errorf("%s: target %s: %w", pr.URL, name, err)
				}
				merged.Merge(h)
			} else if c.Requests > 0 {
				return nil, fmt.Errorf("%s: target %s: the report has no latency histogram (an older pinger?)", pr.URL, name)
			}
			for _, s := range tr.Impact.Summary {
				k := [2]string{s.Kind, s.Type}
				m := impact[k]
				if m == nil {
					cp := s
					impact[k] = &cp
					continue
				}
				// The probes see the same events; their failures add up.
				m.Events = max(m.Events, s.Events)
				m.FirstAttemptFailures += s.FirstAttemptFailures
				m.Failures += s.Failures
			}
			for _, e := range tr.Impact.Events {
				perEvent[eventKey{e.At.UnixNano(), e.Kind, e.Type, e.What}] += e.FirstAttemptFailures
			}
			t.Unexplained += tr.Impact.Unexplained.FirstAttemptFailures
		}
		if !found {
			return nil, fmt.Errorf("no probe reported target %q", name)
		}
		t.Latency = pinger.LatencyOf(merged)
		maxed := map[*pinger.ImpactSummary]bool{}
		for k, n := range perEvent {
			if s := impact[[2]string{k.kind, k.typ}]; s != nil && len(reports) > 1 {
				if !maxed[s] {
					s.PerEventMax, maxed[s] = 0, true
				}
				s.PerEventMax = max(s.PerEventMax, n)
			}
		}
		for _, s := range impact {
			if s.Events > 0 {
				s.PerEventMean = float64(s.FirstAttemptFailures) / float64(s.Events)
			}
			t.Impact = append(t.Impact, *s)
		}
		slices.SortFunc(t.Impact, func(a, b pinger.ImpactSummary) int {
			return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Type, b.Type))
		})
		out = append(out, t)
	}
	return out, nil
}

// eventKey names one chaos event as every probe sees it.
type eventKey struct {
	at              int64
	kind, typ, what string
}

func addCounts(dst *pinger.Counts, c pinger.Counts) {
	dst.Requests += c.Requests
	dst.Succeeded += c.Succeeded
	dst.Failed += c.Failed
	dst.Dropped += c.Dropped
	dst.FirstAttemptFailed += c.FirstAttemptFailed
	dst.Attempts += c.Attempts
}

func findReport(ts []pinger.TargetReport, name string) *pinger.TargetReport {
	for i := range ts {
		if ts[i].Name == name {
			return &ts[i]
		}
	}
	return nil
}
