package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"chaossuite.dev/pinger/internal/pinger"
)

// Suite is what a plan drives: one or more pingers, the first of which also drives the chaos.
type Suite interface {
	Probes() []string
	Infos(ctx context.Context) ([]pinger.Info, error)
	// SetTargets makes every pinger probe the plan's targets; Restore undoes it and the rest.
	SetTargets(ctx context.Context, ts []PlanTarget) error
	// SetLoad sets a target's rate for the next start: l nil is its own rate.
	SetLoad(ctx context.Context, target string, l *Load) error
	StartPingers(ctx context.Context) error
	StopPingers(ctx context.Context) error
	StartChaos(ctx context.Context, c Chaos) error
	StopChaos(ctx context.Context) error
	Reports(ctx context.Context) ([]ProbeReport, error)
	Halt(ctx context.Context) error
	Resume(ctx context.Context) error
	Restore(ctx context.Context)
}

// RunClock is the time a plan runs by; tests give it a fake one.
type RunClock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type wallClock struct{}

func (wallClock) Now() time.Time                         { return time.Now() }
func (wallClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// runner runs a plan's steps in order against a Suite.
type runner struct {
	plan     *Plan
	suite    Suite
	clock    RunClock
	progress time.Duration
	log      io.Writer // progress lines
	single   bool      // the flags' one-phase form: progress lines without the phase name
}

// sample is the figures of the judged targets, added up over the probes, at one moment.
type sample struct {
	at     time.Time
	counts map[string]pinger.Counts
	p99    map[string]float64 // the largest probe's since-start p99, ms
}

// run runs every step and returns the report; it stops at the first abort condition that
// holds, or when the suite is halted under it.
func (r *runner) run(ctx context.Context) *PlanReport {
	rep := &PlanReport{Plan: r.plan.Name, Spec: r.plan, StartedAt: r.clock.Now().UTC(), Probes: r.suite.Probes()}
	stopCtx := context.WithoutCancel(ctx)
	defer r.suite.Restore(stopCtx)
	if hasURL(r.plan.Targets) {
		if err := r.suite.SetTargets(ctx, r.plan.Targets); err != nil {
			rep.Verdict, rep.Reasons = VerdictFail, []string{"setting the plan's targets: " + err.Error()}
			rep.EndedAt = r.clock.Now().UTC()
			return rep
		}
	}
	names := make([]string, len(r.plan.Targets))
	for i, t := range r.plan.Targets {
		names[i] = t.Name
	}
	var baseline []TargetResult
	for _, step := range r.plan.Steps() {
		res, stop := r.runStep(ctx, step, names, rep)
		if step.Baseline {
			baseline = res.Targets
		} else if baseline != nil {
			for i := range res.Targets {
				if b := findResult(baseline, res.Targets[i].Name); b != nil {
					res.Targets[i].Baseline = delta("baseline", &res.Targets[i], b)
				}
			}
		}
		rep.Phases = append(rep.Phases, res)
		if stop {
			break
		}
	}
	rep.EndedAt = r.clock.Now().UTC()
	switch {
	case rep.Abort != nil:
		rep.Verdict = VerdictAborted
		rep.Reasons = append(rep.Reasons, "aborted in "+rep.Abort.Phase+": "+rep.Abort.Condition)
	default:
		rep.Verdict = VerdictPass
		for _, ph := range rep.Phases {
			if ph.Interrupted {
				rep.Reasons = append(rep.Reasons, "interrupted before its end")
			}
			for _, t := range ph.Targets {
				for _, c := range t.Checks {
					if !c.Pass {
						rep.Reasons = append(rep.Reasons, fmt.Sprintf("%s %s: %s %s, want %s", ph.Name, t.Name, c.SLO, c.Got, c.Want))
					}
				}
			}
			for _, e := range ph.Errors {
				rep.Reasons = append(rep.Reasons, ph.Name+": "+e)
			}
		}
		if len(rep.Reasons) > 0 {
			rep.Verdict = VerdictFail
		}
	}
	return rep
}

func hasURL(ts []PlanTarget) bool {
	for _, t := range ts {
		if t.URL != "" {
			return true
		}
	}
	return false
}

func findResult(ts []TargetResult, name string) *TargetResult {
	for i := range ts {
		if ts[i].Name == name {
			return &ts[i]
		}
	}
	return nil
}

// runStep runs one step: the rates set, the pingers started (a new window), the chaos set and
// started, the figures watched; then the chaos stopped (what is under way drains in the
// window), the pingers stopped and their reports added up. stop says the run ends here.
func (r *runner) runStep(ctx context.Context, step Step, names []string, rep *PlanReport) (res StepResult, stop bool) {
	res = StepResult{Step: step, DurationText: step.Duration.String()}
	stopCtx := context.WithoutCancel(ctx)
	for _, t := range r.plan.Targets {
		var l *Load
		if v, ok := step.Load[t.Name]; ok {
			l = &v
		} else if t.QPS > 0 && t.URL == "" {
			l = &Load{QPS: t.QPS}
		}
		if err := r.suite.SetLoad(ctx, t.Name, l); err != nil {
			res.Errors = append(res.Errors, "setting the load: "+err.Error())
		}
	}
	if err := r.suite.StartPingers(ctx); err != nil {
		res.Errors = append(res.Errors, "starting the pingers: "+err.Error())
		return res, true
	}
	start := r.clock.Now()
	res.From = start.UTC()
	if err := r.suite.StartChaos(ctx, step.Chaos); err != nil {
		res.Errors = append(res.Errors, "starting the chaos: "+err.Error())
	}
	what := chaosText(step.Chaos)
	if l := loadText(step.Load); l != "" {
		what += "; " + l
	}
	if !r.single {
		r.printf("experiment: %s started for %s (%s)\n", step.Name, step.Duration, what)
	}
	var abort *AbortRecord
	samples := []sample{{at: start, counts: map[string]pinger.Counts{}, p99: map[string]float64{}}}
	end := start.Add(step.Duration)
	nextProgress := start.Add(r.progress)
	for now := start; now.Before(end) && abort == nil; {
		wait := min(r.plan.CheckEvery.D(), end.Sub(now))
		select {
		case <-ctx.Done():
			res.Interrupted = true
		case <-r.clock.After(wait):
		}
		if res.Interrupted {
			break
		}
		now = r.clock.Now()
		infos, err := r.suite.Infos(ctx)
		if err != nil {
			r.printf("experiment: %s %s: /info failed: %v\n", step.Name, now.Sub(start).Round(time.Second), err)
			continue
		}
		s := takeSample(now, infos, names)
		samples = append(samples, s)
		samples = trimSamples(samples, now, r.plan.Abort)
		if h := haltedBy(infos); h != "" {
			abort = &AbortRecord{Condition: h, At: now.UTC(), Phase: step.Name}
			break
		}
		if c := r.breach(samples, names); c != "" {
			abort = &AbortRecord{Condition: c, At: now.UTC(), Phase: step.Name}
			// The chaos stops at once: the lever refuses any further kill or upgrade while
			// the loops stop; lifted again below once they have.
			if err := r.suite.Halt(stopCtx); err != nil {
				res.Errors = append(res.Errors, "halting the chaos: "+err.Error())
			}
			defer func() {
				if err := r.suite.Resume(stopCtx); err != nil {
					res.Errors = append(res.Errors, "lifting the halt: "+err.Error())
				}
			}()
			break
		}
		if !now.Before(nextProgress) {
			nextProgress = nextProgress.Add(r.progress)
			r.printProgress(step, min(now.Sub(start), step.Duration), infos, names)
		}
	}
	if err := r.suite.StopChaos(stopCtx); err != nil {
		res.Errors = append(res.Errors, "stopping the chaos: "+err.Error())
	}
	if err := r.suite.StopPingers(stopCtx); err != nil {
		res.Errors = append(res.Errors, "stopping the pingers: "+err.Error())
	}
	res.To = r.clock.Now().UTC()
	reports, err := r.suite.Reports(stopCtx)
	if err != nil {
		res.Errors = append(res.Errors, "fetching the reports: "+err.Error())
	}
	res.Reports = reports
	if len(reports) > 0 {
		res.Events = reports[0].Report.Events
	}
	targets, err := aggregate(names, reports)
	if err != nil {
		res.Errors = append(res.Errors, err.Error())
	}
	seconds := res.To.Sub(res.From).Seconds()
	res.Pass = len(res.Errors) == 0 && !res.Interrupted
	for i := range targets {
		judge(&targets[i], step.SLO, seconds)
		res.Pass = res.Pass && targets[i].Pass
	}
	res.Targets = targets
	if abort != nil {
		res.Aborted, res.Pass = true, false
		rep.Abort = abort
		r.printf("experiment: ABORTED in %s at %s: %s\n", step.Name, abort.At.Format(time.TimeOnly), abort.Condition)
		return res, true
	}
	return res, res.Interrupted
}

func (r *runner) printf(format string, args ...any) { fmt.Fprintf(r.log, format, args...) }

func (r *runner) printProgress(step Step, elapsed time.Duration, infos []pinger.Info, names []string) {
	for _, name := range names {
		var c pinger.Counts
		var pending int64
		var p99 float64
		for _, in := range infos {
			if t := find(in.Targets, name); t != nil {
				addCounts(&c, t.SinceStart)
				pending += t.Pending
				p99 = max(p99, t.LatencyMs.P99)
			}
		}
		phase := step.Name + " "
		if r.single {
			phase = ""
		}
		fmt.Fprintf(r.log, "experiment: %s%s/%s  %s: %d requests, availability %s, first attempt %s, p99 %.1f ms, pending %d\n",
			phase, elapsed.Round(time.Second), step.Duration, name, c.Requests, pct(pinger.Ratio(c.Succeeded, c.Requests)),
			pct(pinger.Ratio(c.Requests-c.FirstAttemptFailed, c.Requests)), p99, pending)
	}
}

func takeSample(now time.Time, infos []pinger.Info, names []string) sample {
	s := sample{at: now, counts: map[string]pinger.Counts{}, p99: map[string]float64{}}
	for _, name := range names {
		var c pinger.Counts
		for _, in := range infos {
			if t := find(in.Targets, name); t != nil {
				addCounts(&c, t.SinceStart)
				s.p99[name] = max(s.p99[name], t.LatencyMs.P99)
			}
		}
		s.counts[name] = c
	}
	return s
}

// trimSamples keeps what the longest window needs, and the first sample (the step's start).
func trimSamples(s []sample, now time.Time, aborts []Abort) []sample {
	var longest time.Duration
	for _, a := range aborts {
		longest = max(longest, a.Over.D())
	}
	i := 1
	for i < len(s)-1 && now.Sub(s[i+1].at) >= longest {
		i++
	}
	if i <= 1 {
		return s
	}
	return append(s[:1], s[i:]...)
}

// haltedBy says who halted the suite, when one of the probes or the peers they show is.
func haltedBy(infos []pinger.Info) string {
	for _, in := range infos {
		if in.Halt.Halted {
			since := ""
			if in.Halt.Since != nil {
				since = " since " + in.Halt.Since.Format(time.TimeOnly)
			}
			return "the suite was halted (" + strings.Join(in.Halt.By, ", ") + since + "): POST /resume lifts it"
		}
	}
	return ""
}

// breach is the first abort condition that holds now, described; empty when none does.
func (r *runner) breach(samples []sample, names []string) string {
	now := samples[len(samples)-1]
	for _, a := range r.plan.Abort {
		for _, name := range names {
			if a.Target != "" && a.Target != name {
				continue
			}
			if a.P99Above != 0 {
				c := now.counts[name]
				if c.Requests >= a.MinRequests && now.p99[name] > float64(a.P99Above.D())/float64(time.Millisecond) {
					return fmt.Sprintf("%s: p99 of the phase so far %.1f ms > %s (%d requests)", name, now.p99[name], a.P99Above.D(), c.Requests)
				}
				continue
			}
			// The window starts at the latest sample at least `over` old, or the step's start.
			base := samples[0]
			for _, s := range samples {
				if now.at.Sub(s.at) >= a.Over.D() {
					base = s
				}
			}
			c, b := now.counts[name], base.counts[name]
			n := c.Requests - b.Requests
			if n < a.MinRequests || n == 0 {
				continue
			}
			window := now.at.Sub(base.at).Round(time.Second)
			if a.AvailabilityBelow != nil {
				v := float64(c.Succeeded-b.Succeeded) / float64(n)
				if v < *a.AvailabilityBelow {
					return fmt.Sprintf("%s: availability over the last %s %s < %s (%d requests)", name, window, pctf4(v), pctf(*a.AvailabilityBelow), n)
				}
			}
			if a.FirstAttemptAvailabilityBelow != nil {
				v := float64(n-(c.FirstAttemptFailed-b.FirstAttemptFailed)) / float64(n)
				if v < *a.FirstAttemptAvailabilityBelow {
					return fmt.Sprintf("%s: first-attempt availability over the last %s %s < %s (%d requests)", name, window, pctf4(v), pctf(*a.FirstAttemptAvailabilityBelow), n)
				}
			}
		}
	}
	return ""
}

func pctf4(v float64) string { return fmt.Sprintf("%.4f %%", v*100) }

// loadText says each target's load of a step, in name order.
func loadText(l map[string]Load) string {
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(l)) {
		v := l[name]
		if v.QPS > 0 {
			parts = append(parts, fmt.Sprintf("%s at %g QPS", name, v.QPS))
		} else {
			parts = append(parts, fmt.Sprintf("%s from %g to %g QPS over %s", name, v.From, v.To, v.Over.D()))
		}
	}
	return strings.Join(parts, ", ")
}

func chaosText(c Chaos) string {
	if c.None() {
		return "no chaos"
	}
	var parts []string
	if k := c.Kill; k != nil {
		s := "kills"
		if len(k.Methods) > 0 {
			s += " by " + strings.Join(k.Methods, ",")
		}
		if k.Interval != 0 {
			s += " every " + k.Interval.D().String()
		}
		if len(k.Methods) == 0 && k.Interval == 0 {
			s += " as the reaper is set"
		}
		parts = append(parts, s)
	}
	if u := c.Upgrade; u != nil {
		s := "upgrades"
		if len(u.Types) > 0 {
			s += " " + strings.Join(u.Types, ",")
		}
		if u.Interval != 0 {
			s += " every " + u.Interval.D().String()
		}
		if len(u.Types) == 0 && u.Interval == 0 {
			s += " as the helmsman is set"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " and ")
}
