package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/pinger/internal/pinger"
)

// fakeClock moves on by d whenever something waits for d: a run of hours takes no time.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

// fakeSuite is one or more probes of one target whose figures follow rate and firstFail, each
// a function of the time into the phase.
type fakeSuite struct {
	clock     *fakeClock
	probes    int
	rate      float64                                      // requests a second, per probe
	firstFail func(phase string, at time.Duration) float64 // share of first attempts failing
	haltAt    time.Duration                                // into phase haltPhase: the suite is halted by someone
	haltPhase string

	calls     []string
	phase     string
	started   time.Time
	stoppedAt time.Time
	steps     []Step
	halted    bool
}

func (f *fakeSuite) log(format string, args ...any) {
	f.calls = append(f.calls, fmt.Sprintf("%s %s", f.clock.Now().Format("15:04:05"), fmt.Sprintf(format, args...)))
}

func (f *fakeSuite) Probes() []string {
	var out []string
	for i := range f.probes {
		out = append(out, fmt.Sprintf("http://probe-%d", i))
	}
	return out
}

// counts integrates the figures second by second up to at.
func (f *fakeSuite) counts(at time.Duration) pinger.Counts {
	var c pinger.Counts
	for s := time.Duration(0); s < at; s += time.Second {
		n := uint64(f.rate)
		failed := uint64(f.firstFail(f.phase, s) * float64(n))
		c.Requests += n
		c.Succeeded += n
		c.FirstAttemptFailed += failed
		c.Attempts += n + failed
	}
	return c
}

func (f *fakeSuite) Infos(context.Context) ([]pinger.Info, error) {
	at := f.clock.Now().Sub(f.started)
	var out []pinger.Info
	for range f.probes {
		in := pinger.Info{Running: true, Targets: []pinger.TargetInfo{{Name: "receiver", Stats: pinger.Stats{SinceStart: f.counts(at)}}}}
		if f.haltPhase == f.phase && at >= f.haltAt {
			since := f.clock.Now()
			in.Halt = pinger.SuiteHalt{Halted: true, By: []string{"nodekiller"}, Since: &since}
		}
		out = append(out, in)
	}
	return out, nil
}

func (f *fakeSuite) SetTargets(context.Context, []PlanTarget) error { return nil }
func (f *fakeSuite) SetLoad(_ context.Context, t string, l *Load) error {
	if l == nil {
		f.log("load %s own", t)
	} else {
		f.log("load %s %+v", t, *l)
	}
	return nil
}
func (f *fakeSuite) StartPingers(context.Context) error {
	f.started = f.clock.Now()
	f.log("start pingers")
	return nil
}
func (f *fakeSuite) StopPingers(context.Context) error {
	f.stoppedAt = f.clock.Now()
	f.log("stop pingers")
	return nil
}
func (f *fakeSuite) StartChaos(_ context.Context, c Chaos) error {
	f.log("chaos %s", chaosText(c))
	return nil
}
func (f *fakeSuite) StopChaos(context.Context) error { f.log("stop chaos"); return nil }
func (f *fakeSuite) Halt(context.Context) error      { f.halted = true; f.log("halt"); return nil }
func (f *fakeSuite) Resume(context.Context) error    { f.halted = false; f.log("resume"); return nil }
func (f *fakeSuite) Restore(context.Context)         { f.log("restore") }

func (f *fakeSuite) Reports(context.Context) ([]ProbeReport, error) {
	c := f.counts(f.stoppedAt.Sub(f.started))
	h := pinger.NewLatencyHistogram()
	for range c.Requests {
		_ = h.RecordValue(2000)
	}
	var out []ProbeReport
	for _, u := range f.Probes() {
		out = append(out, ProbeReport{URL: u, Report: pinger.Report{Targets: []pinger.TargetReport{{
			TargetInfo:       pinger.TargetInfo{Name: "receiver", Stats: pinger.Stats{SinceStart: c}},
			LatencyHistogram: pinger.EncodeHistogram(h),
		}}}})
	}
	f.log("reports")
	return out, nil
}

