package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"chaossuite.dev/shared/service"
)

// compare prints the deltas of two runs per phase and target and exits 1 when NEW is worse
// than OLD beyond the tolerances: for CI, where each run is compared with the last good one.
func compare(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("pinger compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	availDrop := fs.Float64("max-availability-drop", 0.1, "largest drop of availability after retries, in percentage points")
	firstDrop := fs.Float64("max-first-attempt-drop", 0.5, "largest drop of first-attempt availability, in percentage points")
	p99Rise := fs.String("max-p99-increase", "20%", "largest rise of p99: a share (20%) or a duration (50ms)")
	p99Slack := fs.Duration("p99-slack", 5*time.Millisecond, "a p99 rise under this is never judged (noise)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: pinger compare [flags] OLD NEW  (each a report.json or a history folder)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return &service.UsageError{Msg: err.Error()}
	}
	if fs.NArg() != 2 {
		return &service.UsageError{Msg: "compare: want OLD and NEW, each a report.json or a history folder"}
	}
	rise, err := parseRise(*p99Rise)
	if err != nil || *availDrop < 0 || *firstDrop < 0 {
		return &service.UsageError{Msg: "compare: --max-p99-increase wants a share such as 20% or a duration such as 50ms, the drops 0 or more"}
	}
	old, err := loadReport(fs.Arg(0))
	if err != nil {
		return &service.UsageError{Msg: "compare: " + err.Error()}
	}
	cur, err := loadReport(fs.Arg(1))
	if err != nil {
		return &service.UsageError{Msg: "compare: " + err.Error()}
	}
	worse := compareReports(stdout, old, cur, tolerances{avail: *availDrop, first: *firstDrop, p99: rise, slack: *p99Slack})
	if len(worse) > 0 {
		fmt.Fprintf(stdout, "compare: WORSE: %s\n", strings.Join(worse, "; "))
		return &service.ExitError{Code: 1, Err: fmt.Errorf("NEW is worse than OLD beyond the tolerances: %d findings", len(worse))}
	}
	fmt.Fprintln(stdout, "compare: OK: NEW is within the tolerances of OLD")
	return nil
}

type tolerances struct {
	avail, first float64 // points
	p99          p99Rise
	slack        time.Duration
}

// p99Rise is a relative (Share) or absolute (Abs) bound on a p99's rise.
type p99Rise struct {
	Share float64
	Abs   time.Duration
}

func parseRise(s string) (p99Rise, error) {
	if v, ok := strings.CutSuffix(s, "%"); ok {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 {
			return p99Rise{}, fmt.Errorf("bad share %q", s)
		}
		return p99Rise{Share: f / 100}, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return p99Rise{}, fmt.Errorf("bad duration %q", s)
	}
	return p99Rise{Abs: d}, nil
}

// compareReports prints the table and returns what is worse beyond the tolerances.
func compareReports(w io.Writer, old, cur *PlanReport, tol tolerances) []string {
	var worse []string
	fmt.Fprintf(w, "OLD %s %s (%s)\nNEW %s %s (%s)\n", old.Plan, old.StartedAt.Format(time.RFC3339), old.Verdict,
		cur.Plan, cur.StartedAt.Format(time.RFC3339), cur.Verdict)
	if old.Plan != cur.Plan {
		fmt.Fprintf(w, "note: the plans differ (%s, %s): phases are matched by name\n", old.Plan, cur.Plan)
	}
	if cur.Verdict == VerdictAborted && old.Verdict != VerdictAborted {
		worse = append(worse, "NEW was aborted: "+strings.Join(cur.Reasons, "; "))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "phase\ttarget\tfirst attempt OLD → NEW\tΔ pts\tafter retries OLD → NEW\tΔ pts\tp99 OLD → NEW ms\tΔ\t")
	for _, ph := range cur.Phases {
		op := findPhase(old.Phases, ph.Name)
		if op == nil {
			fmt.Fprintf(tw, "%s\t\t(not in OLD)\t\t\t\t\t\t\n", ph.Name)
			continue
		}
		for i := range ph.Targets {
			t := &ph.Targets[i]
			o := findResult(op.Targets, t.Name)
			if o == nil {
				fmt.Fprintf(tw, "%s\t%s\t(not in OLD)\t\t\t\t\t\t\n", ph.Name, t.Name)
				continue
			}
			d := delta("OLD", t, o)
			var flags []string
			if d.FirstAttemptPoints != nil && -*d.FirstAttemptPoints > tol.first {
				flags = append(flags, "first attempt")
				worse = append(worse, fmt.Sprintf("%s %s: first-attempt availability %s → %s (%+.3f pts, tolerance %.3f)",
					ph.Name, t.Name, pct(o.FirstAttempt.Value), pct(t.FirstAttempt.Value), *d.FirstAttemptPoints, tol.first))
			}
			if d.AvailabilityPoints != nil && -*d.AvailabilityPoints > tol.avail {
				flags = append(flags, "availability")
				worse = append(worse, fmt.Sprintf("%s %s: availability %s → %s (%+.3f pts, tolerance %.3f)",
					ph.Name, t.Name, pct(o.Availability.Value), pct(t.Availability.Value), *d.AvailabilityPoints, tol.avail))
			}
			if rise := time.Duration(d.P99Ms * float64(time.Millisecond)); rise > tol.slack {
				bound := tol.p99.Abs
				if tol.p99.Abs == 0 {
					bound = time.Duration(o.Latency.P99 * tol.p99.Share * float64(time.Millisecond))
				}
				if rise > bound {
					flags = append(flags, "p99")
					worse = append(worse, fmt.Sprintf("%s %s: p99 %.1f → %.1f ms (+%s, tolerance %s)",
						ph.Name, t.Name, o.Latency.P99, t.Latency.P99, rise.Round(time.Millisecond/10), bound.Round(time.Millisecond/10)))
				}
			}
			mark := ""
			if len(flags) > 0 {
				mark = "WORSE: " + strings.Join(flags, ", ")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s → %s\t%s\t%s → %s\t%s\t%.1f → %.1f\t%+.1f\t%s\n", ph.Name, t.Name,
				pct(o.FirstAttempt.Value), pct(t.FirstAttempt.Value), signed(d.FirstAttemptPoints),
				pct(o.Availability.Value), pct(t.Availability.Value), signed(d.AvailabilityPoints),
				o.Latency.P99, t.Latency.P99, d.P99Ms, mark)
		}
	}
	for _, op := range old.Phases {
		if findPhase(cur.Phases, op.Name) == nil {
			fmt.Fprintf(tw, "%s\t\t(not in NEW)\t\t\t\t\t\t\n", op.Name)
			if cur.Verdict != VerdictAborted {
				worse = append(worse, op.Name+": in OLD, not run in NEW")
			}
		}
	}
	_ = tw.Flush()
	return worse
}
