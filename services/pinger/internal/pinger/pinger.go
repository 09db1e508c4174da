package pinger

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"chaossuite.dev/shared/control"
	"chaossuite.dev/shared/httpclient"
)

// Options build a Pinger.
type Options struct {
	Targets       []Target
	Client        *http.Client
	Token         string
	Policy        httpclient.Policy
	Timeout       time.Duration
	PendingFactor float64
	Metrics       *Metrics
	Logger        *slog.Logger
	Clock         Clock
	Reaper        *Peer
	Helmsman      *Peer
}

// Pinger probes its targets and drives the reaper and the helmsman.
type Pinger struct {
	targets   []*probe
	loop      *control.Loop
	reaper    *Peer
	helmsman  *Peer
	clock     Clock
	log       *slog.Logger
	startedAt time.Time
}

type probe struct {
	target   Target
	attacker *Attacker
	recorder *Recorder
}

// New returns a stopped Pinger whose runs live at most as long as ctx.
func New(ctx context.Context, o Options) *Pinger {
	if o.Clock == nil {
		o.Clock = RealClock{}
	}
	p := &Pinger{reaper: o.Reaper, helmsman: o.Helmsman, clock: o.Clock, log: o.Logger, startedAt: o.Clock.Now()}
	for _, t := range o.Targets {
		rec := newRecorder(o.Metrics.forTarget(t.Name))
		p.targets = append(p.targets, &probe{
			target:   t,
			recorder: rec,
			attacker: &Attacker{
				Sender:   &Sender{Target: t, Client: o.Client, Token: o.Token, Policy: o.Policy, Timeout: o.Timeout, Clock: o.Clock},
				Pacer:    ConstantPacer{Rate: t.QPS},
				Cap:      max(1, int(o.PendingFactor*t.QPS)),
				Recorder: rec,
				Clock:    o.Clock,
			},
		})
	}
	p.loop = control.New(ctx, "pingers", p.run, func(running bool) {
		if running {
			o.Metrics.running.Set(1)
		} else {
			o.Metrics.running.Set(0)
		}
	})
	return p
}

func (p *Pinger) run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, t := range p.targets {
		wg.Go(func() { t.attacker.Run(ctx) })
	}
	p.log.Info("pingers started", "targets", len(p.targets))
	wg.Wait()
	p.log.Info("pingers stopped")
}

// Loop is the pingers' control loop.
func (p *Pinger) Loop() *control.Loop { return p.loop }

// TargetInfo is one target in /info.
type TargetInfo struct {
	Name    string  `json:"name"`
	URL     string  `json:"url"`
	Method  string  `json:"method"`
	QPS     float64 `json:"qps"`
	Pending int64   `json:"pending"`
	Cap     int     `json:"pending_cap"`
	Stats
}

// Info is what GET /info answers.
type Info struct {
	Running   bool         `json:"running"`
	StartedAt *time.Time   `json:"started_at,omitempty"`
	UpSince   time.Time    `json:"up_since"`
	Targets   []TargetInfo `json:"targets"`
	Reaper    PeerState    `json:"reaper"`
	Helmsman  PeerState    `json:"helmsman"`
}

// Info gathers the figures of every target and the peers' own /info.
func (p *Pinger) Info(ctx context.Context) Info {
	running, since := p.loop.Running()
	info := Info{Running: running, UpSince: p.startedAt.UTC()}
	if running {
		s := since.UTC()
		info.StartedAt = &s
	}
	var wg sync.WaitGroup
	wg.Go(func() { info.Reaper = p.reaper.Info(ctx) })
	wg.Go(func() { info.Helmsman = p.helmsman.Info(ctx) })
	now := p.clock.Now()
	for _, t := range p.targets {
		info.Targets = append(info.Targets, TargetInfo{
			Name: t.target.Name, URL: t.target.URL, Method: t.target.Method, QPS: t.target.QPS,
			Pending: t.attacker.Pending(), Cap: t.attacker.Cap, Stats: t.recorder.Stats(now, running),
		})
	}
	wg.Wait()
	return info
}
