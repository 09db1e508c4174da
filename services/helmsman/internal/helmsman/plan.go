package helmsman

import (
	"slices"

	"chaossuite.dev/shared/chaos"
)

// Statuses of the receiver as the helmsman sees it.
const (
	Starting  = "STARTING"  // grace period: learning the replicas, no change made
	Running   = "RUNNING"   // EXPECTED_REPLICAS ready, all at the desired version
	Updating  = "UPDATING"  // an upgrade, reset or reconcile is converging
	Unhealthy = "UNHEALTHY" // fewer ready than expected for longer than LOST_AFTER
)

// Statuses lists every status.
var Statuses = []string{Starting, Running, Updating, Unhealthy}

// Replica states, as the replica table and helmsman_replicas show them.
const (
	StateReady     = "ready"     // serving the desired version
	StateUpdating  = "updating"  // serving another version: being upgraded or reconciled
	StateResetting = "resetting" // back after being lost, serving nothing it may count until reset
	StateDown      = "down"      // not answering, for less than LOST_AFTER
	StateLost      = "lost"      // not answering for LOST_AFTER or more
)

// metricState maps a replica state to the helmsman_replicas label it counts under.
func metricState(s string) string {
	switch s {
	case StateReady:
		return "ready"
	case StateUpdating, StateResetting:
		return "updating"
	case StateLost:
		return "lost"
	}
	return ""
}

// Planner hands out the upgrades in turn: the types cycled (MAX_SURGE taking its
// percentages in turn), the versions cycled from the one after the desired version.
type Planner struct {
	Versions      []string
	Types         []chaos.UpgradeType
	SurgePercents []int

	types, surges int
}

// Next is the plan after desired. It does not advance: Take does.
func (p *Planner) Next(desired string) chaos.UpgradePlan {
	t := p.Types[p.types%len(p.Types)]
	plan := chaos.UpgradePlan{Type: t, Version: p.nextVersion(desired)}
	if t == chaos.MaxSurge {
		plan.SurgePercent = p.SurgePercents[p.surges%len(p.SurgePercents)]
	}
	return plan
}

// Take returns the plan after desired and moves on to the next type.
func (p *Planner) Take(desired string) chaos.UpgradePlan {
	plan := p.Next(desired)
	p.types++
	if plan.Type == chaos.MaxSurge {
		p.surges++
	}
	return plan
}

func (p *Planner) nextVersion(desired string) string {
	i := slices.Index(p.Versions, desired)
	return p.Versions[(i+1)%len(p.Versions)]
}

// majority is the version most of versions are, ties going to the one first in order, then
// to the smallest name.
func majority(versions []string, order []string) string {
	counts := map[string]int{}
	for _, v := range versions {
		if v != "" {
			counts[v]++
		}
	}
	best, bestN := "", 0
	rank := func(v string) int {
		if i := slices.Index(order, v); i >= 0 {
			return i
		}
		return len(order)
	}
	for v, n := range counts {
		if n > bestN || (n == bestN && (rank(v) < rank(best) || (rank(v) == rank(best) && v < best))) {
			best, bestN = v, n
		}
	}
	return best
}