// phaseTracking sets the fake's phase from the chaos it is told, as each step starts.
type phaseTracking struct {
	*fakeSuite
	names []string
	i     int
}

func (p *phaseTracking) StartPingers(ctx context.Context) error {
	p.phase = p.names[p.i]
	p.i++
	return p.fakeSuite.StartPingers(ctx)
}

func runPlan(t *testing.T, planYAML string, f *fakeSuite) (*PlanReport, string) {
	t.Helper()
	p, err := ParsePlan("p.yaml", []byte(planYAML))
	require.NoError(t, err)
	var names []string
	for _, s := range p.Steps() {
		names = append(names, s.Name)
	}
	var log bytes.Buffer
	r := &runner{plan: p, suite: &phaseTracking{fakeSuite: f, names: names}, clock: f.clock, progress: 30 * time.Second, log: &log}
	return r.run(context.Background()), log.String()
}

const threePhases = `
name: three
targets: [{name: receiver, qps: 10}]
slo: {first_attempt_availability: 0.9}
phases:
  - {name: baseline, duration: 60s}
  - name: kills
    duration: 2m
    chaos: {kill: {methods: [stop], interval: 20s}}
    load: {receiver: {qps: 30}}
  - name: upgrades
    duration: 60s
    chaos: {upgrade: {types: [ROLLOUT]}}
`

func newFake(firstFail func(string, time.Duration) float64) *fakeSuite {
	return &fakeSuite{clock: &fakeClock{now: time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)}, probes: 2, rate: 10, firstFail: firstFail}
}

// Phases run in order, each its own window of exactly its length: the load set, the pingers
// started, the chaos started; then the chaos stopped before the pingers, the reports taken.
// Each phase after the baseline is set beside it.
func TestPhasesRunInOrder(t *testing.T) {
	f := newFake(func(phase string, _ time.Duration) float64 {
		if phase == "kills" {
			return 0.1
		}
		return 0
	})
	rep, log := runPlan(t, threePhases, f)
	assert.Equal(t, VerdictPass, rep.Verdict, rep.Reasons)
	assert.Equal(t, []string{
		"10:00:00 load receiver {QPS:10 From:0 To:0 Over:0}",
		"10:00:00 start pingers",
		"10:00:00 chaos no chaos",
		"10:01:00 stop chaos",
		"10:01:00 stop pingers",
		"10:01:00 reports",
		"10:01:00 load receiver {QPS:30 From:0 To:0 Over:0}",
		"10:01:00 start pingers",
		"10:01:00 chaos kills by stop every 20s",
		"10:03:00 stop chaos",
		"10:03:00 stop pingers",
		"10:03:00 reports",
		"10:03:00 load receiver {QPS:10 From:0 To:0 Over:0}",
		"10:03:00 start pingers",
		"10:03:00 chaos upgrades ROLLOUT",
		"10:04:00 stop chaos",
		"10:04:00 stop pingers",
		"10:04:00 reports",
		"10:04:00 restore",
	}, f.calls)
	require.Len(t, rep.Phases, 3)
	for i, want := range []time.Duration{time.Minute, 2 * time.Minute, time.Minute} {
		ph := rep.Phases[i]
		assert.Equal(t, want, ph.To.Sub(ph.From), ph.Name)
		assert.True(t, ph.Pass, ph.Name)
		require.Len(t, ph.Targets, 1)
		assert.EqualValues(t, 2*10*want.Seconds(), ph.Targets[0].Counts.Requests, "two probes' counts add up")
	}
	assert.True(t, rep.Phases[0].Baseline)
	assert.Nil(t, rep.Phases[0].Targets[0].Baseline)
	d := rep.Phases[1].Targets[0].Baseline
	require.NotNil(t, d)
	assert.InDelta(t, -10, *d.FirstAttemptPoints, 1e-9, "kills cost 10 points of first-attempt availability against the baseline")
	assert.InDelta(t, 0, *rep.Phases[2].Targets[0].Baseline.FirstAttemptPoints, 1e-9)
	assert.Contains(t, log, "experiment: kills 30s/2m0s  receiver: 600 requests")
	assert.Nil(t, rep.Abort)
}

