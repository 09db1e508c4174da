// Package nodekiller kills a node when asked: it picks a victim among the eligible nodes by
// policy, acts through the platform's driver, and watches the node come back.
package nodekiller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"chaossuite.dev/shared/chaos"
	"chaossuite.dev/shared/config"
	"chaossuite.dev/shared/lever"
	"chaossuite.dev/shared/receiverapi"
	"chaossuite.dev/shared/web"
)

// historySize is how many kills /info remembers.
const historySize = 100

// Kill is one kill as /info reports it.
type Kill struct {
	At              time.Time `json:"at"`
	Victim          string    `json:"victim,omitempty"`
	Address         string    `json:"address,omitempty"` // where the victim served, so that probes can tell its traffic
	Method          string    `json:"method"`
	Result          string    `json:"result"` // ok, error, rejected, dry_run
	Error           string    `json:"error,omitempty"`
	RecoverySeconds *float64  `json:"recovery_seconds,omitempty"`
	// GoneSeconds is, for a victim that never served again because it ceased to exist (an
	// upgrade replaced it), how long after the kill it was seen gone: the kill's effect on
	// that node ended there.
	GoneSeconds *float64 `json:"gone_seconds,omitempty"`
	id          uint64
}

// Nodekiller carries out kill requests. It is safe for concurrent use.
type Nodekiller struct {
	killer   chaos.Killer
	prober   chaos.Prober     // the killer, telling when a victim serves again; nil: no recovery times
	gone     chaos.GoneProber // the killer, when it can tell a victim that no longer exists; or nil
	selector *chaos.Selector
	dryRun   bool
	log      *slog.Logger
	metrics  *Metrics
	watch    Watch
	lever    *lever.Lever

	killMu sync.Mutex // one kill at a time, so that two never both pass MIN_AVAILABLE

	mu         sync.Mutex
	history    []Kill // oldest first, at most historySize
	nextID     uint64
	recovering map[string]bool // victims not yet seen serving again
	counts     map[string]map[string]int

	ctx context.Context // lives as long as the service; bounds the recovery watches
	wg  sync.WaitGroup
}

// Watch says how a victim's return is watched.
type Watch struct {
	Interval time.Duration // between probes
	DownFor  time.Duration // how long to wait for the victim to go down at all
	Timeout  time.Duration // how long to wait for it to serve again
}

// Options configure a Nodekiller.
type Options struct {
	Killer   chaos.Killer // a chaos.Prober too, or kills record no recovery time
	Selector *chaos.Selector
	DryRun   bool
	Logger   *slog.Logger
	Metrics  *Metrics
	Watch    Watch
	Lever    *lever.Lever // nil: a lever of its own, unregistered
}

// New returns a Nodekiller whose recovery watches end with ctx. Call Wait after ctx is done.
func New(ctx context.Context, o Options) *Nodekiller {
	if o.Watch.Interval <= 0 {
		o.Watch.Interval = 250 * time.Millisecond
	}
	if o.Watch.DownFor <= 0 {
		o.Watch.DownFor = 15 * time.Second
	}
	if o.Watch.Timeout <= 0 {
		o.Watch.Timeout = 5 * time.Minute
	}
	if o.Lever == nil {
		o.Lever = lever.New(prometheus.NewRegistry())
	}
	prober, _ := o.Killer.(chaos.Prober) // every driver of the suite is one
	gone, _ := o.Killer.(chaos.GoneProber)
	return &Nodekiller{
		prober: prober, gone: gone,
		lever:  o.Lever,
		killer: o.Killer, selector: o.Selector, dryRun: o.DryRun, log: o.Logger, metrics: o.Metrics,
		watch: o.Watch, recovering: map[string]bool{}, counts: map[string]map[string]int{}, ctx: ctx,
	}
}

// Wait waits for the recovery watches to end.
func (n *Nodekiller) Wait() { n.wg.Wait() }

