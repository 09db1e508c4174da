package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/helmsman/internal/helmsman"
	"chaossuite.dev/shared/chaos"
)

// TestUpgradesConverge upgrades three real receivers by each type in turn and checks that
// every upgrade converged: the helmsman read every replica back, and so does the test.
func TestUpgradesConverge(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real binaries")
	}
	f := startFleet(t, 3, "alpha")
	h := startHelm(t, map[string]string{
		"TARGETS": f.targets(), "STATUS_INTERVAL": "100ms", "GRACE_PERIOD": "1s", "LOST_AFTER": "2s",
		"UPGRADE_INTERVAL": "400ms", "AUTOSTART": "true",
	})

	resp, body := h.call(http.MethodPost, "/start")
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, string(body))
	assert.NotEmpty(t, resp.Header.Get("Retry-After"))
	assert.Equal(t, helmsman.Starting, h.info().Status)
	addr := strings.TrimPrefix(h.base, "http://")
	assert.NoError(t, run(context.Background(), []string{"helmsman", "healthcheck"},
		func(k string) string { return map[string]string{"LISTEN_ADDR": addr}[k] }, io.Discard, io.Discard))

	// IN_PLACE, ROLLOUT, MAX_SURGE 20 %, IN_PLACE, ROLLOUT, MAX_SURGE 50 %.
	info := h.await(60*time.Second, "six upgrades", func(i helmsman.Info) bool { return len(i.History) >= 6 })
	resp, _ = h.call(http.MethodPost, "/stop") // drains an upgrade under way
	require.Equal(t, http.StatusOK, resp.StatusCode)

	want := []struct {
		typ     chaos.UpgradeType
		surge   int
		version string
	}{
		{chaos.InPlace, 0, "beta"}, {chaos.Rollout, 0, "alpha"}, {chaos.MaxSurge, 20, "beta"},
		{chaos.InPlace, 0, "alpha"}, {chaos.Rollout, 0, "beta"}, {chaos.MaxSurge, 50, "alpha"},
	}
	for i, w := range want {
		u := info.History[len(info.History)-1-i]
		assert.Equal(t, w.typ, u.Type, "upgrade %d", i)
		assert.Equal(t, w.surge, u.SurgePercent, "upgrade %d", i)
		assert.Equal(t, w.version, u.Version, "upgrade %d", i)
		assert.Equal(t, "ok", u.Result, "upgrade %d: %s", i, u.Error)
		t.Logf("%s %d%% to %s converged in %.1f ms", u.Type, u.SurgePercent, u.Version, u.DurationSeconds*1000)
	}
	assert.Empty(t, info.Failures)

	final := h.await(10*time.Second, "converged", func(i helmsman.Info) bool {
		return i.DesiredVersion != "" && converged(i.DesiredVersion, 3)(i)
	})
	for i := range f.procs {
		assert.Equal(t, final.DesiredVersion, f.served(i), "replica %d serves the desired version", i)
	}
	assert.Zero(t, final.Reconciles, "upgrades converge by themselves, nothing left to reconcile")

	m := h.metrics()
	for _, name := range []string{
		`helmsman_receiver_status{status="RUNNING"} 1`, `helmsman_upgrade_requests_total{result="ok",type="IN_PLACE"}`,
		`helmsman_latest_version{version="` + final.DesiredVersion + `"} 1`, `helmsman_latest_upgrade_type{type=`,
		`helmsman_replicas{state="ready"} 3`, "helmsman_upgrade_duration_seconds_count", "helmsman_reconciles_total 0",
		"helmsman_running 0",
	} {
		assert.Contains(t, m, name)
	}
}