const abortPlan = `
name: abort
targets: [{name: receiver}]
abort:
  - {target: receiver, first_attempt_availability_below: 0.9, over: 10s}
phases:
  - {name: baseline, duration: 60s}
  - {name: kills, duration: 2m, chaos: {kill: {}}}
  - {name: after, duration: 60s}
`

// A breach stops the run at once: the chaos halted (and the halt lifted once it has stopped),
// ABORTED with the condition and the moment, the later phases not run.
func TestAbortFiresOnBreach(t *testing.T) {
	f := newFake(func(phase string, at time.Duration) float64 {
		if phase == "kills" && at >= 40*time.Second {
			return 0.5
		}
		return 0
	})
	rep, log := runPlan(t, abortPlan, f)
	assert.Equal(t, VerdictAborted, rep.Verdict)
	require.NotNil(t, rep.Abort)
	assert.Equal(t, "kills", rep.Abort.Phase)
	into := rep.Abort.At.Sub(rep.Phases[1].From)
	// Over the last 10 s the share falls below 90 % once a fifth of the window fails by half.
	assert.Equal(t, 43*time.Second, into, "the first check at which the last 10 s hold under 90 %%")
	assert.Contains(t, rep.Abort.Condition, "receiver: first-attempt availability over the last 10s 85.0000 % < 90 %")
	require.Len(t, rep.Phases, 2, "the phase after the abort does not run")
	assert.True(t, rep.Phases[1].Aborted)
	assert.Equal(t, rep.Phases[1].To, rep.Abort.At, "stopped at once")
	assert.Contains(t, strings.Join(f.calls, "\n"), "10:01:43 halt\n10:01:43 stop chaos\n10:01:43 stop pingers\n10:01:43 reports\n10:01:43 resume")
	assert.False(t, f.halted, "the run lifts the halt it pulled")
	assert.Contains(t, log, "experiment: ABORTED in kills")
	assert.Contains(t, rep.Reasons[0], "aborted in kills")
}

// Failures that stay above the bound never abort.
func TestAbortDoesNotFireWithoutBreach(t *testing.T) {
	f := newFake(func(phase string, at time.Duration) float64 {
		if phase == "kills" && at >= 40*time.Second {
			return 0.08 // 92 %: above 90 %
		}
		return 0
	})
	rep, _ := runPlan(t, abortPlan, f)
	assert.Equal(t, VerdictPass, rep.Verdict, rep.Reasons)
	assert.Nil(t, rep.Abort)
	assert.Len(t, rep.Phases, 3)
	assert.NotContains(t, strings.Join(f.calls, "\n"), "halt")
}

// The abort's window needs min_requests: a single early failure does not fire it.
func TestAbortWaitsForMinRequests(t *testing.T) {
	f := newFake(func(phase string, at time.Duration) float64 { return 0.5 })
	f.rate = 2
	rep, _ := runPlan(t, strings.Replace(abortPlan, "over: 10s}", "over: 10s, min_requests: 40}", 1), f)
	require.NotNil(t, rep.Abort)
	// Two probes at 2 QPS: 40 requests take 10 s.
	assert.Equal(t, 10*time.Second, rep.Abort.At.Sub(rep.Phases[0].From))
}

// A halt pulled by someone else during the run stops it: ABORTED, saying who, and the halt is
// left as it is.
func TestHaltDuringRunAborts(t *testing.T) {
	f := newFake(func(string, time.Duration) float64 { return 0 })
	f.haltPhase, f.haltAt = "kills", 30*time.Second
	rep, _ := runPlan(t, threePhases, f)
	assert.Equal(t, VerdictAborted, rep.Verdict)
	require.NotNil(t, rep.Abort)
	assert.Contains(t, rep.Abort.Condition, "the suite was halted (nodekiller")
	assert.Equal(t, 30*time.Second, rep.Abort.At.Sub(rep.Phases[1].From))
	assert.NotContains(t, strings.Join(f.calls, "\n"), "resume", "a halt the run did not pull stays")
}