// Request is the body of POST /kill, validated.
type Request struct {
	receiverapi.KillRequest

	method   chaos.KillMethod
	duration time.Duration
}

// maxDuration bounds how long a pause or partition may last.
const maxDuration = 10 * time.Minute

// maxTarget bounds a target's name: a pod name is at most 253 bytes, a container name or a
// host:port less.
const maxTarget = 256

// maxAuditError bounds the error a kill in the history keeps.
const maxAuditError = 512

// Validate implements web.Validator.
func (r *Request) Validate() error {
	if len(r.Method) > 32 {
		return web.Errorf(http.StatusBadRequest, "method: want stop, halt, pause or partition")
	}
	m, err := chaos.ParseKillMethod(r.Method)
	if err != nil {
		return web.Errorf(http.StatusBadRequest, "method: %v", err)
	}
	if len(r.Target) > maxTarget {
		return web.Errorf(http.StatusBadRequest, "target: a node name of at most %d bytes, not %d", maxTarget, len(r.Target))
	}
	if len(r.Duration) > 32 {
		return web.Errorf(http.StatusBadRequest, "duration: want a duration from 1ms to %s, such as 10s", maxDuration)
	}
	if m == chaos.Spare {
		return web.Errorf(http.StatusBadRequest, "method spare kills nothing: want stop, halt, pause or partition")
	}
	r.method = m
	r.duration = 10 * time.Second
	if r.Duration != "" {
		d, err := time.ParseDuration(r.Duration)
		if err != nil || d <= 0 || d > maxDuration {
			return web.Errorf(http.StatusBadRequest, "duration %q: want a duration from 1ms to %s, such as 10s", r.Duration, maxDuration)
		}
		r.duration = d
	}
	return nil
}

// killTimeout bounds one kill once its victim is chosen, whatever the caller does meanwhile:
// a stop drains for up to 10 s before the platform halts the node.
const killTimeout = 30 * time.Second

// Kill carries out a validated request. Its errors are *web.StatusError.
//
// A request the driver cannot carry out (400) changes nothing, as a malformed one does; a
// kill refused because no node may die now (409) or failed (502) stays in the history.
func (n *Nodekiller) Kill(ctx context.Context, req *Request) (receiverapi.KillAnswer, error) {
	if !n.killer.Supports(req.method) {
		return receiverapi.KillAnswer{}, web.Errorf(http.StatusBadRequest, "the %s driver cannot %s a node", n.killer.Driver(), req.method)
	}
	n.killMu.Lock()
	defer n.killMu.Unlock()
	if n.lever.Halted() {
		n.record(Kill{At: time.Now(), Method: string(req.method), Result: "rejected", Error: "halted"})
		return receiverapi.KillAnswer{}, lever.ErrHalted("kills are")
	}

	nodes, err := n.killer.Nodes(ctx)
	if err != nil {
		n.record(Kill{At: time.Now(), Method: string(req.method), Result: "error", Error: err.Error()})
		return receiverapi.KillAnswer{}, web.Errorf(http.StatusBadGateway, "listing nodes through the %s driver: %v", n.killer.Driver(), err)
	}
	nodes = n.withoutRecovering(nodes)
	victim, err := n.selector.Pick(nodes, req.Target)
	if err != nil {
		n.record(Kill{At: time.Now(), Method: string(req.method), Result: "rejected", Error: err.Error()})
		return receiverapi.KillAnswer{}, web.Errorf(http.StatusConflict, "%v", err)
	}
	at := time.Now()
	answer := receiverapi.KillAnswer{Victim: victim.Name, Method: string(req.method), Driver: n.killer.Driver(), At: at.UTC(), DryRun: n.dryRun}
	if req.method == chaos.Pause || req.method == chaos.Partition {
		answer.Duration = req.duration.String()
	}
	if n.dryRun {
		n.log.Info("dry run: would kill", "victim", victim.Name, "method", req.method)
		n.record(Kill{At: at, Victim: victim.Name, Address: victim.Address, Method: string(req.method), Result: "dry_run"})
		return answer, nil
	}
	// The victim may be the very receiver that forwarded this request: its death ends the
	// request, and a kill begun must still be carried through (a halted container that the
	// driver never hears back about would never be brought back).
	kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), killTimeout)
	defer cancel()
	if err := n.killer.Kill(kctx, victim, req.method, req.duration); err != nil {
		n.log.Warn("kill failed", "victim", victim.Name, "method", req.method, "error", err)
		n.record(Kill{At: at, Victim: victim.Name, Address: victim.Address, Method: string(req.method), Result: "error", Error: err.Error()})
		return receiverapi.KillAnswer{}, web.Errorf(http.StatusBadGateway, "killing %s by %s: %v", victim.Name, req.method, err)
	}
	n.log.Info("killed", "victim", victim.Name, "method", req.method, "driver", n.killer.Driver())
	id := n.record(Kill{At: at, Victim: victim.Name, Address: victim.Address, Method: string(req.method), Result: "ok"})
	n.metrics.lastKill.Set(float64(at.UnixNano()) / 1e9)
	if n.prober != nil {
		n.watchRecovery(victim, at, id)
	}
	return answer, nil
}

