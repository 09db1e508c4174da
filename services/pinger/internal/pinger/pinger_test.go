package pinger

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/shared/auth"
	"chaossuite.dev/shared/httpclient"
	"chaossuite.dev/shared/service"
)

// run drives one target's attacker, its requests answered by h in memory, for d and returns
// its recorder's figures. Call it inside a synctest bubble: d is then fake time, exact.
func run(t *testing.T, target Target, h http.Handler, cap int, policy httpclient.Policy, timeout, d time.Duration) Stats {
	t.Helper()
	a := newAttacker(t, target, h, cap, policy, timeout)
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	a.Run(ctx)
	return a.Recorder.Stats(time.Now(), false)
}

// newAttacker is the attacker of target, its requests answered by h in memory.
func newAttacker(t *testing.T, target Target, h http.Handler, cap int, policy httpclient.Policy, timeout time.Duration) *Attacker {
	t.Helper()
	require.NoError(t, target.Validate())
	m := NewMetrics(prometheus.NewRegistry())
	return &Attacker{
		Sender:   NewSender(target, "", policy, timeout, RealClock{}, cap, inMemory(h)),
		Pacer:    ConstantPacer{Rate: target.QPS},
		Cap:      cap,
		Recorder: newRecorder(m.forTarget(target.Name)),
		Clock:    RealClock{},
	}
}

func noRetry() httpclient.Policy { return httpclient.Policy{MaxAttempts: 1} }

// The timing tests run in a synctest bubble: the clock is fake and moves only when every
// goroutine of the test waits, so requests leave exactly when due and latencies are exact,
// whatever the machine's load. A run stops between two due times (the rates below send every
// 5 or 10 ms; the runs stop 1 ms short of a whole second), never on one.

// TestNoCoordinatedOmission: a server that stalls 2 s at 100 QPS must give 200 slow requests,
// not one: requests leave on schedule and latency counts from the scheduled time.
func TestNoCoordinatedOmission(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stallEnd := make(chan struct{})
		stall := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-stallEnd })
		time.AfterFunc(2*time.Second, func() { close(stallEnd) })
		st := run(t, Target{Name: "t", URL: memoryURL, QPS: 100}, stall, 250, noRetry(), 10*time.Second, 3*time.Second-time.Millisecond)
		assert.EqualValues(t, 300, st.Lifetime.Requests, "one request every 10 ms for 3 s")
		assert.Zero(t, st.Lifetime.Dropped)
		// Requests due in the first 2 s waited for the stall's end: the 200 of them took 10 ms
		// to 2 s, the 100 after none, so the median (the 150th) took 500 ms and the slowest 2 s.
		assert.Greater(t, st.LifetimeLatencyMs.P50, 50.0)
		assert.InDelta(t, 500, st.LifetimeLatencyMs.P50, 1)
		assert.Greater(t, st.LifetimeLatencyMs.Max, 1900.0)
		assert.InDelta(t, 2000, st.LifetimeLatencyMs.Max, 2)
	})
}

func TestCapDropsAndCounts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		blackHole := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		})
		a := newAttacker(t, Target{Name: "t", URL: memoryURL, QPS: 200}, blackHole, 10, noRetry(), 30*time.Second)

		// Watch the pending count every millisecond while the black hole holds every request.
		var peak atomic.Int64
		watchCtx, stopWatch := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() {
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			for {
				peak.Store(max(peak.Load(), a.Pending()))
				select {
				case <-watchCtx.Done():
					return
				case <-tick.C:
				}
			}
		})
		ctx, cancel := context.WithTimeout(context.Background(), time.Second-time.Millisecond)
		defer cancel()
		time.AfterFunc(1100*time.Millisecond, func() { close(release) })
		a.Run(ctx)
		stopWatch()
		wg.Wait()

		st := a.Recorder.Stats(time.Now(), false)
		assert.EqualValues(t, 10, st.Lifetime.Requests, "only the cap was sent")
		assert.EqualValues(t, 190, st.Lifetime.Dropped, "the rest of the 200 due were dropped and counted")
		assert.LessOrEqual(t, peak.Load(), int64(10))
		assert.EqualValues(t, 10, peak.Load(), "the cap was reached")
		assert.Zero(t, a.Pending())
	})
}

func TestRetries(t *testing.T) {
	var calls atomic.Int32
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1)%2 == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("X-Receiver-Version", "beta")
	}))
	defer flaky.Close()
	policy := httpclient.Policy{MaxAttempts: 5, Base: time.Millisecond, Max: 2 * time.Millisecond}
	sender := func(url string) *Sender {
		tg := Target{Name: "t", URL: url, Method: "GET", QPS: 1}
		require.NoError(t, tg.Validate())
		return NewSender(tg, "", policy, time.Second, RealClock{}, 4, Network{})
	}
	s := sender(flaky.URL)
	res := s.Send(context.Background(), 0, time.Now())
	assert.True(t, res.OK, "a 503 then a 200 is one success")
	assert.False(t, res.FirstOK)
	assert.Equal(t, 2, res.Attempts)
	assert.Equal(t, "beta", res.Version)

	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer down.Close()
	policy.MaxAttempts = 3
	s = sender(down.URL)
	res = s.Send(context.Background(), 0, time.Now())
	assert.False(t, res.OK)
	assert.Equal(t, 3, res.Attempts, "retries stop at MAX_ATTEMPTS")
	assert.Equal(t, 502, res.Code)

	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
	}))
	defer bad.Close()
	s = sender(bad.URL)
	res = s.Send(context.Background(), 0, time.Now())
	assert.Equal(t, 1, res.Attempts, "a 400 is not retried")

	s = sender("http://" + closedAddr(t))
	res = s.Send(context.Background(), 0, time.Now())
	assert.Equal(t, "refused", res.Kind)
	assert.Equal(t, 3, res.Attempts)
}

