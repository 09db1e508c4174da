// Package helmsman upgrades the receiver on a schedule and watches it all along: it cycles
// versions and upgrade types through a chaos.Upgrader, tells the receiver's status as it truly
// is, resets replicas that come back from being lost, and reconciles replicas found at a stale
// version.
package helmsman

import (
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"chaossuite.dev/shared/chaos"
	"chaossuite.dev/shared/lever"
)

// historySize is how many upgrades and failures /info remembers.
const historySize = 20

// Options configure a Helmsman.
type Options struct {
	Upgrader         chaos.Upgrader
	Planner          *Planner
	UpgradeInterval  time.Duration
	StatusInterval   time.Duration
	GracePeriod      time.Duration
	LostAfter        time.Duration
	ExpectedReplicas int
	Logger           *slog.Logger
	Metrics          *Metrics
	Lever            *lever.Lever     // nil: a lever of its own, unregistered
	Now              func() time.Time // nil: time.Now
	// Refused are the upgrade types the target cannot take, with why: PUT /settings refuses them.
	Refused map[chaos.UpgradeType]string
}

// Helmsman watches and upgrades the receiver. Watch and Upgrades are its two loops; the rest
// is safe for concurrent use.
type Helmsman struct {
	o         Options
	settings  settings
	startedAt time.Time
	graceEnd  time.Time
	poke      chan struct{} // asks the watch for an observation now

	// change is held by whatever changes replicas (an upgrade, a reset, a reconcile), so that
	// two changes never interleave. The watch only tries it: it never waits for an upgrade.
	change sync.Mutex

	mu          sync.Mutex
	desired     string
	desiredFrom string              // "adopted" or "upgrade"
	replicas    map[string]*replica // by key: name, else address
	status      string
	belowSince  time.Time
	upgrading   *Upgrade
	// replacedUntil is when the latest upgrade that replaces replicas (ROLLOUT, MAX_SURGE:
	// new pods or containers under new names) ended. A replica last seen before then and gone
	// from discovery was replaced, not lost.
	replacedUntil time.Time
	nextUpgradeAt time.Time
	loopRunning   bool
	total         map[string]uint64
	sinceStart    map[string]uint64
	history       []Upgrade // newest first
	failures      []Upgrade // newest first
	reconciles    uint64
	resets        uint64
	changeErrors  uint64
	lastChangeErr string
}

type replica struct {
	chaos.Replica
	firstListed time.Time
	lastSeen    time.Time // last time it answered ready
	lost        bool
	back        bool // lost, and answering again: waiting for its reset
	listed      bool // in the latest discovery
	// resetAt is when a reset of it succeeded: a driver that cannot change a replica in place
	// (by image) replaces it, and the replica it replaced leaves discovery at once, not lost.
	resetAt time.Time
}

// Upgrade is one upgrade as /info shows it.
type Upgrade struct {
	Type            chaos.UpgradeType `json:"type"`
	SurgePercent    int               `json:"surge_percent,omitempty"`
	Version         string            `json:"version"`
	From            string            `json:"from_version,omitempty"`
	StartedAt       time.Time         `json:"started_at"`
	DurationSeconds float64           `json:"duration_seconds,omitempty"`
	Result          string            `json:"result,omitempty"` // ok, or the failure's reason
	Error           string            `json:"error,omitempty"`
}

// New returns a Helmsman whose grace period starts now.
func New(o Options) *Helmsman {
	if o.Now == nil {
		o.Now = time.Now
	}
	now := o.Now()
	if o.Lever == nil {
		o.Lever = lever.New(prometheus.NewRegistry())
	}
	h := &Helmsman{
		settings: newSettings(o),
		o:        o, startedAt: now, graceEnd: now.Add(o.GracePeriod), poke: make(chan struct{}, 1),
		replicas: map[string]*replica{}, status: Starting,
		total: map[string]uint64{}, sinceStart: map[string]uint64{},
	}
	o.Metrics.SetRunning(false)
	oneHot(o.Metrics.status, Statuses, Starting)
	return h
}

// InGrace reports whether the grace period runs, and how long it has left.
func (h *Helmsman) InGrace() (bool, time.Duration) {
	left := h.graceEnd.Sub(h.o.Now())
	return left > 0, left
}

func (h *Helmsman) setDesiredLocked(v, from string) {
	h.desired, h.desiredFrom = v, from
	versions := slices.Clone(h.o.Planner.Versions)
	if !slices.Contains(versions, v) {
		versions = append(versions, v)
	}
	oneHot(h.o.Metrics.version, versions, v)
}

// stateLocked is a replica's state now.
func (h *Helmsman) stateLocked(r *replica) string {
	switch {
	case r.Ready && r.lost:
		return StateResetting
	case r.Ready && (h.desired == "" || r.Version == h.desired):
		return StateReady
	case r.Ready:
		return StateUpdating
	case r.lost:
		return StateLost
	}
	return StateDown
}

// updateLocked recomputes the status and the replica gauges.
func (h *Helmsman) updateLocked(now time.Time) {
	counts := map[string]int{}
	serving, atDesired := 0, 0
	for _, r := range h.replicas {
		s := h.stateLocked(r)
		counts[metricState(s)]++
		if s == StateReady || s == StateUpdating {
			serving++
		}
		if s == StateReady {
			atDesired++
		}
	}
	for _, s := range []string{"ready", "updating", "lost"} {
		h.o.Metrics.replicas.WithLabelValues(s).Set(float64(counts[s]))
	}
	if serving < h.o.ExpectedReplicas {
		if h.belowSince.IsZero() {
			h.belowSince = now
		}
	} else {
		h.belowSince = time.Time{}
	}
	prev := h.status
	var status string
	switch {
	case now.Before(h.graceEnd) || h.desired == "":
		status = Starting
	case !h.belowSince.IsZero() && now.Sub(h.belowSince) >= h.o.LostAfter:
		status = Unhealthy
	case h.upgrading != nil:
		status = Updating
	case serving >= h.o.ExpectedReplicas && atDesired == serving:
		status = Running
	case serving >= h.o.ExpectedReplicas:
		status = Updating // a reset or reconcile converging
	case prev == Starting || prev == Running:
		// Fewer serving than expected, for less than LOST_AFTER: not RUNNING, not yet UNHEALTHY.
		status = Updating
	default:
		status = prev
	}
	if status != prev {
		h.o.Logger.Info("status changed", "from", prev, "to", status, "serving", serving, "at_desired", atDesired, "expected", h.o.ExpectedReplicas)
	}
	h.status = status
	oneHot(h.o.Metrics.status, Statuses, status)
}
