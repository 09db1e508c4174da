package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"chaossuite.dev/pinger/internal/pinger"
	"chaossuite.dev/shared/auth"
	"chaossuite.dev/shared/service"
)

// experiment runs one chaos experiment against a running pinger: start everything, wait with
// a progress line, stop, save the report, and fail when an SLO is missed.
func experiment(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("pinger experiment", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://127.0.0.1:8002", "the pinger's base URL")
	duration := fs.Duration("duration", 5*time.Minute, "how long the experiment runs")
	minAvail := fs.Float64("min-availability", 0.999, "lowest acceptable success rate of the target")
	maxP99 := fs.Duration("max-p99", 500*time.Millisecond, "highest acceptable p99 latency of the target")
	out := fs.String("out", "reports", "directory for report.json and report.html")
	target := fs.String("target", "receiver", "the target the SLOs apply to")
	every := fs.Duration("progress", 10*time.Second, "how often to print progress")
	token := fs.String("token", getenv("AUTH_TOKEN"), "bearer token (default: AUTH_TOKEN)")
	if err := fs.Parse(args); err != nil {
		return &service.UsageError{Msg: err.Error()}
	}
	if *duration <= 0 || !(*minAvail >= 0 && *minAvail <= 1) || *maxP99 <= 0 || *every <= 0 { // NaN is in no range
		return &service.UsageError{Msg: "experiment: --duration, --max-p99 and --progress must be positive and --min-availability within 0..1"}
	}
	base := strings.TrimRight(*url, "/")
	c := &client{base: base, token: *token, http: &http.Client{}}

	// The verdict covers the experiment's own window: pingers already running (AUTOSTART)
	// are restarted, which begins a new since-start period; the reaper and the helmsman go on.
	var before pinger.Info
	if err := c.call(ctx, http.MethodGet, "/info", &before); err != nil {
		return fmt.Errorf("reaching the pinger: %w", err)
	}
	if before.Running {
		if err := c.call(ctx, http.MethodPost, "/stop-pingers", nil); err != nil {
			return fmt.Errorf("restarting the pingers: %w", err)
		}
	}
	if err := c.call(ctx, http.MethodPost, "/start", nil); err != nil {
		return fmt.Errorf("starting the experiment: %w", err)
	}
	fmt.Fprintf(stderr, "experiment: started on %s for %s (target %s, SLO availability >= %.4f %%, p99 <= %s)\n",
		base, *duration, *target, *minAvail*100, *maxP99)
	start := time.Now()
	deadline := start.Add(*duration)
	ticker := time.NewTicker(*every)
	defer ticker.Stop()
	interrupted := false
wait:
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			interrupted = true
			break wait
		case <-time.After(time.Until(deadline)):
			break wait
		case <-ticker.C:
			var info pinger.Info
			if err := c.call(ctx, http.MethodGet, "/info", &info); err != nil {
				fmt.Fprintf(stderr, "experiment: %s elapsed: /info failed: %v\n", time.Since(start).Round(time.Second), err)
				continue
			}
			if t := find(info.Targets, *target); t != nil {
				fmt.Fprintf(stderr, "experiment: %s/%s  %s: %d requests, availability %s, p99 %.1f ms, pending %d\n",
					time.Since(start).Round(time.Second), *duration, t.Name, t.SinceStart.Requests,
					pct(pinger.Ratio(t.SinceStart.Succeeded, t.SinceStart.Requests)), t.LatencyMs.P99, t.Pending)
			}
		}
	}
	stopCtx := context.WithoutCancel(ctx)
	if err := c.call(stopCtx, http.MethodPost, "/stop", nil); err != nil {
		fmt.Fprintf(stderr, "experiment: stopping: %v\n", err)
	}
	var rep pinger.Report
	if err := c.call(stopCtx, http.MethodGet, "/report.json", &rep); err != nil {
		return fmt.Errorf("fetching the report: %w", err)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	data, _ := json.MarshalIndent(rep, "", "  ")
	if err := os.WriteFile(filepath.Join(*out, "report.json"), data, 0o644); err != nil {
		return err
	}
	page, err := pinger.RenderHTML(rep)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*out, "report.html"), page, 0o644); err != nil {
		return err
	}

	var t *pinger.TargetInfo
	var tr *pinger.TargetReport
	for i := range rep.Targets {
		if rep.Targets[i].Name == *target {
			tr = &rep.Targets[i]
			t = &tr.TargetInfo
		}
	}
	if t == nil {
		return &service.ExitError{Code: 1, Err: fmt.Errorf("experiment: the pinger has no target %q", *target)}
	}
	w := t.SinceStart
	avail := pinger.Ratio(w.Succeeded, w.Requests)
	p99 := time.Duration(t.LatencyMs.P99 * float64(time.Millisecond))
	fmt.Fprintf(stdout, "target %s: %d requests, %d failed, %d dropped, availability %s (first attempt %s), p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
		t.Name, w.Requests, w.Failed, w.Dropped, pct(avail), pct(pinger.Ratio(w.Requests-w.FirstAttemptFailed, w.Requests)),
		t.LatencyMs.P50, t.LatencyMs.P99, t.LatencyMs.Max)
	printBreakdown(stdout, tr)
	fmt.Fprintf(stdout, "report: %s, %s\n", filepath.Join(*out, "report.html"), filepath.Join(*out, "report.json"))
	var missed []string
	if avail == nil || *avail < *minAvail {
		missed = append(missed, fmt.Sprintf("availability %s < %.4f %%", pct(avail), *minAvail*100))
	}
	if p99 > *maxP99 {
		missed = append(missed, fmt.Sprintf("p99 %s > %s", p99.Round(time.Millisecond), *maxP99))
	}
	if interrupted {
		missed = append(missed, "interrupted before its end")
	}
	if len(missed) > 0 {
		fmt.Fprintln(stdout, "verdict: FAIL")
		return &service.ExitError{Code: 1, Err: errors.New("SLO missed: " + strings.Join(missed, "; "))}
	}
	fmt.Fprintln(stdout, "verdict: PASS")
	return nil
}

