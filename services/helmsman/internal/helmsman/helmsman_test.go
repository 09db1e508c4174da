package helmsman

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/shared/auth"
	"chaossuite.dev/shared/chaos"
	"chaossuite.dev/shared/control"
)

func TestPlanner(t *testing.T) {
	p := &Planner{Versions: []string{"beta", "alpha"}, Types: []chaos.UpgradeType{chaos.InPlace, chaos.MaxSurge, chaos.Rollout}, SurgePercents: []int{20, 50, 75}}
	desired := "alpha"
	var got []string
	for range 7 {
		plan := p.Take(desired)
		got = append(got, plan.String())
		desired = plan.Version
	}
	assert.Equal(t, []string{
		"IN_PLACE to beta", "MAX_SURGE 20% to alpha", "ROLLOUT to beta", "IN_PLACE to alpha",
		"MAX_SURGE 50% to beta", "ROLLOUT to alpha", "IN_PLACE to beta",
	}, got)
	assert.Equal(t, "beta", p.Next("unknown").Version, "an adopted version outside the list goes to the first")
}

func TestMajority(t *testing.T) {
	order := []string{"beta", "alpha"}
	for _, tc := range []struct {
		versions []string
		want     string
	}{
		{nil, ""},
		{[]string{"alpha", "beta", "alpha"}, "alpha"},
		{[]string{"alpha", "beta"}, "beta"},
		{[]string{"zeta", "gamma"}, "gamma"},
		{[]string{"zeta", "alpha"}, "alpha"},
		{[]string{"", "", "alpha"}, "alpha"},
	} {
		assert.Equal(t, tc.want, majority(tc.versions, order), "%v", tc.versions)
	}
}

// fakeUpgrader is a platform whose replicas the test sets.
type fakeUpgrader struct {
	mu       sync.Mutex
	replicas []chaos.Replica
	upgrade  error
	resets   []string
	replace  map[string]string // on Upgrade, replica name -> the name of its replacement
	// resetReplaces makes Reset replace the replica with one named name+"r", as a driver
	// that cannot change a replica in place does.
	resetReplaces bool
}

func (f *fakeUpgrader) Driver() string { return "fake" }

func (f *fakeUpgrader) Replicas(context.Context) ([]chaos.Replica, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]chaos.Replica(nil), f.replicas...), nil
}

func (f *fakeUpgrader) Upgrade(_ context.Context, plan chaos.UpgradePlan) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.upgrade != nil {
		f.replicas[0].Version = plan.Version // got that far
		return f.upgrade
	}
	for i := range f.replicas {
		f.replicas[i].Version = plan.Version
		if n, ok := f.replace[f.replicas[i].Name]; ok {
			f.replicas[i].Name, f.replicas[i].Address = n, "http://"+n
		}
	}
	return nil
}

func (f *fakeUpgrader) Reset(_ context.Context, r chaos.Replica, version string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resets = append(f.resets, r.Name+"="+version)
	for i := range f.replicas {
		if f.replicas[i].Address == r.Address {
			f.replicas[i].Version = version
			if f.resetReplaces {
				f.replicas[i].Name += "r"
			}
		}
	}
	return nil
}