// TestKilledDuringRollout kills a replica while a slow ROLLOUT is under way: the status is
// UNHEALTHY until the replica is back, then the rollout completes (or says why not) and the
// replicas converge.
func TestKilledDuringRollout(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real binaries")
	}
	f := startFleet(t, 3, "alpha")
	h := startHelm(t, map[string]string{
		"TARGETS": f.targets(), "STATUS_INTERVAL": "100ms", "GRACE_PERIOD": "500ms", "LOST_AFTER": "1s",
		"UPGRADE_INTERVAL": "200ms", "UPGRADE_TYPES": "ROLLOUT", "UPGRADE_STEP_PAUSE": "2s", "UPGRADE_STEP_TIMEOUT": "30s",
	})
	h.await(10*time.Second, "adopted alpha", converged("alpha", 3))
	resp, _ := h.call(http.MethodPost, "/start")
	require.Equal(t, http.StatusOK, resp.StatusCode)

	h.await(10*time.Second, "first replica upgraded", func(i helmsman.Info) bool {
		return i.Upgrading != nil && replicaByAddr(i, f.procs[0].Addr).Version == "beta"
	})
	stopped := make(chan struct{})
	go func() { defer close(stopped); h.call(http.MethodPost, "/stop") }() // no upgrade after this one

	require.NoError(t, f.procs[2].Signal(syscall.SIGKILL))
	info := h.await(10*time.Second, "unhealthy while a replica is gone", func(i helmsman.Info) bool { return i.Status == helmsman.Unhealthy })
	assert.NotNil(t, info.Upgrading, "the rollout is still under way")
	for range 5 { // it stays UNHEALTHY, never RUNNING, while the replica is gone
		h.awaitRounds(1)
		assert.Equal(t, helmsman.Unhealthy, h.info().Status)
	}

	f.restart(2, "alpha") // a platform brings it back, from its old configuration
	<-stopped
	final := h.await(30*time.Second, "converged on beta", converged("beta", 3))
	require.Len(t, final.History, 1)
	u := final.History[0]
	assert.Equal(t, chaos.Rollout, u.Type)
	if u.Result != "ok" {
		assert.Contains(t, []string{chaos.ReasonUnreachable, chaos.ReasonRefused}, u.Result, u.Error)
		require.NotEmpty(t, final.Failures)
	}
	for i := range f.procs {
		assert.Equal(t, "beta", f.served(i))
	}
}

// TestLostReplicaResetBeforeReady freezes a replica past LOST_AFTER while an upgrade runs:
// the upgrade fails with its reason and the status is never RUNNING; once thawed, the replica
// is reset to the desired version before it counts as ready (seed 003, case 3).
func TestLostReplicaResetBeforeReady(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real binaries")
	}
	f := startFleet(t, 3, "alpha")
	h := startHelm(t, map[string]string{
		"TARGETS": f.targets(), "STATUS_INTERVAL": "100ms", "GRACE_PERIOD": "500ms", "LOST_AFTER": "1s",
		"UPGRADE_INTERVAL": "100ms", "UPGRADE_TYPES": "IN_PLACE", "UPGRADE_STEP_TIMEOUT": "1s",
	})
	h.await(10*time.Second, "adopted alpha", converged("alpha", 3))
	frozen := f.procs[1]
	require.NoError(t, frozen.Signal(syscall.SIGSTOP))
	h.await(10*time.Second, "replica lost", func(i helmsman.Info) bool {
		r := replicaByAddr(i, frozen.Addr)
		return r != nil && r.State == helmsman.StateLost && i.Status == helmsman.Unhealthy
	})

	resp, _ := h.call(http.MethodPost, "/start")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	info := h.await(20*time.Second, "upgrade failed", func(i helmsman.Info) bool { return len(i.History) >= 1 })
	resp, _ = h.call(http.MethodPost, "/stop")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	u := info.History[len(info.History)-1]
	assert.Equal(t, "beta", u.Version)
	assert.Equal(t, chaos.ReasonUnreachable, u.Result, u.Error)
	assert.Contains(t, u.Error, frozen.Addr)
	require.NotEmpty(t, info.Failures)
	assert.Contains(t, h.metrics(), `helmsman_upgrade_requests_total{result="unreachable",type="IN_PLACE"} 1`)
	assert.NotEqual(t, helmsman.Running, h.info().Status, "a failed upgrade is never RUNNING")

	require.NoError(t, frozen.Signal(syscall.SIGCONT))
	deadline := time.Now().Add(20 * time.Second)
	for {
		i := h.info()
		r := replicaByAddr(i, frozen.Addr)
		require.NotNil(t, r)
		if r.Ready || r.State == helmsman.StateReady {
			assert.Equal(t, "beta", r.Version, "the thawed replica counts as ready only once reset")
		}
		if i.Status == helmsman.Running {
			assert.NotEqual(t, "alpha", r.Version)
			break
		}
		require.True(t, time.Now().Before(deadline), "not RUNNING again in time: %+v", i)
		time.Sleep(20 * time.Millisecond)
	}
	final := h.info()
	assert.EqualValues(t, 1, final.Resets, "the thawed replica was reset as lost")
	assert.Zero(t, final.Reconciles)
	assert.Equal(t, "beta", f.served(1))
	assert.Equal(t, "beta", f.config(1).Version)
}

