package helmsman

import (
	"slices"
	"strings"
	"time"

	"chaossuite.dev/shared/chaos"
	"chaossuite.dev/shared/config"
	"chaossuite.dev/shared/lever"
)

// ReplicaInfo is one row of the replica table.
type ReplicaInfo struct {
	Name       string     `json:"name"`
	Address    string     `json:"address"`
	Version    string     `json:"version"`
	Generation int64      `json:"generation"`
	Ready      bool       `json:"ready"`
	State      string     `json:"state"`
	Reason     string     `json:"reason,omitempty"` // why it is not ready, where the driver says
	LastSeen   *time.Time `json:"last_seen"`
}

// Counts are upgrades by result.
type Counts struct {
	Requests uint64            `json:"requests"`
	ByResult map[string]uint64 `json:"by_result"`
}

// NextUpgrade is the upgrade the loop will start next.
type NextUpgrade struct {
	chaos.UpgradePlan
	At *time.Time `json:"at"`
}

// Info is what GET /info answers.
type Info struct {
	Status           string        `json:"status"`
	Driver           string        `json:"driver"`
	DesiredVersion   string        `json:"desired_version"`
	DesiredFrom      string        `json:"desired_from,omitempty"` // adopted (from the replicas) or upgrade
	InGrace          bool          `json:"in_grace"`
	GraceEndsAt      time.Time     `json:"grace_ends_at"`
	ExpectedReplicas int           `json:"expected_replicas"`
	ReadyReplicas    int           `json:"ready_replicas"`
	Running          bool          `json:"running"` // the upgrade loop; the watch always runs
	Upgrading        *Upgrade      `json:"upgrading"`
	Next             NextUpgrade   `json:"next_upgrade"`
	Latest           *Upgrade      `json:"latest_upgrade"`
	Total            Counts        `json:"upgrades_total"`
	SinceStart       Counts        `json:"upgrades_since_start"`
	Failures         []Upgrade     `json:"failures"`
	History          []Upgrade     `json:"history"`
	Reconciles       uint64        `json:"reconciles"`
	Resets           uint64        `json:"lost_resets"`
	ChangeErrors     uint64        `json:"reset_errors"`
	LastChangeError  string        `json:"last_reset_error,omitempty"`
	Replicas         []ReplicaInfo `json:"replicas"`
	Halt             lever.State   `json:"halt"`
	UpgradeInterval  string        `json:"upgrade_interval"`
	UpgradeTypes     []string      `json:"upgrade_types"`
}

func counts(m map[string]uint64) Counts {
	c := Counts{ByResult: map[string]uint64{}}
	for r, n := range m {
		c.ByResult[r] = n
		c.Requests += n
	}
	return c
}

// Info reports the helmsman's state.
func (h *Helmsman) Info() Info {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.o.Now()
	info := Info{
		Status: h.status, Driver: h.o.Upgrader.Driver(), DesiredVersion: h.desired, DesiredFrom: h.desiredFrom,
		InGrace: now.Before(h.graceEnd), GraceEndsAt: h.graceEnd.UTC(), ExpectedReplicas: h.o.ExpectedReplicas,
		Running: h.loopRunning, Total: counts(h.total), SinceStart: counts(h.sinceStart),
		Failures: slices.Clone(h.failures), History: slices.Clone(h.history),
		Reconciles: h.reconciles, Resets: h.resets, ChangeErrors: h.changeErrors, LastChangeError: h.lastChangeErr,
		Replicas: []ReplicaInfo{}, Halt: h.settings.lever.State(), UpgradeInterval: h.o.UpgradeInterval.String(),
		UpgradeTypes: typeNames(h.o.Planner.Types),
	}
	if info.Failures == nil {
		info.Failures = []Upgrade{}
	}
	if info.History == nil {
		info.History = []Upgrade{}
	}
	if h.upgrading != nil {
		u := *h.upgrading
		info.Upgrading = &u
	}
	if len(h.history) > 0 {
		u := h.history[0]
		info.Latest = &u
	}
	info.Next.UpgradePlan = h.o.Planner.Next(h.desired)
	if !h.nextUpgradeAt.IsZero() {
		at := h.nextUpgradeAt.UTC()
		info.Next.At = &at
	}
	for _, r := range h.replicas {
		row := ReplicaInfo{Name: r.Name, Address: config.RedactURL(r.Address), Version: r.Version, Generation: r.Generation,
			Ready: r.Ready && !r.lost, State: h.stateLocked(r), Reason: r.Reason}
		if !r.lastSeen.IsZero() {
			seen := r.lastSeen.UTC()
			row.LastSeen = &seen
		}
		if row.State == StateReady || row.State == StateUpdating {
			info.ReadyReplicas++
		}
		info.Replicas = append(info.Replicas, row)
	}
	slices.SortFunc(info.Replicas, func(a, b ReplicaInfo) int { return strings.Compare(a.Address, b.Address) })
	return info
}