func (f *fakeUpgrader) set(i int, ready bool, version string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.replicas[i].Ready = ready
	if version != "" {
		f.replicas[i].Version = version
	}
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newTestHelmsman(t testing.TB, versions ...string) (*Helmsman, *fakeUpgrader, *clock, *Metrics) {
	t.Helper()
	up := &fakeUpgrader{}
	for i, v := range versions {
		name := string(rune('a' + i))
		up.replicas = append(up.replicas, chaos.Replica{Name: name, Address: "http://" + name, Version: v, Ready: true})
	}
	c := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	m := NewMetrics(prometheus.NewRegistry(), []string{"beta", "alpha"})
	h := New(Options{
		Upgrader: up, Planner: &Planner{Versions: []string{"beta", "alpha"}, Types: []chaos.UpgradeType{chaos.Rollout}, SurgePercents: []int{20}},
		UpgradeInterval: time.Minute, StatusInterval: time.Second, GracePeriod: 3 * time.Second, LostAfter: 3 * time.Second,
		ExpectedReplicas: len(versions), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: m, Now: c.Now,
	})
	return h, up, c, m
}

// runningHelmsman is a helmsman over three replicas at alpha, past its grace period, RUNNING.
func runningHelmsman(t *testing.T) (*Helmsman, *fakeUpgrader, *clock, *Metrics) {
	t.Helper()
	h, up, c, m := newTestHelmsman(t, "alpha", "alpha", "alpha")
	c.add(3 * time.Second)
	h.observe(context.Background())
	require.Equal(t, Running, h.Info().Status)
	return h, up, c, m
}

func TestGraceThenAdoptAndReconcile(t *testing.T) {
	h, up, c, m := newTestHelmsman(t, "alpha", "beta", "alpha")
	ctx := context.Background()
	h.observe(ctx)
	assert.Equal(t, Starting, h.Info().Status)
	assert.Empty(t, h.Info().DesiredVersion, "nothing adopted during the grace period")
	assert.Empty(t, up.resets, "nothing changed during the grace period")

	c.add(3 * time.Second)
	h.observe(ctx)
	info := h.Info()
	assert.Equal(t, "alpha", info.DesiredVersion, "the majority's version")
	assert.Equal(t, "adopted", info.DesiredFrom)
	assert.Equal(t, []string{"b=alpha"}, up.resets, "the stale replica is reconciled")
	assert.EqualValues(t, 1, info.Reconciles)
	assert.Equal(t, 1.0, testutil.ToFloat64(m.reconciles))
	assert.Equal(t, Running, info.Status)
	assert.Equal(t, 1.0, testutil.ToFloat64(m.status.WithLabelValues(Running)))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.version.WithLabelValues("alpha")))
	assert.Equal(t, 3.0, testutil.ToFloat64(m.replicas.WithLabelValues("ready")))
}

func TestLostAndUnhealthy(t *testing.T) {
	h, up, c, m := runningHelmsman(t)
	ctx := context.Background()

	up.set(1, false, "")
	c.add(time.Second)
	h.observe(ctx)
	info := h.Info()
	assert.Equal(t, StateDown, info.Replicas[1].State)
	assert.Equal(t, Updating, info.Status, "not RUNNING with a replica down, not yet UNHEALTHY")

	c.add(3 * time.Second)
	h.observe(ctx)
	info = h.Info()
	assert.Equal(t, StateLost, info.Replicas[1].State)
	assert.Equal(t, Unhealthy, info.Status)
	assert.Equal(t, 1.0, testutil.ToFloat64(m.replicas.WithLabelValues("lost")))

	up.set(1, true, "")
	c.add(time.Second)
	h.observe(ctx)
	info = h.Info()
	assert.Equal(t, []string{"b=alpha"}, up.resets, "reset even at the desired version")
	assert.EqualValues(t, 1, info.Resets)
	assert.Zero(t, info.Reconciles)
	assert.Equal(t, StateReady, info.Replicas[1].State)
	assert.Equal(t, Running, info.Status)
}

// A replica replaced by a new one (a container or pod of another name) leaves the table once
// it has been gone from discovery for twice LOST_AFTER; it counts as lost until then.
func TestReplacedReplicaIsForgotten(t *testing.T) {
	h, up, c, _ := runningHelmsman(t)
	ctx := context.Background()

	up.mu.Lock()
	up.replicas[1] = chaos.Replica{Name: "b2", Address: "http://b", Version: "alpha", Ready: true}
	up.mu.Unlock()
	names := func() []string {
		var out []string
		for _, r := range h.Info().Replicas {
			out = append(out, r.Name+":"+r.State)
		}
		return out
	}
	c.add(4 * time.Second)
	h.observe(ctx)
	assert.ElementsMatch(t, []string{"a:ready", "b:lost", "b2:ready", "c:ready"}, names(),
		"the same address under another name is another replica")
	assert.Equal(t, Running, h.Info().Status, "three serve at the desired version")
	c.add(3 * time.Second)
	h.observe(ctx)
	assert.ElementsMatch(t, []string{"a:ready", "b2:ready", "c:ready"}, names())
}

