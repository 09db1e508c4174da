package pinger

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/shared/auth"
	"chaossuite.dev/shared/lever"
	"chaossuite.dev/shared/proctest"
	"chaossuite.dev/shared/service"
)

const planeToken = "plane-token"

// fakePeer is a chaos service with a lever and settings, recording what it is told.
type fakePeer struct {
	mu    sync.Mutex
	calls []string
	lever *lever.Lever
	srv   *httptest.Server
}

func newFakePeer(t testing.TB) *fakePeer {
	f := &fakePeer{lever: lever.New(service.NewRegistry())}
	mux := http.NewServeMux()
	record := func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.calls = append(f.calls, r.Method+" "+r.URL.Path+" "+strings.TrimSpace(string(body))+" "+r.Header.Get("Authorization"))
		f.mu.Unlock()
	}
	mux.HandleFunc("POST /halt", func(w http.ResponseWriter, r *http.Request) {
		record(w, r)
		lever.HaltHandler(f.lever, nil).ServeHTTP(w, r)
	})
	mux.HandleFunc("POST /resume", func(w http.ResponseWriter, r *http.Request) {
		record(w, r)
		lever.ResumeHandler(f.lever).ServeHTTP(w, r)
	})
	mux.HandleFunc("GET /halt", func(w http.ResponseWriter, r *http.Request) { lever.StateHandler(f.lever).ServeHTTP(w, r) })
	mux.HandleFunc("PUT /settings", func(w http.ResponseWriter, r *http.Request) { record(w, r); _, _ = w.Write([]byte(`{}`)) })
	mux.HandleFunc("GET /info", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{}`)) })
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakePeer) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func newPlane(t testing.TB, token string, targets []Target, peers map[string]*fakePeer) (*Pinger, string) {
	t.Helper()
	reg := service.NewRegistry()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	peer := func(name string) *Peer {
		p := &Peer{Name: name, Token: token, Client: http.DefaultClient}
		if f := peers[name]; f != nil {
			p.URL = f.srv.URL
		}
		return p
	}
	p := New(context.Background(), Options{Targets: targets, Metrics: NewMetrics(reg), Logger: log, Token: token, PendingFactor: 2,
		Reaper: peer("reaper"), Helmsman: peer("helmsman"), Nodekiller: peer("nodekiller"), Lever: lever.New(reg)})
	t.Cleanup(func() { p.Loop().Stop() })
	srv := httptest.NewServer(service.NewRouter(service.Deps{Name: "pinger", Logger: log, Registry: reg, Token: auth.NewToken(token)}, Routes(p, auth.NewToken(token))))
	t.Cleanup(srv.Close)
	return p, srv.URL
}

// POST /halt reaches every chaos service at once and holds on the pinger: chaos cannot be
// started until POST /resume, which reaches them all too; /info says who is halted.
func TestHaltFansOutAndResumes(t *testing.T) {
	peers := map[string]*fakePeer{"reaper": newFakePeer(t), "helmsman": newFakePeer(t), "nodekiller": newFakePeer(t)}
	_, base := newPlane(t, planeToken, nil, peers)

	code, body, err := proctest.TryCall(http.MethodPost, base+"/halt", planeToken, "")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code, body)
	for name, f := range peers {
		assert.Equal(t, []string{"POST /halt  Bearer " + planeToken}, f.seen(), name)
		assert.True(t, f.lever.Halted(), name)
	}
	code, _, _ = proctest.TryCall(http.MethodPost, base+"/start-helmsman", planeToken, "")
	assert.Equal(t, http.StatusConflict, code)
	code, _, _ = proctest.TryCall(http.MethodPost, base+"/start", planeToken, "")
	assert.Equal(t, http.StatusConflict, code)

	var info Info
	getJSON(t, base+"/info", planeToken, &info)
	assert.True(t, info.Halt.Halted)
	assert.ElementsMatch(t, []string{"pinger", "nodekiller", "reaper", "helmsman"}, info.Halt.By)
	require.NotNil(t, info.Halt.Since)

	code, _, _ = proctest.TryCall(http.MethodPost, base+"/resume", planeToken, "")
	require.Equal(t, http.StatusOK, code)
	for name, f := range peers {
		assert.False(t, f.lever.Halted(), name)
	}
	getJSON(t, base+"/info", planeToken, &info)
	assert.False(t, info.Halt.Halted)
	code, _, _ = proctest.TryCall(http.MethodPost, base+"/start-pingers", planeToken, "")
	assert.Equal(t, http.StatusOK, code)
}

// The lever and every setting need the token: 403 when none is configured, 401 when wrong.
func TestPlaneNeedsToken(t *testing.T) {
	_, open := newPlane(t, "", nil, nil)
	_, guarded := newPlane(t, planeToken, nil, nil)
	for _, r := range []struct{ method, path, body string }{
		{http.MethodPost, "/halt", ""}, {http.MethodPost, "/resume", ""},
		{http.MethodPut, "/chaos", `{"kill":{}}`}, {http.MethodPut, "/rate", `{"target":"t","qps":5}`},
	} {
		code, _, err := proctest.TryCall(r.method, open+r.path, "", r.body)
		require.NoError(t, err)
		assert.Equal(t, http.StatusForbidden, code, "%s without a token configured", r.path)
		code, _, _ = proctest.TryCall(r.method, guarded+r.path, "wrong", r.body)
		assert.Equal(t, http.StatusUnauthorized, code, "%s with a wrong token", r.path)
	}
}

// PUT /chaos passes each part on as the service's PUT /settings; PUT /rate shapes a target.
func TestChaosSettingsAndRate(t *testing.T) {
	peers := map[string]*fakePeer{"reaper": newFakePeer(t), "helmsman": newFakePeer(t)}
	p, base := newPlane(t, planeToken, []Target{{Name: "t", URL: "http://127.0.0.1:9/", QPS: 10, Method: "GET", Connection: KeepAlive}}, peers)

	code, body, err := proctest.TryCall(http.MethodPut, base+"/chaos", planeToken, `{"kill":{"methods":["stop"],"interval":"5s"}}`)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code, body)
	assert.Equal(t, []string{`PUT /settings {"methods":["stop"],"interval":"5s"} Bearer ` + planeToken}, peers["reaper"].seen())
	assert.Empty(t, peers["helmsman"].seen(), "a part left out is not touched")

	code, _, _ = proctest.TryCall(http.MethodPut, base+"/rate", planeToken, `{"target":"t","qps":40,"to":80,"over":"10s"}`)
	require.Equal(t, http.StatusOK, code)
	pacer := p.targets[0].attacker.Pacer.(*ShapedPacer)
	assert.Equal(t, Shape{From: 40, To: 80, Over: 10 * time.Second}, pacer.Shape())
	assert.Equal(t, 160, pacer.Cap(), "the in-flight cap follows the highest rate")
	for _, bad := range []string{`{"target":"nobody","qps":5}`, `{"target":"t","qps":0}`, `{"target":"t","qps":5,"to":9,"over":"soon"}`, `{"target":"t","qps":1e9}`} {
		code, _, _ = proctest.TryCall(http.MethodPut, base+"/rate", planeToken, bad)
		assert.Contains(t, []int{http.StatusBadRequest, http.StatusNotFound}, code, bad)
	}
	assert.Equal(t, Shape{From: 40, To: 80, Over: 10 * time.Second}, pacer.Shape(), "a refused change changes nothing")
	code, _, _ = proctest.TryCall(http.MethodPut, base+"/rate", planeToken, `{"target":"t","reset":true}`)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, Shape{From: 10, To: 10}, pacer.Shape())
}

func getJSON(t *testing.T, url, token string, out any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	auth.SetBearer(req, token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.NoError(t, json.NewDecoder(resp.Body).Decode(out))
}

// A constant shape and a ramp schedule exactly their integral: a ramp from 10 to 30 over 10 s
// sends 200 requests in those 10 s, then 30 a second.
func TestShapeSchedules(t *testing.T) {
	c := Shape{From: 10, To: 10}
	assert.Equal(t, time.Second, c.offset(10))
	r := Shape{From: 10, To: 30, Over: 10 * time.Second}
	assert.InDelta(t, 200, r.hits(10*time.Second), 1e-9)
	assert.InDelta(t, 10*time.Second, float64(r.offset(200)), float64(time.Microsecond))
	assert.InDelta(t, 11*time.Second, float64(r.offset(230)), float64(time.Microsecond))
	for k := uint64(1); k < 400; k += 7 {
		tau := r.offset(k)
		assert.InDelta(t, float64(k), r.hits(tau), 1e-6, "hit %d is due when the integral reaches it", k)
		assert.Greater(t, tau, r.offset(k-1))
	}
	down := Shape{From: 30, To: 10, Over: 10 * time.Second}
	assert.InDelta(t, 200, down.hits(10*time.Second), 1e-9)
	assert.InDelta(t, float64(10*time.Second), float64(down.offset(200)), float64(time.Microsecond))
	assert.False(t, math.IsNaN(float64(down.offset(199))))
}

// A change while running starts a new segment at that moment with the hits already due: no
// burst, no gap.
func TestShapedPacerChangeMidRun(t *testing.T) {
	p := NewShapedPacer(10, 2)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p.Begin(t0)
	assert.Equal(t, 500*time.Millisecond, p.Due(5))
	require.NoError(t, p.Set(t0.Add(1050*time.Millisecond), Shape{From: 100}))
	// 11 hits (0..10) were due by 1.05 s; hit 11 leaves at the change, then every 10 ms.
	assert.Equal(t, 1050*time.Millisecond, p.Due(10), "a hit due before the change and not sent yet leaves at once")
	assert.Equal(t, 1050*time.Millisecond, p.Due(11))
	assert.Equal(t, 1060*time.Millisecond, p.Due(12))
	assert.InDelta(t, 100, p.Rate(t0.Add(2*time.Second)), 1e-9)
	p.End()
	require.NoError(t, p.Set(t0.Add(3*time.Second), Shape{From: 5, To: 15, Over: time.Second}))
	p.Begin(t0.Add(10 * time.Second))
	assert.Equal(t, time.Duration(0), p.Due(0), "a shape set while stopped begins at the next start")
	assert.InDelta(t, 10, p.Rate(t0.Add(10*time.Second+500*time.Millisecond)), 1e-9)
	assert.Error(t, p.Set(t0, Shape{From: -1}))
}

// PUT /targets replaces the targets only while the pingers are stopped; DELETE puts the
// configured ones back.
func TestSetTargets(t *testing.T) {
	p, base := newPlane(t, planeToken, []Target{{Name: "own", URL: "http://127.0.0.1:9/", QPS: 10, Method: "GET", Connection: KeepAlive}}, nil)
	list := `[{"name":"plan","url":"http://127.0.0.1:9/","qps":5,"method":"GET","connection":"keepalive"}]`
	code, _, _ := proctest.TryCall(http.MethodPost, base+"/start-pingers", planeToken, "")
	require.Equal(t, http.StatusOK, code)
	code, _, _ = proctest.TryCall(http.MethodPut, base+"/targets", planeToken, list)
	assert.Equal(t, http.StatusConflict, code, "not while running")
	p.Loop().Stop()
	for _, bad := range []string{`[]`, `[{"name":"x"}]`, `{}`, `[{"name":"a","url":"http://x/","qps":5,"pwned":1}]`} {
		code, _, _ = proctest.TryCall(http.MethodPut, base+"/targets", planeToken, bad)
		assert.Equal(t, http.StatusBadRequest, code, bad)
	}
	assert.Equal(t, "own", p.probes()[0].target.Name, "a refused list changes nothing")
	code, _, _ = proctest.TryCall(http.MethodPut, base+"/targets", planeToken, list)
	require.Equal(t, http.StatusOK, code)
	var info Info
	getJSON(t, base+"/info", planeToken, &info)
	require.Len(t, info.Targets, 1)
	assert.Equal(t, "plan", info.Targets[0].Name)
	code, _, _ = proctest.TryCall(http.MethodDelete, base+"/targets", planeToken, "")
	require.Equal(t, http.StatusOK, code)
	getJSON(t, base+"/info", planeToken, &info)
	assert.Equal(t, "own", info.Targets[0].Name)
	code, _, _ = proctest.TryCall(http.MethodDelete, base+"/targets", "wrong", "")
	assert.Equal(t, http.StatusUnauthorized, code)
}

// Whatever the plan endpoints are sent, they answer 2xx or 4xx and leave a pacer that paces.
func FuzzPlaneBodies(f *testing.F) {
	f.Add("/rate", `{"target":"t","qps":5,"to":50,"over":"10s"}`)
	f.Add("/rate", `{"target":"t","reset":true}`)
	f.Add("/chaos", `{"kill":{"methods":["stop"]}}`)
	f.Add("/targets", `[{"name":"x","url":"http://127.0.0.1:9/","qps":1}]`)
	peers := map[string]*fakePeer{"reaper": newFakePeer(f), "helmsman": newFakePeer(f)}
	p, base := newPlane(f, planeToken, []Target{{Name: "t", URL: "http://127.0.0.1:9/", QPS: 10, Method: "GET", Connection: KeepAlive}}, peers)
	f.Fuzz(func(t *testing.T, path, body string) {
		if path != "/rate" && path != "/chaos" && path != "/targets" {
			return
		}
		code, _, err := proctest.TryCall(http.MethodPut, base+path, planeToken, body)
		if err != nil {
			t.Fatal(err)
		}
		if code/100 != 2 && code/100 != 4 {
			t.Fatalf("PUT %s %q answered %d", path, body, code)
		}
		for _, pr := range p.probes() {
			s := pr.attacker.Pacer.(*ShapedPacer).Shape()
			if s.From <= 0 || s.To <= 0 || s.Over < 0 || pr.attacker.Pacer.Due(1000) <= 0 {
				t.Fatalf("PUT %s %q left the shape %+v", path, body, s)
			}
		}
	})
}