// withoutRecovering marks the nodes killed and not yet seen serving again as not ready, so that
// a node still draining is not counted as available.
func (n *Nodekiller) withoutRecovering(nodes []chaos.Node) []chaos.Node {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]chaos.Node, len(nodes))
	for i, node := range nodes {
		if n.recovering[node.Name] {
			node.Ready = false
		}
		out[i] = node
	}
	return out
}

func (n *Nodekiller) record(k Kill) uint64 {
	k.Victim = web.Truncate(k.Victim, maxTarget)
	k.Error = web.Truncate(k.Error, maxAuditError)
	n.metrics.kills.WithLabelValues(k.Method, k.Result).Inc()
	n.mu.Lock()
	defer n.mu.Unlock()
	n.nextID++
	k.id = n.nextID
	n.history = append(n.history, k)
	if len(n.history) > historySize {
		n.history = n.history[len(n.history)-historySize:]
	}
	if n.counts[k.Method] == nil {
		n.counts[k.Method] = map[string]int{}
	}
	n.counts[k.Method][k.Result]++
	return k.id
}

// watchRecovery follows the victim until it has gone down and serves again, then records the
// time from the kill. A victim never seen down (the driver acted after it was already gone, or
// too fast to see) records no recovery time.
func (n *Nodekiller) watchRecovery(victim chaos.Node, at time.Time, id uint64) {
	n.mu.Lock()
	n.recovering[victim.Name] = true
	n.mu.Unlock()
	n.wg.Go(func() {
		defer func() {
			n.mu.Lock()
			delete(n.recovering, victim.Name)
			n.mu.Unlock()
		}()
		seconds, gone, err := n.awaitRecovery(victim, at)
		if err != nil {
			n.log.Info("recovery not measured", "victim", victim.Name, "reason", err)
			return
		}
		if gone {
			n.log.Info("node gone without serving again: replaced", "victim", victim.Name, "gone_seconds", seconds)
		} else {
			n.metrics.recovery.Observe(seconds)
			n.log.Info("node serving again", "victim", victim.Name, "recovery_seconds", seconds)
		}
		n.mu.Lock()
		defer n.mu.Unlock()
		for i := range n.history {
			if n.history[i].id == id {
				if gone {
					n.history[i].GoneSeconds = &seconds
				} else {
					n.history[i].RecoverySeconds = &seconds
				}
			}
		}
	})
}

var errNeverDown = errors.New("never seen down")