// A replica replaced by an upgrade (a pod of the new ReplicaSet under another name) is logged
// as replaced and leaves the table at once: it is not lost, and nothing waits for it to return.
// One gone from discovery after the upgrade is lost as before.
func TestReplicaReplacedByAnUpgradeIsNotLost(t *testing.T) {
	h, up, c, _ := runningHelmsman(t)
	var logs syncBuffer
	h.o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	ctx := context.Background()
	up.replace = map[string]string{"b": "b2"}
	h.upgradeOnce(ctx)
	c.add(time.Second)
	h.observe(ctx)
	names := func() []string {
		var out []string
		for _, r := range h.Info().Replicas {
			out = append(out, r.Name+":"+r.State)
		}
		return out
	}
	assert.ElementsMatch(t, []string{"a:ready", "b2:ready", "c:ready"}, names())
	assert.Contains(t, logs.String(), `msg="replica replaced by the upgrade" replica=b`)
	assert.NotContains(t, logs.String(), "replica lost")

	// c goes after the upgrade: a kill, not a replacement.
	up.mu.Lock()
	up.replicas = up.replicas[:2]
	up.mu.Unlock()
	for range 4 {
		c.add(time.Second)
		h.observe(ctx)
	}
	assert.ElementsMatch(t, []string{"a:ready", "b2:ready", "c:lost"}, names())
	assert.Contains(t, logs.String(), `msg="replica lost" replica=c unseen_for=3s why="gone from discovery"`)
}

// A stale replica that its reset replaced (by image there is no change in place) leaves the
// table at once: not lost, and the status RUNNING with its replacement.
func TestReplicaReplacedByItsResetIsNotLost(t *testing.T) {
	h, up, c, _ := runningHelmsman(t)
	var logs syncBuffer
	h.o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	ctx := context.Background()
	up.resetReplaces = true
	up.set(1, true, "beta") // back from a kill on the version an upgrade left behind
	c.add(time.Second)
	h.observe(ctx)
	require.Equal(t, []string{"b=alpha"}, up.resets)
	for range 2 {
		c.add(time.Second)
		h.observe(ctx)
	}
	var names []string
	for _, r := range h.Info().Replicas {
		names = append(names, r.Name+":"+r.State+":"+r.Version)
	}
	assert.ElementsMatch(t, []string{"a:ready:alpha", "br:ready:alpha", "c:ready:alpha"}, names)
	assert.Equal(t, Running, h.Info().Status)
	assert.Contains(t, logs.String(), `msg="replica replaced by its reset" replica=b`)
	assert.NotContains(t, logs.String(), "replica lost")
}

type syncBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, p...)
	return len(p), nil
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.b)
}

func TestFailedUpgradeIsNeverRunning(t *testing.T) {
	h, up, _, m := runningHelmsman(t)
	ctx := context.Background()
	up.upgrade = &chaos.UpgradeError{Replica: "b", Reason: chaos.ReasonRefused, Err: errors.New("answered 400")}
	h.upgradeOnce(ctx)

	info := h.Info()
	require.Len(t, info.Failures, 1)
	assert.Equal(t, chaos.ReasonRefused, info.Failures[0].Result)
	assert.Contains(t, info.Failures[0].Error, "replica b refused")
	assert.Equal(t, "beta", info.DesiredVersion)
	assert.Equal(t, Updating, info.Status, "replicas at the old version: not RUNNING")
	assert.Equal(t, 1.0, testutil.ToFloat64(m.upgrades.WithLabelValues("ROLLOUT", "refused")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.upgradeTyp.WithLabelValues("ROLLOUT")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.version.WithLabelValues("beta")))

	h.observe(ctx) // the reconcile brings the stragglers over
	info = h.Info()
	assert.EqualValues(t, 2, info.Reconciles)
	assert.Equal(t, Running, info.Status)
	assert.Equal(t, "alpha", info.Next.Version)
}

