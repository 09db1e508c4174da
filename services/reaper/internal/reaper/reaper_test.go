package reaper

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/shared/chaos"
	"chaossuite.dev/shared/receiverapi"
)

func TestScheduleDelay(t *testing.T) {
	for _, tc := range []struct {
		name   string
		jitter time.Duration
		rand   float64
		want   time.Duration
	}{
		{"no jitter", 0, 0.9, 60 * time.Second},
		{"lowest", 6 * time.Second, 0, 54 * time.Second},
		{"middle", 6 * time.Second, 0.5, 60 * time.Second},
		{"almost highest", 6 * time.Second, 0.999999, 66 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Schedule{Interval: time.Minute, Jitter: tc.jitter, Rand: func() float64 { return tc.rand }}
			assert.InDelta(t, float64(tc.want), float64(s.Delay()), float64(time.Millisecond))
		})
	}
	s := Schedule{Interval: time.Minute, Jitter: 6 * time.Second}
	for range 1000 {
		d := s.Delay()
		assert.True(t, d >= 54*time.Second && d <= 66*time.Second, "%s", d)
	}
}

// fakeClock hands every wait to the test, which decides when it ends.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits chan fakeWait
}

type fakeWait struct {
	d time.Duration
	c chan time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	c.waits <- fakeWait{d: d, c: ch}
	return ch
}

// fire lets the pending wait pass, moving the clock by its duration.
func (c *fakeClock) fire(w fakeWait) {
	c.mu.Lock()
	c.now = c.now.Add(w.d)
	now := c.now
	c.mu.Unlock()
	w.c <- now
}

type fakeSender struct {
	sent    chan chaos.KillMethod
	results []string // by call, cycled
	n       atomic.Int64
}

func (s *fakeSender) Send(_ context.Context, m chaos.KillMethod) Result {
	i := s.n.Add(1) - 1
	res := Result{At: time.Now(), Method: string(m), Result: s.results[int(i)%len(s.results)]}
	if res.Result == ResultOK {
		res.Victim = "node-1"
	}
	s.sent <- m
	return res
}

func receive[T any](t *testing.T, c <-chan T) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("nothing arrived within 5s")
		panic("unreachable")
	}
}

func TestReaperSchedule(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), waits: make(chan fakeWait, 10)}
	sender := &fakeSender{sent: make(chan chaos.KillMethod, 10), results: []string{ResultOK, ResultRejected, ResultError}}
	reg := prometheus.NewRegistry()
	methods := []chaos.KillMethod{chaos.Stop, chaos.Halt}
	m := NewMetrics(reg, methods)
	rands := []float64{0, 0.5, 0.999, 0.25}
	var ri atomic.Int64
	r := New(Options{
		Schedule: Schedule{Interval: 60 * time.Second, Jitter: 6 * time.Second, Methods: methods,
			Rand: func() float64 { return rands[int(ri.Add(1)-1)%len(rands)] }},
		Sender: sender, Clock: clock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: m,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	wantMethods := []chaos.KillMethod{chaos.Stop, chaos.Halt, chaos.Stop, chaos.Halt}
	wantDelays := []time.Duration{54 * time.Second, 60 * time.Second, 65988 * time.Millisecond, 57 * time.Second}
	for i := range 4 {
		w := receive(t, clock.waits)
		assert.InDelta(t, float64(wantDelays[i]), float64(w.d), float64(time.Millisecond), "wait %d", i)
		info := r.Info()
		require.True(t, info.Running)
		require.NotNil(t, info.NextKillAt)
		assert.Equal(t, clock.Now().Add(w.d), *info.NextKillAt, "next kill is one wait from now")
		assert.Equal(t, string(wantMethods[i]), info.NextMethod)
		assert.EqualValues(t, i, info.Total.Requests, "no kill before its time")
		clock.fire(w)
		assert.Equal(t, wantMethods[i], receive(t, sender.sent))
	}
	receive(t, clock.waits) // the fifth wait: the fourth result is recorded
	info := r.Info()
	assert.EqualValues(t, 4, info.Total.Requests)
	assert.EqualValues(t, 4, info.SinceStart.Requests)
	assert.EqualValues(t, map[string]uint64{"ok": 2, "rejected": 1, "error": 1}, info.Total.ByResult)
	require.Len(t, info.LastResults, 4)
	assert.Equal(t, "halt", info.LastResults[0].Method, "newest first")
	assert.Equal(t, "node-1", info.LastResults[0].Victim)
	assert.Equal(t, "stop", info.NextMethod)

	assert.Equal(t, 1.0, testutil.ToFloat64(m.kills.WithLabelValues("stop", "ok")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.kills.WithLabelValues("halt", "rejected")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.kills.WithLabelValues("halt", "ok")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.kills.WithLabelValues("stop", "error")))
	assert.Equal(t, 0.0, testutil.ToFloat64(m.kills.WithLabelValues("stop", "rejected")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.latest.WithLabelValues("halt")))
	assert.Equal(t, 0.0, testutil.ToFloat64(m.latest.WithLabelValues("stop")))

	cancel()
	<-done
	info = r.Info()
	assert.False(t, info.Running)
	assert.Nil(t, info.NextKillAt)
}

func TestReaperKeepsTwentyResults(t *testing.T) {
	r := New(Options{Schedule: Schedule{Methods: []chaos.KillMethod{chaos.Stop}}, Metrics: NewMetrics(prometheus.NewRegistry(), nil),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for range 25 {
		r.record(Result{Method: "stop", Result: ResultOK})
	}
	info := r.Info()
	assert.Len(t, info.LastResults, 20)
	assert.EqualValues(t, 25, info.Total.Requests)
}

func TestReceiverSender(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var body map[string]string
		_ = json.NewDecoder(r.Body).Decode(&body)
		if r.Header.Get("Authorization") != "Bearer s3cret" || r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch body["kill_node"] {
		case "stop":
			_, _ = io.WriteString(w, `{"message":"Alpha Receiver running!","version":"alpha","kill":{"victim":"127.0.0.1:9","method":"stop"}}`)
		case "halt":
			w.WriteHeader(http.StatusConflict)
			_, _ = io.WriteString(w, `{"error":"conflict","detail":"no eligible victim"}`)
		case "pause":
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, `{"error":"bad gateway","detail":"nodekiller unreachable"}`)
		case "partition":
			<-r.Context().Done() // the caller gives up first
		}
	}))
	t.Cleanup(srv.Close)
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()

	for _, tc := range []struct {
		name   string
		url    string
		method chaos.KillMethod
		want   Result
		errHas string
	}{
		{"ok", srv.URL, chaos.Stop, Result{Result: ResultOK, Status: 200, Victim: "127.0.0.1:9"}, ""},
		{"rejected", srv.URL, chaos.Halt, Result{Result: ResultRejected, Status: 409}, "no eligible victim"},
		{"server error", srv.URL, chaos.Pause, Result{Result: ResultError, Status: 502}, "nodekiller unreachable"},
		{"timeout", srv.URL, chaos.Partition, Result{Result: ResultError, Kind: "timeout"}, "deadline"},
		{"refused", dead.URL, chaos.Stop, Result{Result: ResultError, Kind: "refused"}, "refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := calls.Load()
			assertSent(t, &ReceiverSender{URL: tc.url, Client: &receiverapi.Client{Token: "s3cret", Timeout: 100 * time.Millisecond}}, tc.method, tc.want, tc.errHas)
			if tc.url == srv.URL {
				assert.EqualValues(t, 1, calls.Load()-before, "one attempt, never retried")
			}
		})
	}
}