// printBreakdown prints the target's traffic by replica and the impact of each kind of chaos
// event, the lines a reader needs to trust the verdict.
func printBreakdown(w io.Writer, tr *pinger.TargetReport) {
	for _, r := range tr.Replicas {
		nodes := ""
		if len(r.Nodes) > 0 {
			nodes = " (" + strings.Join(r.Nodes, ", ") + ")"
		}
		fmt.Fprintf(w, "  replica %s%s: %d requests, share %.1f %%, first-attempt failures %d, failed %d, p99 %.1f ms\n",
			r.Replica, nodes, r.Requests, r.Share*100, r.FirstAttemptFailed, r.Failed, r.P99Ms)
	}
	for _, s := range tr.Impact.Summary {
		recovery := "n/a"
		if s.SecondsMean != nil {
			recovery = fmt.Sprintf("mean %.1f s, max %.1f s", *s.SecondsMean, *s.SecondsMax)
		}
		fmt.Fprintf(w, "  impact %s %s: %d events, %d first-attempt failures (per event mean %.1f, max %d), %d failed, recovery %s\n",
			s.Kind, s.Type, s.Events, s.FirstAttemptFailures, s.PerEventMean, s.PerEventMax, s.Failures, recovery)
	}
	u := tr.Impact.Unexplained
	fmt.Fprintf(w, "  unexplained: %d first-attempt failures, %d failed\n", u.FirstAttemptFailures, u.Failures)
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

type client struct {
	base, token string
	http        *http.Client
}

func (c *client) call(ctx context.Context, method, path string, out any) error {
	limit := 15 * time.Second
	if method == http.MethodPost {
		limit = pinger.PostTimeout + 15*time.Second // a stop waits for an upgrade under way
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, nil)
	if err != nil {
		return err
	}
	auth.SetBearer(req, c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s answered %d: %s", method, path, resp.StatusCode, strings.TrimSpace(string(data)))
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}
