package chaos

import (
	"context"
	"fmt"
	"math"
	"strings"
)

// UpgradeType is how an upgrade replaces the running version.
type UpgradeType string

// The upgrade types.
const (
	InPlace  UpgradeType = "IN_PLACE"  // every replica reconfigured without a restart
	Rollout  UpgradeType = "ROLLOUT"   // one replica at a time, each serving before the next
	MaxSurge UpgradeType = "MAX_SURGE" // ceil(p·N) new replicas before the old ones go
)

// UpgradeTypes lists every upgrade type.
var UpgradeTypes = []UpgradeType{InPlace, Rollout, MaxSurge}

// ParseUpgradeType parses a type by name.
func ParseUpgradeType(s string) (UpgradeType, error) {
	switch t := UpgradeType(strings.ToUpper(strings.TrimSpace(s))); t {
	case InPlace, Rollout, MaxSurge:
		return t, nil
	}
	return "", fmt.Errorf("unknown upgrade type %q: want IN_PLACE, ROLLOUT or MAX_SURGE", s)
}

// UnmarshalText parses a type so that configuration and JSON take it by name.
func (t *UpgradeType) UnmarshalText(b []byte) error {
	v, err := ParseUpgradeType(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// UpgradePlan is one upgrade: where to go and how.
type UpgradePlan struct {
	Type         UpgradeType `json:"type"`
	SurgePercent int         `json:"surge_percent,omitempty"` // MAX_SURGE only: 20, 50 or 75
	Version      string      `json:"version"`
	Message      string      `json:"message,omitempty"` // empty: "<Version> Receiver running!"
}

// BatchSize is how many of n replicas a step of the plan replaces at once: all for IN_PLACE,
// one for ROLLOUT, ceil(p·n) for MAX_SURGE.
func (p UpgradePlan) BatchSize(n int) int {
	switch p.Type {
	case InPlace:
		return max(n, 1)
	case MaxSurge:
		return max(1, min(n, int(math.Ceil(float64(p.SurgePercent)*float64(n)/100))))
	}
	return 1
}

// String names the plan for logs and labels, such as "MAX_SURGE 50% to beta".
func (p UpgradePlan) String() string {
	if p.Type == MaxSurge {
		return fmt.Sprintf("%s %d%% to %s", p.Type, p.SurgePercent, p.Version)
	}
	return fmt.Sprintf("%s to %s", p.Type, p.Version)
}

// Replica is one running copy of the service under test as the upgrader sees it.
type Replica struct {
	Name       string `json:"name"`    // container or pod name, or host:port
	Address    string `json:"address"` // base URL
	Version    string `json:"version"`
	Generation int64  `json:"generation"`
	Ready      bool   `json:"ready"`
	Reason     string `json:"reason,omitempty"` // why it is not ready, where the platform says
}

// Upgrader upgrades the replicas of the service under test on one platform.
//
// Every driver keeps one contract, which chaostest.TestUpgrader checks:
//
//   - Done means read back. Upgrade returns nil only once every replica the platform lists
//     now (not only those the driver changed) is ready and serves plan.Version, as read back
//     through the platform: the replica's own answer, or the image of its container or pod.
//     That is what Replicas shows right after.
//   - Failures are a *UpgradeError (UpgradeReason reads it) with one reason:
//     ReasonRefused when the change was refused before it could be served: by a replica (an
//     error answer), by the platform (RBAC, an admission policy, validation, a paused
//     Deployment) or by the driver itself (a type it does not carry out, such as IN_PLACE
//     when versions are images, or a plan it cannot apply);
//     ReasonUnreachable when a replica or the platform did not answer at all for the step
//     timeout (it vanished, hangs, or has no address yet);
//     ReasonUnverified when the change was taken but a replica did not serve the new version,
//     ready, within the step timeout;
//     ReasonCanceled when ctx ended first, whatever else was wrong.
//     ReasonOther is for nothing a driver foresaw.
//   - Reset changes one replica and keeps the same contract: nil once that replica (or the
//     one that replaced it) serves version, the same reasons otherwise. A driver that cannot
//     change a replica in place refuses IN_PLACE with ReasonRefused; its Reset either replaces
//     the replica (docker by image: the replaced one then leaves Replicas) or is refused too
//     (kubernetes by image, whose Deployment controller moves such a pod itself).
type Upgrader interface {
	// Driver names the platform: http, docker or kubernetes.
	Driver() string
	// Replicas lists the replicas now, each with its served version and readiness. A replica
	// that does not answer is listed with Ready false where the platform still knows it.
	Replicas(ctx context.Context) ([]Replica, error)
	// Upgrade carries out plan and returns once every replica serves plan.Version, read back
	// through the platform, or a *UpgradeError saying why it could not.
	Upgrade(ctx context.Context, plan UpgradePlan) error
	// Reset sets one replica back to version: a lost replica that returns, or one that
	// restarted at a stale version. It returns once the replica serves version.
	Reset(ctx context.Context, r Replica, version string) error
}

// DefaultMessage is the receiver's message for version when none is given.
func DefaultMessage(version string) string {
	if version == "" {
		return "Receiver running!"
	}
	return strings.ToUpper(version[:1]) + version[1:] + " Receiver running!"
}

// ReceiverConfig is a receiver's in-place configuration, as GET and PUT /admin/config carry it.
type ReceiverConfig struct {
	Version    string `json:"version"`
	Message    string `json:"message"`
	Generation int64  `json:"generation"`
	Node       string `json:"node,omitempty"`
}
