package pinger

import (
	"slices"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

const (
	maxReplicas    = 32               // replicas tracked per target; later ones count as "other"
	replicaTTL     = 5 * time.Minute  // a replica unseen this long leaves the metrics
	maxNodesPerRep = 4                // node names remembered per replica address
	otherReplica   = "other"          // the replicas beyond maxReplicas
	sweepEvery     = 10 * time.Second // how often gone replicas are looked for
)

// ReplicaStats is one replica's share of a target's since-start figures. A request counts for
// the replica its first attempt was sent to, whatever its retries did.
type ReplicaStats struct {
	Replica            string    `json:"replica"` // host:port
	Nodes              []string  `json:"nodes"`   // the node names that answered from it
	Requests           uint64    `json:"requests"`
	Share              float64   `json:"share"` // of the target's since-start requests
	FirstAttemptFailed uint64    `json:"first_attempt_failed"`
	Failed             uint64    `json:"failed"` // after every retry
	FirstAttemptRate   *float64  `json:"first_attempt_success_rate"`
	SuccessRate        *float64  `json:"success_rate"`
	P99Ms              float64   `json:"p99_ms"`
	LastSeen           time.Time `json:"last_seen"`
	LifetimeRequests   uint64    `json:"lifetime_requests"`
}

type replica struct {
	addr                          string
	nodes                         []string
	requests, firstFailed, failed uint64 // since the last start
	lifetime                      uint64
	hist                          *hdrhistogram.Histogram // since the last start
	lastSeen                      time.Time
	series                        bool // its metric series exist
}

// replicaTable keeps per-replica figures, bounded in number: a replica gone for replicaTTL
// leaves the metrics, and leaves the table once it has nothing since the last start to show.
type replicaTable struct {
	metrics   *targetMetrics
	byAddr    map[string]*replica
	startedAt time.Time
	lastSweep time.Time
}

func newReplicaTable(m *targetMetrics) *replicaTable {
	return &replicaTable{metrics: m, byAddr: map[string]*replica{}}
}

func (t *replicaTable) start(now time.Time) {
	t.startedAt = now
	for addr, r := range t.byAddr {
		r.requests, r.firstFailed, r.failed = 0, 0, 0
		r.hist.Reset()
		if now.Sub(r.lastSeen) > replicaTTL {
			t.drop(addr, r)
		}
	}
}

func (t *replicaTable) drop(addr string, r *replica) {
	if r.series {
		t.metrics.forgetReplica(addr)
	}
	delete(t.byAddr, addr)
}

// record counts res for its replica and returns the replica's label: its address, "other"
// past the bound, or "" when the request never reached an address.
func (t *replicaTable) record(res Result) string {
	if res.Replica == "" {
		return ""
	}
	now := res.Scheduled
	if now.Sub(t.lastSweep) > sweepEvery {
		t.sweep(now)
	}
	r := t.byAddr[res.Replica]
	if r == nil {
		if len(t.byAddr) >= maxReplicas {
			t.sweep(now)
		}
		addr := res.Replica
		if len(t.byAddr) >= maxReplicas {
			addr = otherReplica
		}
		if r = t.byAddr[addr]; r == nil {
			r = &replica{addr: addr, hist: hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 2)}
			t.byAddr[addr] = r
		}
	}
	r.lastSeen = now
	r.requests++
	r.lifetime++
	if !res.FirstOK {
		r.firstFailed++
	}
	if !res.OK {
		r.failed++
	}
	_ = r.hist.RecordValue(max(res.Latency.Microseconds(), 1))
	if res.Node != "" && !slices.Contains(r.nodes, res.Node) && len(r.nodes) < maxNodesPerRep {
		r.nodes = append(r.nodes, res.Node)
	}
	r.series = true
	return r.addr
}

// sweep drops the metric series of replicas unseen for replicaTTL, and the replicas
// themselves once they have nothing since the last start.
func (t *replicaTable) sweep(now time.Time) {
	t.lastSweep = now
	for addr, r := range t.byAddr {
		if now.Sub(r.lastSeen) <= replicaTTL {
			continue
		}
		if r.requests == 0 {
			t.drop(addr, r)
		} else if r.series {
			t.metrics.forgetReplica(addr)
			r.series = false
		}
	}
}

func (t *replicaTable) stats(now time.Time) []ReplicaStats {
	var total uint64
	for _, r := range t.byAddr {
		total += r.requests
	}
	out := make([]ReplicaStats, 0, len(t.byAddr))
	for _, r := range t.byAddr {
		if r.requests == 0 && now.Sub(r.lastSeen) > replicaTTL {
			continue
		}
		s := ReplicaStats{
			Replica: r.addr, Nodes: slices.Clone(r.nodes), Requests: r.requests,
			FirstAttemptFailed: r.firstFailed, Failed: r.failed, LastSeen: r.lastSeen.UTC(), LifetimeRequests: r.lifetime,
			FirstAttemptRate: Ratio(r.requests-r.firstFailed, r.requests), SuccessRate: Ratio(r.requests-r.failed, r.requests),
		}
		if total > 0 {
			s.Share = float64(r.requests) / float64(total)
		}
		if r.hist.TotalCount() > 0 {
			s.P99Ms = float64(r.hist.ValueAtQuantile(99)) / 1000
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b ReplicaStats) int {
		if a.Replica < b.Replica {
			return -1
		}
		if a.Replica > b.Replica {
			return 1
		}
		return 0
	})
	return out
}
