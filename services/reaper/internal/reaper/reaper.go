// Package reaper kills nodes on a schedule: every interval, give or take a jitter, it asks the
// receiver to have a node killed, or the nodekiller straight, the methods taken in turn, one
// attempt each.
package reaper

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"chaossuite.dev/shared/lever"
)

// historySize is how many results /info shows.
const historySize = 20

// Reaper sends kill requests on a Schedule. Run is its control loop; the rest is safe for
// concurrent use.
type Reaper struct {
	schedule Schedule
	settings settings
	sender   Sender
	via      string
	clock    Clock
	log      *slog.Logger
	metrics  *Metrics

	mu         sync.Mutex
	running    bool
	startedAt  time.Time
	nextAt     time.Time
	sent       uint64 // kill requests sent in all: the next method is schedule.Method(sent)
	total      map[string]uint64
	sinceStart map[string]uint64
	history    []Result // newest first
}

// Options configure a Reaper.
type Options struct {
	Schedule Schedule
	Sender   Sender
	Via      string // where Sender sends: ViaReceiver or ViaNodekiller, for /info
	Clock    Clock  // nil: the system clock
	Logger   *slog.Logger
	Metrics  *Metrics
	Lever    *lever.Lever // nil: a lever of its own, unregistered
}

// New returns a stopped Reaper.
func New(o Options) *Reaper {
	if o.Clock == nil {
		o.Clock = SystemClock{}
	}
	if o.Lever == nil {
		o.Lever = lever.New(prometheus.NewRegistry())
	}
	return &Reaper{
		settings: newSettings(o.Schedule, o.Lever),
		schedule: o.Schedule, sender: o.Sender, via: o.Via, clock: o.Clock, log: o.Logger, metrics: o.Metrics,
		total: map[string]uint64{}, sinceStart: map[string]uint64{},
	}
}

// Run sends kill requests until ctx is done. A request in flight when ctx ends is let finish
// within its own limit, so that stopping drains.
func (r *Reaper) Run(ctx context.Context) {
	r.mu.Lock()
	r.running, r.startedAt = true, r.clock.Now()
	r.sinceStart = map[string]uint64{}
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.running, r.nextAt = false, time.Time{}
		r.mu.Unlock()
	}()
	for {
		r.mu.Lock()
		d := r.schedule.Delay()
		r.nextAt = r.clock.Now().Add(d)
		method := r.schedule.Method(r.sent)
		r.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-r.clock.After(d):
		case <-r.settings.changed:
			continue // new settings: the next kill is scheduled by them
		}
		res := r.sender.Send(context.WithoutCancel(ctx), method)
		r.record(res)
	}
}

func (r *Reaper) record(res Result) {
	r.mu.Lock()
	methods := r.schedule.Methods
	r.mu.Unlock()
	r.metrics.record(res, methods)
	level := slog.LevelInfo
	if res.Result != ResultOK {
		level = slog.LevelWarn
	}
	r.log.Log(context.Background(), level, "kill request", "method", res.Method, "result", res.Result,
		"status", res.Status, "victim", res.Victim, "error", res.Error)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent++
	r.total[res.Result]++
	r.sinceStart[res.Result]++
	r.history = append([]Result{res}, r.history...)
	if len(r.history) > historySize {
		r.history = r.history[:historySize]
	}
}

// Counts are kill requests by result.
type Counts struct {
	Requests uint64            `json:"requests"`
	ByResult map[string]uint64 `json:"by_result"`
}

func counts(m map[string]uint64) Counts {
	c := Counts{ByResult: map[string]uint64{}}
	for _, r := range Results {
		c.ByResult[r] = m[r]
		c.Requests += m[r]
	}
	return c
}

// Info is what GET /info answers.
type Info struct {
	Running     bool        `json:"running"`
	Via         string      `json:"via,omitempty"` // where kills go: receiver or nodekiller
	StartedAt   *time.Time  `json:"started_at,omitempty"`
	Interval    string      `json:"interval"`
	Jitter      string      `json:"jitter"`
	Methods     []string    `json:"methods"`
	NextKillAt  *time.Time  `json:"next_kill_at"`
	NextMethod  string      `json:"next_method"`
	Total       Counts      `json:"total"`
	SinceStart  Counts      `json:"since_start"`
	LastResults []Result    `json:"last_results"`
	Halt        lever.State `json:"halt"`
}

// Info reports the reaper's state.
func (r *Reaper) Info() Info {
	r.mu.Lock()
	defer r.mu.Unlock()
	info := Info{
		Running:     r.running,
		Via:         r.via,
		Interval:    r.schedule.Interval.String(),
		Jitter:      r.schedule.Jitter.String(),
		NextMethod:  string(r.schedule.Method(r.sent)),
		Total:       counts(r.total),
		SinceStart:  counts(r.sinceStart),
		LastResults: slices.Clone(r.history),
		Halt:        r.settings.lever.State(),
	}
	for _, m := range r.schedule.Methods {
		info.Methods = append(info.Methods, string(m))
	}
	if info.LastResults == nil {
		info.LastResults = []Result{}
	}
	if r.running {
		s := r.startedAt.UTC()
		info.StartedAt = &s
		if !r.nextAt.IsZero() {
			n := r.nextAt.UTC()
			info.NextKillAt = &n
		}
	}
	return info
}
