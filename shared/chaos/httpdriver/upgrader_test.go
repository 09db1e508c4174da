package httpdriver_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/shared/chaos"
	"chaossuite.dev/shared/chaos/httpdriver"
)

// fleet is a set of fake receivers sharing one record of the PUTs they took.
type fleet struct {
	mu       sync.Mutex
	arrived  int   // PUTs seen so far
	atNew    []int // for each PUT, in arrival order: how many replicas served the new version then
	newVer   string
	batch    int // PUT i waits until min((i/batch+1)*batch, n) PUTs arrived
	n        int
	released chan struct{}
	cond     *sync.Cond
	replicas []*fakeReceiver
}

type fakeReceiver struct {
	f          *fleet
	srv        *httptest.Server
	version    string
	message    string
	generation int64
	refuse     int  // answer PUT with this status when not 0
	busy       int  // answer the next busy PUTs with 503
	sticky     bool // take PUTs but keep serving the old version
}

func newFleet(t *testing.T, n int, version string) *fleet {
	f := &fleet{n: n}
	f.cond = sync.NewCond(&f.mu)
	for range n {
		r := &fakeReceiver{f: f, version: version, message: chaos.DefaultMessage(version), generation: 1}
		r.srv = httptest.NewServer(r)
		t.Cleanup(r.srv.Close)
		f.replicas = append(f.replicas, r)
	}
	return f
}

func (f *fleet) targets() []string {
	out := make([]string, len(f.replicas))
	for i, r := range f.replicas {
		out[i] = r.srv.URL
	}
	return out
}

func (f *fleet) upgrader() *httpdriver.Upgrader {
	return &httpdriver.Upgrader{
		Discovery:   httpdriver.Discovery{Targets: f.targets()},
		Client:      &httpdriver.Client{Token: "t", Timeout: time.Second},
		StepTimeout: 2 * time.Second,
		Poll:        10 * time.Millisecond,
	}
}