func TestStartDuringGrace(t *testing.T) {
	h, _, c, _ := newTestHelmsman(t, "alpha")
	loop := control.New(context.Background(), "helmsman", func(ctx context.Context) { <-ctx.Done() }, nil)
	t.Cleanup(func() { loop.Stop() })
	r := chi.NewRouter()
	Routes(h, loop, auth.NewToken("tok"))(r)
	start := func() *http.Request {
		req := httptest.NewRequest(http.MethodPost, "/start", nil)
		req.Header.Set("Authorization", "Bearer tok") // /start is guarded like every destructive action
		return req
	}

	c.add(1200 * time.Millisecond)
	w := httptest.NewRecorder()
	r.ServeHTTP(w, start())
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.Equal(t, "2", w.Header().Get("Retry-After"))
	running, _ := loop.Running()
	assert.False(t, running)

	c.add(2 * time.Second)
	w = httptest.NewRecorder()
	r.ServeHTTP(w, start())
	assert.Equal(t, http.StatusOK, w.Code)
	running, _ = loop.Running()
	assert.True(t, running)
}

// /start and /stop need the token (403 with none configured) and take no body but {}: a
// refused request leaves the upgrade loop as it was.
func TestStartStopGuarded(t *testing.T) {
	for _, tc := range []struct {
		name, secret, bearer, ct, body string
		want                           int
	}{
		{"no token configured", "", "", "", "", 403},
		{"no token sent", "tok", "", "", "", 401},
		{"text body", "tok", "tok", "text/plain", "go", 415},
		{"a field", "tok", "tok", "application/json", `{"type":"ROLLOUT"}`, 400},
		{"key twice", "tok", "tok", "application/json", `{"a":1,"a":2}`, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _, c, _ := newTestHelmsman(t, "alpha")
			c.add(time.Hour) // past the grace period
			loop := control.New(context.Background(), "helmsman", func(ctx context.Context) { <-ctx.Done() }, nil)
			t.Cleanup(func() { loop.Stop() })
			r := chi.NewRouter()
			Routes(h, loop, auth.NewToken(tc.secret))(r)
			for _, path := range []string{"/start", "/stop"} {
				if path == "/stop" {
					loop.Start()
				}
				req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(tc.body))
				if tc.ct != "" {
					req.Header.Set("Content-Type", tc.ct)
				}
				if tc.bearer != "" {
					req.Header.Set("Authorization", "Bearer "+tc.bearer)
				}
				w := httptest.NewRecorder()
				r.ServeHTTP(w, req)
				assert.Equal(t, tc.want, w.Code, "%s: %s", path, w.Body)
				running, _ := loop.Running()
				assert.Equal(t, path == "/stop", running, "%s changed nothing", path)
			}
		})
	}
}

// FuzzStartStop: whatever the body, /start and /stop switch the upgrade loop and answer 200,
// or answer a 4xx and leave it as it was.
func FuzzStartStop(f *testing.F) {
	for _, s := range []string{"", "{}", "null", `{"type":"ROLLOUT"}`, "[]", "x", `{}{}`, `{"a":1,"a":1}`} {
		f.Add(s, "application/json")
		f.Add(s, "text/plain")
	}
	h, _, c, _ := newTestHelmsman(f, "alpha")
	c.add(time.Hour) // past the grace period
	loop := control.New(context.Background(), "helmsman", func(ctx context.Context) { <-ctx.Done() }, nil)
	f.Cleanup(func() { loop.Stop() })
	r := chi.NewRouter()
	Routes(h, loop, auth.NewToken("tok"))(r)
	f.Fuzz(func(t *testing.T, body, ct string) {
		for _, path := range []string{"/start", "/stop"} {
			before, _ := loop.Running()
			req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
			req.Header.Set("Content-Type", ct)
			req.Header.Set("Authorization", "Bearer tok")
			w := httptest.NewRecorder()
			r.ServeHTTP(w, req)
			after, _ := loop.Running()
			switch {
			case w.Code == http.StatusOK:
				if after != (path == "/start") {
					t.Fatalf("%s answered 200 and left running=%v", path, after)
				}
			case w.Code >= 400 && w.Code < 500:
				if after != before {
					t.Fatalf("%s with %q answered %d and switched the loop", path, body, w.Code)
				}
			default:
				t.Fatalf("%s with %q answered %d", path, body, w.Code)
			}
		}
	})
}