// awaitRecovery returns how long after the kill the victim served again, or, gone, how long
// after it the victim was seen gone without having served again.
func (n *Nodekiller) awaitRecovery(victim chaos.Node, at time.Time) (seconds float64, gone bool, err error) {
	ticker := time.NewTicker(n.watch.Interval)
	defer ticker.Stop()
	down := false
	for {
		select {
		case <-n.ctx.Done():
			return 0, false, n.ctx.Err()
		case <-ticker.C:
		}
		serving := n.serving(victim)
		switch {
		case !down && !serving:
			down = true
		case !down && time.Since(at) > n.watch.DownFor:
			return 0, false, errNeverDown
		case down && serving:
			return time.Since(at).Seconds(), false, nil
		case down && n.isGone(victim):
			return time.Since(at).Seconds(), true, nil
		case time.Since(at) > n.watch.Timeout:
			return 0, false, fmt.Errorf("not serving again after %s", n.watch.Timeout)
		}
	}
}

func (n *Nodekiller) isGone(victim chaos.Node) bool {
	if n.gone == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(n.ctx, time.Second)
	defer cancel()
	return n.gone.Gone(ctx, victim)
}

func (n *Nodekiller) serving(victim chaos.Node) bool {
	ctx, cancel := context.WithTimeout(n.ctx, time.Second)
	defer cancel()
	return n.prober.Serving(ctx, victim)
}

// Info is what GET /info answers.
type Info struct {
	Driver       string                    `json:"driver"`
	DryRun       bool                      `json:"dry_run"`
	Policy       chaos.KillPolicy          `json:"policy"`
	MinAvailable int                       `json:"min_available"`
	Nodes        []chaos.Node              `json:"nodes"`
	NodesError   string                    `json:"nodes_error,omitempty"`
	Recovering   []string                  `json:"recovering"`
	Counts       map[string]map[string]int `json:"counts"`
	Kills        []Kill                    `json:"kills"` // newest first
	Halt         lever.State               `json:"halt"`
}

// Info reports the driver, the eligible nodes now and the kills so far.
func (n *Nodekiller) Info(ctx context.Context) Info {
	info := Info{Driver: n.killer.Driver(), DryRun: n.dryRun, Policy: n.selector.Policy, MinAvailable: n.selector.MinAvailable,
		Halt: n.lever.State()}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	nodes, err := n.killer.Nodes(ctx)
	if err != nil {
		info.NodesError = err.Error()
	}
	info.Nodes = n.withoutRecovering(nodes)
	for i := range info.Nodes {
		info.Nodes[i].Address = config.RedactURL(info.Nodes[i].Address)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	info.Recovering = make([]string, 0, len(n.recovering))
	for name := range n.recovering {
		info.Recovering = append(info.Recovering, name)
	}
	info.Counts = make(map[string]map[string]int, len(n.counts))
	for m, byResult := range n.counts {
		info.Counts[m] = make(map[string]int, len(byResult))
		for r, c := range byResult {
			info.Counts[m][r] = c
		}
	}
	info.Kills = make([]Kill, len(n.history))
	for i, k := range n.history {
		info.Kills[len(n.history)-1-i] = k
	}
	return info
}

// Metrics are the nodekiller's own series, named as the dashboards read them.
type Metrics struct {
	kills    *prometheus.CounterVec
	lastKill prometheus.Gauge
	recovery prometheus.Histogram
}

// NewMetrics registers the nodekiller's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		kills: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nodekiller_kills_total",
			Help: "Kill requests handled, by method and result (ok, error, rejected, dry_run).",
		}, []string{"method", "result"}),
		lastKill: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "nodekiller_last_kill_timestamp_seconds",
			Help: "Unix time of the last kill carried out.",
		}),
		recovery: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:                        "nodekiller_node_recovery_seconds",
			Help:                        "Time from a kill to the node serving again, where the driver can see it.",
			Buckets:                     []float64{1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300},
			NativeHistogramBucketFactor: 1.1,
		}),
	}
	reg.MustRegister(m.kills, m.lastKill, m.recovery)
	for _, method := range chaos.KillMethods {
		for _, result := range []string{"ok", "error", "rejected"} {
			m.kills.WithLabelValues(string(method), result)
		}
	}
	return m
}
