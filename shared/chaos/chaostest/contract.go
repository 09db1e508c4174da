// Package chaostest holds what every chaos driver's tests share: the contract of
// chaos.Upgrader as one test (TestUpgrader) that each driver runs through a small Harness,
// and a loopback receiver (Receiver) to build harnesses on.
package chaostest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/shared/chaos"
)

// Fault is how one replica misbehaves when it is changed.
type Fault string

// The faults a harness injects.
const (
	// Refuses: every change that reaches this replica is refused, by the replica itself (its
	// admin API answers an error) or by the platform (an admission webhook, the engine
	// refusing to create its replacement).
	Refuses Fault = "refuses"
	// NeverServes: the change is taken, but the replica (or its replacement) never serves the
	// new version ready: it keeps the old one, or never passes its readiness check.
	NeverServes Fault = "never-serves"
)

// Setup is the fleet one case of the contract asks the harness for.
type Setup struct {
	Replicas int           // how many, each ready and serving the harness's "from" version
	Faults   map[int]Fault // by replica index, 0 to Replicas-1; the others behave
	// StepTimeout is how long the driver may give one replica to take a change and serve it
	// (the driver's UPGRADE_STEP_TIMEOUT).
	StepTimeout time.Duration
}

// Harness builds one driver for the contract. A driver's tests implement it over their fakes
// (a loopback fleet, a fake API server, a fake engine) and call TestUpgrader.
type Harness interface {
	// Versions names two versions the replicas can run: where every fleet starts and where
	// the upgrades go (receiver versions such as alpha and beta, or image references).
	Versions() (from, to string)
	// Supports reports whether the driver carries out upgrades of type t. IN_PLACE also
	// stands for Reset, the in-place change of one replica.
	Supports(t chaos.UpgradeType) bool
	// New builds the driver over a fleet as s asks, torn down when t ends.
	New(t *testing.T, s Setup) chaos.Upgrader
}

// ResetReplacer is implemented by a harness whose driver cannot change a replica in place
// (no IN_PLACE) but resets one by replacing it with one of the version asked.
type ResetReplacer interface {
	ResetReplaces() bool
}

// plan is the upgrade of type typ to version: MAX_SURGE at 50 %.
func plan(typ chaos.UpgradeType, version string) chaos.UpgradePlan {
	p := chaos.UpgradePlan{Type: typ, Version: version}
	if typ == chaos.MaxSurge {
		p.SurgePercent = 50
	}
	return p
}

const (
	replicas = 3
	// generous is a step timeout no case waits for; short is one the unverified cases do.
	generous = time.Minute
	short    = 300 * time.Millisecond
)