func (r *fakeReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	f := r.f
	switch {
	case req.URL.Path == "/readyz":
		w.WriteHeader(http.StatusOK)
	case req.URL.Path == "/admin/config" && req.Method == http.MethodGet:
		f.mu.Lock()
		cfg := chaos.ReceiverConfig{Version: r.version, Message: r.message, Generation: r.generation}
		f.mu.Unlock()
		_ = json.NewEncoder(w).Encode(cfg)
	case req.URL.Path == "/admin/config" && req.Method == http.MethodPut:
		if req.Header.Get("Authorization") != "Bearer t" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var body struct{ Version, Message string }
		_ = json.NewDecoder(req.Body).Decode(&body)
		f.mu.Lock()
		defer f.mu.Unlock()
		if r.refuse != 0 {
			w.WriteHeader(r.refuse)
			return
		}
		if r.busy > 0 {
			r.busy--
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		i := f.arrived
		f.arrived++
		count := 0
		for _, o := range f.replicas {
			if o.version == f.newVer {
				count++
			}
		}
		f.atNew = append(f.atNew, count)
		f.cond.Broadcast()
		if f.batch > 0 {
			want := min((i/f.batch+1)*f.batch, f.n)
			deadline := time.AfterFunc(3*time.Second, func() { f.mu.Lock(); f.cond.Broadcast(); f.mu.Unlock() })
			start := time.Now()
			for f.arrived < want && time.Since(start) < 3*time.Second {
				f.cond.Wait()
			}
			deadline.Stop()
		}
		if !r.sticky {
			r.version, r.message = body.Version, body.Message
		}
		r.generation++
		_ = json.NewEncoder(w).Encode(chaos.ReceiverConfig{Version: r.version, Message: r.message, Generation: r.generation})
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func TestUpgradeBatches(t *testing.T) {
	for _, tc := range []struct {
		name      string
		n         int
		plan      chaos.UpgradePlan
		wantBatch int
	}{
		{"in place", 4, chaos.UpgradePlan{Type: chaos.InPlace, Version: "beta"}, 4},
		{"rollout", 4, chaos.UpgradePlan{Type: chaos.Rollout, Version: "beta"}, 1},
		{"max surge 20", 3, chaos.UpgradePlan{Type: chaos.MaxSurge, SurgePercent: 20, Version: "beta"}, 1},
		{"max surge 50", 4, chaos.UpgradePlan{Type: chaos.MaxSurge, SurgePercent: 50, Version: "beta"}, 2},
		{"max surge 75", 5, chaos.UpgradePlan{Type: chaos.MaxSurge, SurgePercent: 75, Version: "beta"}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFleet(t, tc.n, "alpha")
			f.newVer, f.batch = "beta", tc.wantBatch
			require.NoError(t, f.upgrader().Upgrade(context.Background(), tc.plan))

			f.mu.Lock()
			defer f.mu.Unlock()
			require.Len(t, f.atNew, tc.n, "one change per replica")
			for i, seen := range f.atNew {
				assert.GreaterOrEqual(t, seen, i/tc.wantBatch*tc.wantBatch,
					"change %d starts only once the batches before it serve the new version", i)
			}
			for _, r := range f.replicas {
				assert.Equal(t, "beta", r.version)
				assert.Equal(t, "Beta Receiver running!", r.message)
				assert.Equal(t, int64(2), r.generation)
			}
		})
	}
}

func TestUpgradeFailures(t *testing.T) {
	for _, tc := range []struct {
		name       string
		breakFleet func(f *fleet)
		wantReason string
	}{
		{"refused", func(f *fleet) { f.replicas[1].refuse = http.StatusBadRequest }, chaos.ReasonRefused},
		{"vanished", func(f *fleet) { f.replicas[2].srv.Close() }, chaos.ReasonUnreachable},
		{"unverified", func(f *fleet) { f.replicas[0].sticky = true }, chaos.ReasonUnverified},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFleet(t, 3, "alpha")
			tc.breakFleet(f)
			u := f.upgrader()
			u.StepTimeout = 300 * time.Millisecond
			err := u.Upgrade(context.Background(), chaos.UpgradePlan{Type: chaos.Rollout, Version: "beta"})
			require.Error(t, err)
			var ue *chaos.UpgradeError
			require.True(t, errors.As(err, &ue), "%v", err)
			assert.Equal(t, tc.wantReason, ue.Reason, "%v", err)
			assert.Equal(t, tc.wantReason, chaos.UpgradeReason(err))
			assert.NotEmpty(t, ue.Replica)
		})
	}
}

func TestUpgradeRetriesABusyReplica(t *testing.T) {
	f := newFleet(t, 2, "alpha")
	f.replicas[1].busy = 3
	require.NoError(t, f.upgrader().Upgrade(context.Background(), chaos.UpgradePlan{Type: chaos.InPlace, Version: "beta"}))
	assert.Equal(t, "beta", f.replicas[1].version)
}

func TestUpgradeCanceled(t *testing.T) {
	f := newFleet(t, 2, "alpha")
	f.replicas[0].srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := f.upgrader().Upgrade(ctx, chaos.UpgradePlan{Type: chaos.Rollout, Version: "beta"})
	assert.Equal(t, chaos.ReasonCanceled, chaos.UpgradeReason(err), "%v", err)
}

func TestReplicasAndReset(t *testing.T) {
	f := newFleet(t, 3, "alpha")
	f.replicas[2].srv.Close()
	u := f.upgrader()
	reps, err := u.Replicas(context.Background())
	require.NoError(t, err)
	require.Len(t, reps, 3)
	for i, r := range reps {
		assert.Equal(t, httpdriver.NodeName(f.replicas[i].srv.URL), r.Name)
		assert.Equal(t, i < 2, r.Ready, r.Name)
		if i < 2 {
			assert.Equal(t, "alpha", r.Version)
			assert.Equal(t, int64(1), r.Generation)
		}
	}
	require.NoError(t, u.Reset(context.Background(), reps[0], "alpha"))
	assert.Equal(t, int64(2), f.replicas[0].generation, "a reset changes the configuration even at the same version")
	require.NoError(t, u.Reset(context.Background(), reps[1], "gamma"))
	assert.Equal(t, "gamma", f.replicas[1].version)
	assert.Equal(t, "Gamma Receiver running!", f.replicas[1].message)
	assert.Equal(t, "http", u.Driver())
	var _ chaos.Upgrader = u
}
