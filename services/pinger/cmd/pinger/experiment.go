package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"gopkg.in/yaml.v3"

	"chaossuite.dev/pinger/internal/pinger"
	"chaossuite.dev/shared/service"
)

// Exit statuses of an experiment beyond 0 (PASS) and 2 (usage).
const (
	exitFail    = 1
	exitAborted = 3
)

// experiment runs a plan (--plan FILE, or the one-phase plan the flags describe) against one
// or more running pingers: the phases in order, a progress line now and then, the abort
// conditions watched; then it writes the report, keeps it in the history and judges.
func experiment(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("pinger experiment", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var urls listFlag
	fs.Var(&urls, "url", "a pinger's base URL; repeat it (or separate with commas) to drive several; it wins over the plan's pingers (default http://127.0.0.1:8002)")
	planFile := fs.String("plan", "", "the plan to run (YAML, see deploy/plans/example.yaml); without it the flags below make a one-phase plan")
	duration := fs.Duration("duration", 5*time.Minute, "how long the experiment runs (without --plan)")
	minAvail := fs.Float64("min-availability", 0.999, "lowest acceptable success rate of the target (without --plan)")
	maxP99 := fs.Duration("max-p99", 500*time.Millisecond, "highest acceptable p99 latency of the target (without --plan)")
	target := fs.String("target", "receiver", "the target the SLOs apply to (without --plan)")
	out := fs.String("out", "reports", "directory for report.json, report.html and the history")
	every := fs.Duration("progress", 10*time.Second, "how often to print progress")
	token := fs.String("token", getenv("AUTH_TOKEN"), "bearer token (default: AUTH_TOKEN)")
	if err := fs.Parse(args); err != nil {
		return &service.UsageError{Msg: err.Error()}
	}
	if fs.NArg() > 0 {
		return &service.UsageError{Msg: "experiment: unexpected argument " + fs.Arg(0)}
	}
	if *every <= 0 {
		return &service.UsageError{Msg: "experiment: --progress must be positive"}
	}
	var plan *Plan
	var planText []byte
	single := *planFile == ""
	if single {
		if *duration <= 0 || !(*minAvail >= 0 && *minAvail <= 1) || *maxP99 <= 0 { // NaN is in no range
			return &service.UsageError{Msg: "experiment: --duration, --max-p99 and --progress must be positive and --min-availability within 0..1"}
		}
		plan = flagPlan(*target, *duration, *minAvail, *maxP99)
		planText, _ = yaml.Marshal(plan)
	} else {
		var misplaced []string
		fs.Visit(func(f *flag.Flag) {
			if slices.Contains([]string{"duration", "min-availability", "max-p99", "target"}, f.Name) {
				misplaced = append(misplaced, "--"+f.Name)
			}
		})
		if len(misplaced) > 0 {
			return &service.UsageError{Msg: "experiment: " + strings.Join(misplaced, ", ") + " belong in the plan with --plan"}
		}
		data, err := os.ReadFile(*planFile)
		if err != nil {
			return &service.UsageError{Msg: "experiment: " + err.Error()}
		}
		if plan, err = ParsePlan(*planFile, data); err != nil {
			return &service.UsageError{Msg: err.Error()}
		}
		planText = data
	}
	probes, err := resolveProbes(ctx, plan, urls)
	if err != nil {
		return err
	}
	if len(probes) == 0 {
		return errors.New("experiment: no pinger to drive")
	}
	suite := newHTTPSuite(probes, *token, wallClock{}, stderr)
	if err := preflight(ctx, suite, plan); err != nil {
		return err
	}
	if !single {
		fmt.Fprintf(stderr, "experiment: plan %s on %s: %d phases, %s\n", plan.Name, strings.Join(probes, ", "),
			len(plan.Steps()), planLength(plan))
	} else {
		fmt.Fprintf(stderr, "experiment: started on %s for %s (target %s, SLO availability >= %.4f %%, p99 <= %s)\n",
			strings.Join(probes, ", "), *duration, *target, *minAvail*100, *maxP99)
	}
	r := &runner{plan: plan, suite: suite, clock: wallClock{}, progress: *every, log: stderr, single: single}
	rep := r.run(ctx)
	rep.PlanFile = *planFile
	paths, err := writeReports(*out, rep, planText)
	if err != nil {
		return err
	}
	printVerdict(stdout, rep, single)
	fmt.Fprintf(stdout, "report: %s, %s (kept as %s)\n", paths.html, paths.json, paths.history)
	fmt.Fprintln(stdout, "verdict: "+rep.Verdict)
	switch rep.Verdict {
	case VerdictAborted:
		return &service.ExitError{Code: exitAborted, Err: errors.New("ABORTED: " + strings.Join(rep.Reasons, "; "))}
	case VerdictFail:
		return &service.ExitError{Code: exitFail, Err: errors.New("SLO missed: " + strings.Join(rep.Reasons, "; "))}
	}
	return nil
}

// preflight refuses to start against a halted suite, or when a target the plan judges is not
// on every pinger.
func preflight(ctx context.Context, s Suite, p *Plan) error {
	infos, err := s.Infos(ctx)
	if err != nil {
		return fmt.Errorf("reaching the pinger: %w", err)
	}
	if h := haltedBy(infos); h != "" {
		return &service.ExitError{Code: exitFail, Err: errors.New("experiment: refusing to start: " + h)}
	}
	probes := s.Probes()
	for i, in := range infos {
		for _, t := range p.Targets {
			if t.URL == "" && find(in.Targets, t.Name) == nil {
				var have []string
				for _, x := range in.Targets {
					have = append(have, x.Name)
				}
				return &service.ExitError{Code: exitFail, Err: fmt.Errorf("experiment: the pinger %s has no target %q (it has %s)",
					probes[i], t.Name, strings.Join(have, ", "))}
			}
		}
	}
	return nil
}

func planLength(p *Plan) time.Duration {
	var d time.Duration
	for _, s := range p.Steps() {
		d += s.Duration
	}
	return d
}

// printVerdict prints each phase's figures: the one-phase form as it always has, a plan as a
// table with the baseline beside each phase.
func printVerdict(w io.Writer, rep *PlanReport, single bool) {
	if single {
		for _, ph := range rep.Phases {
			for i := range ph.Targets {
				t := &ph.Targets[i]
				printTarget(w, "", t)
				printBreakdown(w, ph, t)
				printWarnings(w, t)
			}
		}
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "phase\ttarget\trequests\tfirst attempt [95 % CI]\tafter retries [95 % CI]\tp99\tvs baseline\tSLO")
	for _, ph := range rep.Phases {
		for _, t := range ph.Targets {
			vs := "-"
			if d := t.Baseline; d != nil {
				vs = fmt.Sprintf("%s / %s pts, p99 %+.1f ms", signed(d.FirstAttemptPoints), signed(d.AvailabilityPoints), d.P99Ms)
			}
			verdict := "pass"
			if !t.Pass {
				verdict = "FAIL"
			}
			if ph.Aborted {
				verdict = "ABORTED"
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%.1f ms\t%s\t%s\n", ph.Name, t.Name, t.Counts.Requests, shareText(t.FirstAttempt),
				shareText(t.Availability), t.Latency.P99, vs, verdict)
		}
	}
	_ = tw.Flush()
	for _, ph := range rep.Phases {
		for i := range ph.Targets {
			t := &ph.Targets[i]
			printTarget(w, "phase "+ph.Name+": ", t)
			printBreakdown(w, ph, t)
			printWarnings(w, t)
		}
		for _, e := range ph.Errors {
			fmt.Fprintf(w, "  error: %s\n", e)
		}
	}
	if rep.Abort != nil {
		fmt.Fprintf(w, "ABORTED in %s at %s: %s\n", rep.Abort.Phase, rep.Abort.At.Format(time.RFC3339), rep.Abort.Condition)
	}
}

func printTarget(w io.Writer, prefix string, t *TargetResult) {
	c := t.Counts
	fmt.Fprintf(w, "%starget %s: %d requests, %d failed, %d dropped, availability %s (first attempt %s), p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
		prefix, t.Name, c.Requests, c.Failed, c.Dropped, pct(t.Availability.Value), pct(t.FirstAttempt.Value),
		t.Latency.P50, t.Latency.P99, t.Latency.Max)
	if len(t.ByProbe) > 1 {
		for _, p := range t.ByProbe {
			fmt.Fprintf(w, "  probe %s: %d requests, %d first-attempt failures, %d failed, p99 %.1f ms\n",
				p.URL, p.Counts.Requests, p.Counts.FirstAttemptFailed, p.Counts.Failed, p.Latency.P99)
		}
	}
}

func printWarnings(w io.Writer, t *TargetResult) {
	for _, s := range t.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", s)
	}
}

