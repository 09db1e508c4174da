// Package emulate is a multi-servo load generator: many apps cycling through the OCO servo
// protocol against a backend, evenly paced, with a progress line and a summary.
package emulate

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"chaossuite.dev/shared/service"
)

// Options are the command line of `voracious emulate`.
type Options struct {
	URL           string
	Account       string
	Apps          int
	AppFormat     string
	Duration      time.Duration
	Cycles        int
	ProgressSteps int
	Concurrency   int
	ReportEvery   time.Duration
	Timeout       time.Duration
}

const usage = "usage: voracious emulate --url URL [--apps 5000] [--duration 60s] [--cycles 0] [--account a] [--progress-steps 3] [--concurrency 64] [--app-format app%05d] [--report-every 5s] [--timeout 10s]"

// Parse reads the command line.
func Parse(args []string, stderr io.Writer) (Options, error) {
	var o Options
	fs := flag.NewFlagSet("emulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.URL, "url", "", "voracious base URL, such as http://127.0.0.1:8080 (required)")
	fs.StringVar(&o.Account, "account", "a", "account every app belongs to")
	fs.IntVar(&o.Apps, "apps", 5000, "servos (apps) to emulate, 1 to 1000000")
	fs.StringVar(&o.AppFormat, "app-format", "app%05d", "app name format, one integer verb")
	fs.DurationVar(&o.Duration, "duration", 60*time.Second, "how long to run; the last round of requests then completes so that every app made as many")
	fs.IntVar(&o.Cycles, "cycles", 0, "stop once every app completed this many cycles (0: run for --duration); --duration still bounds the run")
	fs.IntVar(&o.ProgressSteps, "progress-steps", 3, "progress events per measure and per adjust, 0 to 100")
	fs.IntVar(&o.Concurrency, "concurrency", 64, "requests in flight at most (workers), 1 to 10000")
	fs.DurationVar(&o.ReportEvery, "report-every", 5*time.Second, "interval of the progress line on stderr")
	fs.DurationVar(&o.Timeout, "timeout", 10*time.Second, "timeout of one request")
	if err := fs.Parse(args); err != nil {
		return o, &service.UsageError{Msg: err.Error() + "\n" + usage}
	}
	if fs.NArg() > 0 {
		return o, &service.UsageError{Msg: fmt.Sprintf("unexpected argument %q\n%s", fs.Arg(0), usage)}
	}
	u, err := url.Parse(o.URL)
	switch {
	case o.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return o, &service.UsageError{Msg: fmt.Sprintf("--url %q: want a base URL such as http://127.0.0.1:8080\n%s", o.URL, usage)}
	case o.Apps < 1 || o.Apps > 1_000_000:
		return o, &service.UsageError{Msg: fmt.Sprintf("--apps %d: want 1 to 1000000", o.Apps)}
	case o.Duration <= 0:
		return o, &service.UsageError{Msg: fmt.Sprintf("--duration %s: want a positive duration", o.Duration)}
	case o.Cycles < 0 || o.Cycles > 1_000_000:
		return o, &service.UsageError{Msg: fmt.Sprintf("--cycles %d: want 0 (no count) to 1000000", o.Cycles)}
	case o.ProgressSteps < 0 || o.ProgressSteps > 100:
		return o, &service.UsageError{Msg: fmt.Sprintf("--progress-steps %d: want 0 to 100", o.ProgressSteps)}
	case o.Concurrency < 1 || o.Concurrency > 10000:
		return o, &service.UsageError{Msg: fmt.Sprintf("--concurrency %d: want 1 to 10000", o.Concurrency)}
	case o.ReportEvery <= 0 || o.Timeout <= 0:
		return o, &service.UsageError{Msg: "--report-every and --timeout want positive durations"}
	case o.Account == "" || strings.ContainsAny(o.Account, "/?#"):
		return o, &service.UsageError{Msg: fmt.Sprintf("--account %q: want a non-empty name without / ? #", o.Account)}
	}
	if n := strings.Count(strings.ReplaceAll(o.AppFormat, "%%", ""), "%"); n != 1 || strings.Contains(fmt.Sprintf(o.AppFormat, 0), "%!") {
		return o, &service.UsageError{Msg: fmt.Sprintf("--app-format %q: want one integer verb, such as app%%05d", o.AppFormat)}
	}
	o.URL = strings.TrimRight(o.URL, "/")
	return o, nil
}

// Main runs `voracious emulate`: it fails (exit 1) when any request failed.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := Parse(args, stderr)
	if err != nil {
		return err
	}
	tr := &http.Transport{
		MaxIdleConns: o.Concurrency, MaxIdleConnsPerHost: o.Concurrency, MaxConnsPerHost: o.Concurrency,
		IdleConnTimeout: 30 * time.Second,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: o.Timeout}
	fmt.Fprintf(stderr, "emulating %d servos against %s for %s (%d in flight, %d progress steps)\n",
		o.Apps, o.URL, o.Duration, o.Concurrency, o.ProgressSteps)
	sum, err := Run(ctx, o, client, stderr)
	if err != nil {
		return err
	}
	sum.Print(stdout)
	if sum.Errors > 0 {
		return &service.ExitError{Code: 1, Err: fmt.Errorf("%d of %d requests failed", sum.Errors, sum.Requests)}
	}
	if ctx.Err() != nil {
		return &service.ExitError{Code: 1, Err: errors.New("interrupted before the end")}
	}
	return nil
}