// TestRestartAdoptsRunningVersion restarts the helmsman after an upgrade: the new one waits its
// grace period (STARTING, 503 on /start), adopts the version the replicas run, changes nothing
// and plans the other version next, so that it does not upgrade twice (seed 003, case 2).
func TestRestartAdoptsRunningVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real binaries")
	}
	f := startFleet(t, 3, "alpha")
	env := map[string]string{
		"TARGETS": f.targets(), "STATUS_INTERVAL": "100ms", "GRACE_PERIOD": "500ms", "LOST_AFTER": "1s",
		"UPGRADE_INTERVAL": "200ms", "UPGRADE_TYPES": "ROLLOUT", "AUTOSTART": "true",
	}
	first := startHelm(t, env)
	first.await(20*time.Second, "one upgrade", func(i helmsman.Info) bool { return len(i.History) >= 1 })
	resp, _ := first.call(http.MethodPost, "/stop")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	running := first.await(10*time.Second, "converged", func(i helmsman.Info) bool { return converged(i.DesiredVersion, 3)(i) }).DesiredVersion
	first.stop()

	var gens []int64
	for i := range f.procs {
		cfg := f.config(i)
		require.Equal(t, running, cfg.Version)
		gens = append(gens, cfg.Generation)
	}

	env["GRACE_PERIOD"] = "1500ms"
	env["UPGRADE_INTERVAL"] = "1h"
	second := startHelm(t, env)
	info := second.info()
	assert.Equal(t, helmsman.Starting, info.Status)
	assert.True(t, info.InGrace)
	assert.Empty(t, info.DesiredVersion, "nothing adopted before the grace period ends")
	resp, body := second.call(http.MethodPost, "/start")
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, string(body))
	assert.NotEmpty(t, resp.Header.Get("Retry-After"))
	assert.Contains(t, string(body), "GRACE_PERIOD")

	info = second.await(10*time.Second, "adopted", converged(running, 3))
	assert.Equal(t, "adopted", info.DesiredFrom)
	assert.Zero(t, info.Total.Requests, "no upgrade")
	assert.NotEqual(t, running, info.Next.Version, "the next upgrade goes to the other version")
	second.awaitRounds(5) // a few more status rounds: still nothing changes
	for i := range f.procs {
		cfg := f.config(i)
		assert.Equal(t, running, cfg.Version)
		assert.Equal(t, gens[i], cfg.Generation, "replica %d untouched by the restarted helmsman", i)
	}
	assert.True(t, strings.Contains(second.logs.String(), "adopted"), "the adoption is logged")
}

// TestReconcileStaleReplica changes a replica behind the helmsman's back, then restarts one
// from an old configuration: outside any upgrade, both are set back to the desired version and
// counted as reconciles.
func TestReconcileStaleReplica(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real binaries")
	}
	f := startFleet(t, 3, "alpha")
	h := startHelm(t, map[string]string{
		"TARGETS": f.targets(), "STATUS_INTERVAL": "100ms", "GRACE_PERIOD": "500ms", "LOST_AFTER": "5s",
	})
	h.await(10*time.Second, "adopted alpha", converged("alpha", 3))

	req, err := http.NewRequest(http.MethodPut, f.procs[0].URL+"/admin/config", strings.NewReader(`{"version":"gamma"}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	h.await(10*time.Second, "one reconcile", func(i helmsman.Info) bool { return i.Reconciles == 1 && converged("alpha", 3)(i) })
	assert.Equal(t, "alpha", f.served(0))

	require.NoError(t, f.procs[2].Signal(syscall.SIGKILL))
	_, err = f.procs[2].Wait(10 * time.Second)
	require.NoError(t, err)
	f.restart(2, "beta") // back from an old image, well within LOST_AFTER
	info := h.await(10*time.Second, "two reconciles", func(i helmsman.Info) bool { return i.Reconciles == 2 && converged("alpha", 3)(i) })
	assert.Zero(t, info.Resets, "never lost, so reconciled rather than reset")
	assert.Zero(t, info.Total.Requests, "no upgrade ran")
	assert.Equal(t, "alpha", f.served(2))
	assert.Contains(t, h.metrics(), "helmsman_reconciles_total 2")
}