// nodekillerLike answers POST /kill as the nodekiller does, by the method asked: stop is
// carried out, halt finds no eligible victim, pause is beyond the driver, partition fails in
// the driver; a kill by "stop" with target "slow" never answers before its caller gives up.
func nodekillerLike(t *testing.T, calls *atomic.Int64) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var req receiverapi.KillRequest
		if r.Method != http.MethodPost || r.URL.Path != "/kill" || r.Header.Get("Authorization") != "Bearer s3cret" ||
			r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&req) != nil {
			w.WriteHeader(http.StatusTeapot)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch req.Method {
		case "stop":
			_ = json.NewEncoder(w).Encode(receiverapi.KillAnswer{Victim: "receiver-2", Method: "stop", Driver: "docker", At: time.Now().UTC()})
		case "halt":
			w.WriteHeader(http.StatusConflict)
			_, _ = io.WriteString(w, `{"error":"conflict","detail":"no eligible victim: 1 serving, a kill would break MIN_AVAILABLE=1"}`)
		case "pause":
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":"bad request","detail":"the http driver cannot pause a node"}`)
		case "partition":
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, `{"error":"bad gateway","detail":"listing nodes through the docker driver: engine gone"}`)
		case "spare":
			<-r.Context().Done() // the caller's limit ends it
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestNodekillerSender(t *testing.T) {
	var calls atomic.Int64
	nk := nodekillerLike(t, &calls)
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	for _, tc := range []struct {
		name   string
		url    string
		method chaos.KillMethod
		want   Result
		errHas string
	}{
		{"ok", nk.URL, chaos.Stop, Result{Result: ResultOK, Status: 200, Victim: "receiver-2"}, ""},
		{"base URL with a slash", nk.URL + "/", chaos.Stop, Result{Result: ResultOK, Status: 200, Victim: "receiver-2"}, ""},
		{"no eligible victim", nk.URL, chaos.Halt, Result{Result: ResultRejected, Status: 409}, "answered 409: no eligible victim"},
		{"method beyond the driver", nk.URL, chaos.Pause, Result{Result: ResultRejected, Status: 400}, "cannot pause"},
		{"driver failure", nk.URL, chaos.Partition, Result{Result: ResultError, Status: 502}, "engine gone"},
		{"timeout", nk.URL, chaos.Spare, Result{Result: ResultError, Kind: "timeout"}, "deadline"},
		{"refused", dead.URL, chaos.Stop, Result{Result: ResultError, Kind: "refused"}, "refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := calls.Load()
			assertSent(t, &NodekillerSender{URL: tc.url, Client: &receiverapi.Client{Token: "s3cret", Timeout: 200 * time.Millisecond}}, tc.method, tc.want, tc.errHas)
			if tc.url != dead.URL {
				assert.EqualValues(t, 1, calls.Load()-before, "one attempt, never retried")
			}
		})
	}
}

// assertSent sends one kill by m through s and checks what came of it.
func assertSent(t *testing.T, s Sender, m chaos.KillMethod, want Result, errHas string) {
	t.Helper()
	got := s.Send(context.Background(), m)
	assert.Equal(t, want.Result, got.Result, got.Error)
	assert.Equal(t, want.Status, got.Status)
	assert.Equal(t, want.Victim, got.Victim)
	assert.Equal(t, want.Kind, got.Kind)
	assert.Equal(t, string(m), got.Method)
	assert.Contains(t, got.Error, errHas)
	assert.NotContains(t, got.Error, "s3cret", "the token never shows")
	assert.Positive(t, got.DurationSeconds)
	assert.False(t, got.At.IsZero())
}