// TestUpgrader checks that the driver h builds keeps the contract of chaos.Upgrader: each
// supported type converges and is read back, a refusing replica fails it as refused, one that
// never serves the new version as unverified, an ended context as canceled; unsupported
// types are refused and change nothing; Reset keeps the same contract.
func TestUpgrader(t *testing.T, h Harness) {
	from, to := h.Versions()
	require.NotEqual(t, from, to, "the harness needs two versions")

	t.Run("fleet starts ready at from", func(t *testing.T) {
		u := h.New(t, Setup{Replicas: replicas, StepTimeout: generous})
		requireFleet(t, u, from, replicas)
	})
	for _, typ := range chaos.UpgradeTypes {
		if !h.Supports(typ) {
			t.Run(string(typ)+" is refused and changes nothing", func(t *testing.T) {
				u := h.New(t, Setup{Replicas: replicas, StepTimeout: generous})
				err := u.Upgrade(t.Context(), plan(typ, to))
				requireReason(t, err, chaos.ReasonRefused)
				requireFleet(t, u, from, replicas)
			})
			continue
		}
		t.Run(string(typ)+" converges and is read back", func(t *testing.T) {
			u := h.New(t, Setup{Replicas: replicas, StepTimeout: generous})
			require.NoError(t, u.Upgrade(t.Context(), plan(typ, to)))
			requireFleet(t, u, to, replicas)
		})
		t.Run(string(typ)+" refused by a replica", func(t *testing.T) {
			u := h.New(t, Setup{Replicas: replicas, Faults: map[int]Fault{1: Refuses}, StepTimeout: generous})
			requireReason(t, u.Upgrade(t.Context(), plan(typ, to)), chaos.ReasonRefused)
		})
		t.Run(string(typ)+" unverified when a replica never serves it", func(t *testing.T) {
			u := h.New(t, Setup{Replicas: replicas, Faults: map[int]Fault{1: NeverServes}, StepTimeout: short})
			ctx, cancel := context.WithTimeout(t.Context(), generous)
			defer cancel()
			requireReason(t, u.Upgrade(ctx, plan(typ, to)), chaos.ReasonUnverified)
			assert.NoError(t, ctx.Err(), "failed on the step timeout, not the context")
		})
		t.Run(string(typ)+" canceled before it starts", func(t *testing.T) {
			u := h.New(t, Setup{Replicas: replicas, StepTimeout: generous})
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			requireReason(t, u.Upgrade(ctx, plan(typ, to)), chaos.ReasonCanceled)
		})
		t.Run(string(typ)+" canceled while a replica never serves it", func(t *testing.T) {
			u := h.New(t, Setup{Replicas: replicas, Faults: map[int]Fault{1: NeverServes}, StepTimeout: generous})
			ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			defer cancel()
			err := u.Upgrade(ctx, plan(typ, to))
			requireReason(t, err, chaos.ReasonCanceled)
			assert.True(t, errors.Is(err, context.DeadlineExceeded), "the cause is the context's: %v", err)
		})
	}
	rr, _ := h.(ResetReplacer)
	replaces := rr != nil && rr.ResetReplaces()
	if !h.Supports(chaos.InPlace) && !replaces {
		t.Run("Reset is refused and changes nothing", func(t *testing.T) {
			u := h.New(t, Setup{Replicas: replicas, StepTimeout: generous})
			reps := requireFleet(t, u, from, replicas)
			requireReason(t, u.Reset(t.Context(), reps[0], to), chaos.ReasonRefused)
			requireFleet(t, u, from, replicas)
		})
		return
	}
	t.Run("Reset changes one replica and is read back", func(t *testing.T) {
		u := h.New(t, Setup{Replicas: replicas, StepTimeout: generous})
		reps := requireFleet(t, u, from, replicas)
		require.NoError(t, u.Reset(t.Context(), reps[0], to))
		after, err := u.Replicas(t.Context())
		require.NoError(t, err)
		require.Len(t, after, replicas, "as many replicas as before")
		byName := map[string]chaos.Replica{}
		atTo := 0
		for _, r := range after {
			byName[r.Name] = r
			if r.Version == to && r.Ready {
				atTo++
			}
		}
		assert.Equal(t, 1, atTo, "one replica serves the new version, ready: %+v", after)
		if replaces {
			assert.NotContains(t, byName, reps[0].Name, "the replica reset was replaced")
		} else {
			assert.Equal(t, to, byName[reps[0].Name].Version, "the replica reset")
		}
		for _, r := range reps[1:] {
			assert.Equal(t, from, byName[r.Name].Version, "%s was not to change", r.Name)
		}
	})
	every := func(f Fault) map[int]Fault {
		m := map[int]Fault{}
		for i := range replicas {
			m[i] = f
		}
		return m
	}
	t.Run("Reset refused by the replica", func(t *testing.T) {
		u := h.New(t, Setup{Replicas: replicas, Faults: every(Refuses), StepTimeout: generous})
		reps := requireFleet(t, u, from, replicas)
		requireReason(t, u.Reset(t.Context(), reps[0], to), chaos.ReasonRefused)
	})
	t.Run("Reset unverified when the replica never serves it", func(t *testing.T) {
		u := h.New(t, Setup{Replicas: replicas, Faults: every(NeverServes), StepTimeout: short})
		reps := requireFleet(t, u, from, replicas)
		requireReason(t, u.Reset(t.Context(), reps[0], to), chaos.ReasonUnverified)
	})
	t.Run("Reset canceled", func(t *testing.T) {
		u := h.New(t, Setup{Replicas: replicas, StepTimeout: generous})
		reps := requireFleet(t, u, from, replicas)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		requireReason(t, u.Reset(ctx, reps[0], to), chaos.ReasonCanceled)
	})
}

// requireFleet asserts that u lists n replicas, each ready and serving version, and returns them.
func requireFleet(t *testing.T, u chaos.Upgrader, version string, n int) []chaos.Replica {
	t.Helper()
	reps, err := u.Replicas(t.Context())
	require.NoError(t, err)
	require.Len(t, reps, n, "replicas: %+v", reps)
	for _, r := range reps {
		assert.True(t, r.Ready, "%s is not ready: %s", r.Name, r.Reason)
		assert.Equal(t, version, r.Version, "%s", r.Name)
	}
	return reps
}

// requireReason asserts that err is a *chaos.UpgradeError with reason.
func requireReason(t *testing.T, err error, reason string) {
	t.Helper()
	require.Error(t, err)
	var ue *chaos.UpgradeError
	require.ErrorAs(t, err, &ue, "a *chaos.UpgradeError, not %T: %v", err, err)
	assert.Equal(t, reason, chaos.UpgradeReason(err), "%v", err)
}
