package pinger

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"chaossuite.dev/shared/auth"
	"chaossuite.dev/shared/control"
	"chaossuite.dev/shared/httpclient"
	"chaossuite.dev/shared/lever"
)

// Options build a Pinger.
type Options struct {
	Targets       []Target
	Network       Network
	Token         string // sent to the targets that take the suite's token
	Policy        httpclient.Policy
	Timeout       time.Duration
	PendingFactor float64
	Metrics       *Metrics
	Logger        *slog.Logger
	Clock         Clock
	Reaper        *Peer
	Helmsman      *Peer
	Nodekiller    *Peer        // its kill record is the truth the impact table attributes failures by
	Lever         *lever.Lever // nil: a lever of its own, unregistered
}

// Pinger probes its targets and drives the reaper and the helmsman.
type Pinger struct {
	targets    []*probe
	loop       *control.Loop
	reaper     *Peer
	helmsman   *Peer
	nodekiller *Peer
	metrics    *Metrics
	clock      Clock
	log        *slog.Logger
	startedAt  time.Time
	opts       Options
	targetsMu  sync.RWMutex // guards targets, which a plan may replace while the pingers are stopped
	lever      *lever.Lever
	token      auth.Token
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
	if o.Lever == nil {
		o.Lever = lever.New(prometheus.NewRegistry())
	}
	p := &Pinger{lever: o.Lever, token: auth.NewToken(o.Token), reaper: o.Reaper, helmsman: o.Helmsman, nodekiller: o.Nodekiller, metrics: o.Metrics, clock: o.Clock, log: o.Logger, startedAt: o.Clock.Now(), opts: o}
	for _, t := range o.Targets {
		p.targets = append(p.targets, p.newProbe(t))
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
	targets := p.probes()
	for _, t := range targets {
		wg.Go(func() { t.attacker.Run(ctx) })
	}
	wg.Go(func() { p.exportImpact(ctx) })
	p.log.Info("pingers started", "targets", len(targets))
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
	Rate    float64 `json:"rate"` // now: QPS, or what a plan set
	Pending int64   `json:"pending"`
	Cap     int     `json:"pending_cap"`
	// Connection is how requests reach the replicas; Addresses those they are spread over now.
	Connection ConnectionMode `json:"connection"`
	Addresses  []string       `json:"addresses,omitempty"`
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
	Halt      SuiteHalt    `json:"halt"`
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
	wg.Go(func() { info.Halt = p.haltState(ctx) })
	now := p.clock.Now()
	for _, t := range p.probes() {
		info.Targets = append(info.Targets, TargetInfo{
			Name: t.target.Name, URL: RedactURL(t.target.URL), Method: t.target.Method, QPS: t.target.QPS,
			Rate: t.rate(now), Pending: t.attacker.Pending(), Cap: t.attacker.Limit(), Connection: t.target.Connection,
			Addresses: t.attacker.Sender.conn.Addresses(), Stats: t.recorder.Stats(now, running),
		})
	}
	wg.Wait()
	return info
}

// impactEvery is how often the failures-per-event gauges are brought up to date.
const impactEvery = 15 * time.Second

// exportImpact keeps pinger_event_failures current while the pingers run: the first-attempt
// failures since their start attributed to each type of chaos event, and the unexplained ones.
func (p *Pinger) exportImpact(ctx context.Context) {
	if !p.nodekiller.configured() && !p.reaper.configured() && !p.helmsman.configured() {
		return
	}
	t := time.NewTicker(impactEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := p.clock.Now()
		events, _ := p.Events(ctx, now.Add(-windowSeconds*time.Second), now)
		for _, pr := range p.probes() {
			from, to := pr.recorder.Window(now)
			failures, _ := pr.recorder.Failures(from, to)
			imp := Attribute(failures, events, pr.recorder.ReplicaNodes(), nil, to)
			byLabel := map[string]float64{"unexplained": float64(imp.Unexplained.FirstAttemptFailures)}
			for _, s := range imp.Summary {
				byLabel[eventLabel(s.Kind, s.Type)] += float64(s.FirstAttemptFailures)
			}
			p.metrics.eventFailures.DeletePartialMatch(prometheus.Labels{"target": pr.target.Name})
			for label, n := range byLabel {
				p.metrics.eventFailures.WithLabelValues(pr.target.Name, label).Set(n)
			}
		}
	}
}