// printBreakdown prints the target's traffic by replica (per probe) and the impact of each
// kind of chaos event, the lines a reader needs to trust the verdict.
func printBreakdown(w io.Writer, ph StepResult, t *TargetResult) {
	for _, pr := range ph.Reports {
		tr := findReport(pr.Report.Targets, t.Name)
		if tr == nil {
			continue
		}
		probe := ""
		if len(ph.Reports) > 1 {
			probe = " from " + pr.URL
		}
		for _, r := range tr.Replicas {
			nodes := ""
			if len(r.Nodes) > 0 {
				nodes = " (" + strings.Join(r.Nodes, ", ") + ")"
			}
			fmt.Fprintf(w, "  replica %s%s%s: %d requests, share %.1f %%, first-attempt failures %d, failed %d, p99 %.1f ms\n",
				r.Replica, nodes, probe, r.Requests, r.Share*100, r.FirstAttemptFailed, r.Failed, r.P99Ms)
		}
	}
	for _, s := range t.Impact {
		recovery := "n/a"
		if s.SecondsMean != nil {
			recovery = fmt.Sprintf("mean %.1f s, max %.1f s", *s.SecondsMean, *s.SecondsMax)
		}
		fmt.Fprintf(w, "  impact %s %s: %d events, %d first-attempt failures (per event mean %.1f, max %d), %d failed, recovery %s\n",
			s.Kind, s.Type, s.Events, s.FirstAttemptFailures, s.PerEventMean, s.PerEventMax, s.Failures, recovery)
	}
	var unexplainedFailed uint64
	for _, pr := range ph.Reports {
		if tr := findReport(pr.Report.Targets, t.Name); tr != nil {
			unexplainedFailed += tr.Impact.Unexplained.Failures
		}
	}
	fmt.Fprintf(w, "  unexplained: %d first-attempt failures, %d failed\n", t.Unexplained, unexplainedFailed)
}

func shareText(s Share) string {
	if s.Value == nil {
		return "n/a"
	}
	if s.CI == nil {
		return pct(s.Value)
	}
	return fmt.Sprintf("%s [%.3f, %.3f]", pct(s.Value), s.CI.Low*100, s.CI.High*100)
}

func signed(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return fmt.Sprintf("%+.3f", *v)
}

func find(ts []pinger.TargetInfo, name string) *pinger.TargetInfo {
	for i := range ts {
		if ts[i].Name == name {
			return &ts[i]
		}
	}
	return nil
}

func pct(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.4f %%", *v*100)
}

// listFlag is a flag given several times, or once with commas.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}