func closedAddr(t *testing.T) string {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := strings.TrimPrefix(srv.URL, "http://")
	srv.Close()
	return addr
}

func TestInfoSurvivesPeersDown(t *testing.T) {
	reg := service.NewRegistry()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	p := New(context.Background(), Options{
		Targets: nil, Metrics: NewMetrics(reg), Logger: log,
		Reaper:   &Peer{Name: "reaper", URL: "http://" + closedAddr(t), Client: http.DefaultClient},
		Helmsman: &Peer{Name: "helmsman", Client: http.DefaultClient},
	})
	srv := httptest.NewServer(service.NewRouter(service.Deps{Name: "pinger", Logger: log, Registry: reg}, Routes(p, auth.NewToken("tok"))))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/info")
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	var info Info
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&info))
	assert.Contains(t, info.Reaper.Error, "reaper unreachable")
	assert.Contains(t, info.Helmsman.Error, "not configured")

	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/start", nil)
	req.Header.Set("Authorization", "Bearer tok") // /start needs the token, as every destructive action
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode, "the unreachable reaper is reported")
	running, _ := p.Loop().Running()
	assert.True(t, running, "the pingers started all the same")
	p.Loop().Stop()
}

func TestReportChart(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rep := Report{From: t0, To: t0.Add(30 * time.Second), Targets: []TargetReport{{TargetInfo: TargetInfo{Name: "receiver"}, Timeline: []Bucket{
		{Start: t0, Requests: 100, Succeeded: 100, FirstAttempt: 100},
		{Start: t0.Add(10 * time.Second), Requests: 100, Succeeded: 97, FirstAttempt: 90},
		{Start: t0.Add(20 * time.Second), Requests: 100, Succeeded: 100, FirstAttempt: 100},
	}}}, Events: []Event{
		{At: t0.Add(12 * time.Second), Kind: "kill", What: "halt r1", Result: "ok"},
		{At: t0.Add(25 * time.Second), Kind: "upgrade", What: "ROLLOUT to beta", Result: "ok"},
	}}
	page, err := RenderHTML(rep)
	require.NoError(t, err)
	html := string(page)
	assert.Contains(t, html, `data-points="3"`, "a point per bucket")
	assert.Equal(t, 3, len(strings.Fields(strings.Split(strings.Split(html, `points="`)[2], `"`)[0])))
	// The availability chart draws after retries and first attempt; the p99 chart has no
	// latencies to draw, so it is left out: each event is marked once.
	assert.Equal(t, 2, strings.Count(html, `class="series"`))
	assert.Equal(t, 1, strings.Count(html, `class="mark kill"`))
	assert.Equal(t, 1, strings.Count(html, `class="mark upgrade"`))
	assert.Contains(t, html, "halt r1")
}

func FuzzParseTargets(f *testing.F) {
	f.Add(`[{"name":"a","url":"http://x:1/","qps":5}]`)
	f.Add(`[{"name":"a","url":"http://x:1/","qps":5,"method":"get","body":{"k":1},"token":"t"}]`)
	f.Add(`[{"name":"a","url":"http://x:1/","qps":5,"connection":"keepalive","shared_token":true}]`)
	f.Add(`[{"name":"a","url":"http://x:1/","qps":5,"connection":"pooled"}]`)
	f.Add(`[{"name":"a","url":"http://x:1/","qps":5,"version_header":"x-app-version"}]`)
	f.Add(`[{"name":"a","url":"http://x:1/","qps":5,"version_header":"None"}]`)
	f.Add(`[{"name":"a","url":"http://x:1/","qps":5,"version_header":"X App"}]`)
	f.Add(`[]`)
	f.Add(`{}`)
	f.Fuzz(func(t *testing.T, s string) {
		ts, err := ParseTargets(s)
		if err != nil {
			return
		}
		for _, tg := range ts {
			if tg.QPS <= 0 || tg.QPS > maxQPS || tg.Name == "" || tg.Method == "" ||
				(tg.Connection != Spread && tg.Connection != KeepAlive && tg.Connection != NewConnection) {
				t.Fatalf("accepted a bad target %+v", tg)
			}
			if h, err := ValidVersionHeader(tg.VersionHeader); err != nil || h != tg.VersionHeader {
				t.Fatalf("accepted version header %q, not canonical (%q, %v)", tg.VersionHeader, h, err)
			}
		}
	})
}
