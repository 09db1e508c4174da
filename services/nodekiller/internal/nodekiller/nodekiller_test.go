package nodekiller_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/nodekiller/internal/nodekiller"
	"chaossuite.dev/shared/auth"
	"chaossuite.dev/shared/chaos"
	"chaossuite.dev/shared/receiverapi"
	"chaossuite.dev/shared/service"
)

const token = "tok"

// fakeKiller is an in-memory platform: nodes that die when killed and come back when revived.
type fakeKiller struct {
	mu       sync.Mutex
	nodes    map[string]bool // name -> serving
	kills    []string
	methods  []chaos.KillMethod
	seenDown map[string]bool // nodes a probe has found not serving
	removed  map[string]bool // nodes that no longer exist: an upgrade replaced them
	killing  func(context.Context)
}

func newFakeKiller(names ...string) *fakeKiller {
	f := &fakeKiller{nodes: map[string]bool{}, seenDown: map[string]bool{}, removed: map[string]bool{}}
	for _, n := range names {
		f.nodes[n] = true
	}
	return f
}

func (f *fakeKiller) Driver() string { return "fake" }
func (f *fakeKiller) Supports(m chaos.KillMethod) bool {
	return m == chaos.Stop || m == chaos.Halt
}

func (f *fakeKiller) Nodes(context.Context) ([]chaos.Node, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []chaos.Node
	for n, up := range f.nodes {
		out = append(out, chaos.Node{Name: n, Address: "http://" + n + ".test:8000", Ready: up})
	}
	return out, nil
}

func (f *fakeKiller) Kill(ctx context.Context, n chaos.Node, m chaos.KillMethod, _ time.Duration) error {
	if f.killing != nil {
		f.killing(ctx)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nodes[n.Name] = false
	f.kills = append(f.kills, n.Name)
	f.methods = append(f.methods, m)
	return nil
}

func (f *fakeKiller) Serving(_ context.Context, n chaos.Node) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.nodes[n.Name] {
		f.seenDown[n.Name] = true
	}
	return f.nodes[n.Name]
}

func (f *fakeKiller) Gone(_ context.Context, n chaos.Node) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.removed[n.Name]
}

// replace removes a node, as an upgrade that replaces it does.
func (f *fakeKiller) replace(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.nodes, name)
	f.removed[name] = true
}

func (f *fakeKiller) wasSeenDown(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seenDown[name]
}

func (f *fakeKiller) revive(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nodes[name] = true
}

func (f *fakeKiller) killCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.kills)
}

type fixture struct {
	srv    *httptest.Server
	killer *fakeKiller
	nk     *nodekiller.Nodekiller
}

func newFixture(t testing.TB, secret string, policy chaos.KillPolicy, minAvailable int, dryRun bool, nodes ...string) *fixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	fk := newFakeKiller(nodes...)
	reg := service.NewRegistry()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	nk := nodekiller.New(ctx, nodekiller.Options{
		Killer: fk, Selector: &chaos.Selector{Policy: policy, MinAvailable: minAvailable}, DryRun: dryRun,
		Logger: log, Metrics: nodekiller.NewMetrics(reg),
		Watch: nodekiller.Watch{Interval: 5 * time.Millisecond, DownFor: time.Second, Timeout: 5 * time.Second},
	})
	tok := auth.NewToken(secret)
	srv := httptest.NewServer(service.NewRouter(service.Deps{Name: "nodekiller", Logger: log, Registry: reg, Token: tok}, nodekiller.Routes(nk, tok)))
	t.Cleanup(func() {
		srv.Close()
		cancel()
		nk.Wait()
	})
	return &fixture{srv: srv, killer: fk, nk: nk}
}

func (f *fixture) kill(t testing.TB, bearer, ct, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/kill", strings.NewReader(body))
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(data, &out)
	return resp.StatusCode, out
}

func TestKillPicksAVictimAndWatchesItRecover(t *testing.T) {
	f := newFixture(t, token, chaos.RoundRobin, 1, false, "a", "b", "c")
	code, out := f.kill(t, token, "application/json", `{"method":"stop"}`)
	require.Equal(t, http.StatusOK, code, out)
	assert.Equal(t, "a", out["victim"])
	assert.Equal(t, "stop", out["method"])
	assert.Equal(t, "fake", out["driver"])

	// While a is down and b goes next, only c stays serving: MIN_AVAILABLE=1 refuses a third.
	code, out = f.kill(t, token, "application/json", `{"method":"halt"}`)
	require.Equal(t, http.StatusOK, code, out)
	assert.Equal(t, "b", out["victim"])
	code, out = f.kill(t, token, "application/json", `{"method":"halt"}`)
	assert.Equal(t, http.StatusConflict, code, out)
	assert.Contains(t, out["detail"], "MIN_AVAILABLE")
	assert.Equal(t, 2, f.killer.killCount())

	require.Eventually(t, func() bool { return f.killer.wasSeenDown("a") }, 5*time.Second, time.Millisecond)
	f.killer.revive("a")
	require.Eventually(t, func() bool {
		info := f.nk.Info(context.Background())
		for _, k := range info.Kills {
			if k.Victim == "a" && k.RecoverySeconds != nil {
				return true
			}
		}
		return false
	}, 5*time.Second, 10*time.Millisecond, "recovery of a measured")
	info := f.nk.Info(context.Background())
	assert.Equal(t, 1, info.Counts["stop"]["ok"])
	assert.Equal(t, 1, info.Counts["halt"]["ok"])
	assert.Equal(t, 1, info.Counts["halt"]["rejected"])
	assert.Equal(t, []string{"b"}, info.Recovering)
	assert.Equal(t, "rejected", info.Kills[0].Result, "newest first")
	assert.Equal(t, "http://b.test:8000", info.Kills[1].Address, "a kill records where its victim served")
}

// A victim an upgrade replaces before it serves again records when it was gone, not a
// recovery, and is no longer recovering: the kill's effect on it ended there.
func TestVictimReplacedBeforeItServesAgain(t *testing.T) {
	f := newFixture(t, token, chaos.RoundRobin, 1, false, "a", "b", "c")
	code, out := f.kill(t, token, "application/json", `{"method":"stop"}`)
	require.Equal(t, http.StatusOK, code, out)
	require.Eventually(t, func() bool { return f.killer.wasSeenDown("a") }, 5*time.Second, time.Millisecond)
	f.killer.replace("a")
	require.Eventually(t, func() bool {
		info := f.nk.Info(context.Background())
		return len(info.Kills) == 1 && info.Kills[0].GoneSeconds != nil
	}, 5*time.Second, 10*time.Millisecond, "a seen gone")
	info := f.nk.Info(context.Background())
	assert.Nil(t, info.Kills[0].RecoverySeconds, "a never served again")
	assert.Positive(t, *info.Kills[0].GoneSeconds)
	assert.Empty(t, info.Recovering)
}

func TestNamedTarget(t *testing.T) {
	f := newFixture(t, token, chaos.Random, 0, false, "a", "b")
	code, out := f.kill(t, token, "application/json", `{"method":"halt","target":"b"}`)
	require.Equal(t, http.StatusOK, code, out)
	assert.Equal(t, "b", out["victim"])
	code, out = f.kill(t, token, "application/json", `{"method":"halt","target":"zz"}`)
	assert.Equal(t, http.StatusConflict, code, out)
	assert.Contains(t, out["detail"], "not an eligible node")
}

func TestDryRunKillsNothing(t *testing.T) {
	f := newFixture(t, token, chaos.Random, 1, true, "a", "b")
	code, out := f.kill(t, token, "application/json", `{"method":"stop"}`)
	require.Equal(t, http.StatusOK, code, out)
	assert.Equal(t, true, out["dry_run"])
	assert.Zero(t, f.killer.killCount())
	assert.Equal(t, 1, f.nk.Info(context.Background()).Counts["stop"]["dry_run"])
}

func TestBadKillRequestsKillNothing(t *testing.T) {
	for _, tc := range []struct {
		name, secret, bearer, ct, body string
		want                           int
	}{
		{"bad JSON", token, token, "application/json", `{"method":`, 400},
		{"unknown method", token, token, "application/json", `{"method":"explode"}`, 400},
		{"spare", token, token, "application/json", `{"method":"spare"}`, 400},
		{"unknown field", token, token, "application/json", `{"method":"stop","force":true}`, 400},
		{"bad duration", token, token, "application/json", `{"method":"stop","duration":"forever"}`, 400},
		{"duration too long", token, token, "application/json", `{"method":"stop","duration":"2h"}`, 400},
		{"method the driver cannot do", token, token, "application/json", `{"method":"pause"}`, 400},
		{"not JSON", token, token, "text/plain", `method=stop`, 415},
		{"over 1 MiB", token, token, "application/json", `{"method":"` + strings.Repeat("s", 1<<20) + `"}`, 413},
		{"no token", token, "", "application/json", `{"method":"stop"}`, 401},
		{"wrong token", token, "x", "application/json", `{"method":"stop"}`, 401},
		{"no token configured", "", "", "application/json", `{"method":"stop"}`, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.secret, chaos.Random, 0, false, "a", "b")
			code, out := f.kill(t, tc.bearer, tc.ct, tc.body)
			assert.Equal(t, tc.want, code, out)
			assert.NotEmpty(t, out["error"])
			assert.Zero(t, f.killer.killCount())
		})
	}
	f := newFixture(t, token, chaos.Random, 0, false, "a")
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/kill", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	assert.Equal(t, "POST", resp.Header.Get("Allow"))
}

// FuzzKillRequest feeds any body to POST /kill: a clear 4xx or a kill, never a 5xx or a panic,
// and a kill only when the answer says so. A refused request changes nothing, but for a kill
// refused by policy (409), which the history keeps as one bounded audit line.
func FuzzKillRequest(f *testing.F) {
	for _, s := range []string{`{"method":"stop"}`, `{"method":"halt","target":"a"}`, `{"method":"pause","duration":"1s"}`,
		`{"method":"stop","duration":"-1s"}`, `{}`, ``, `null`, `{"method":null}`, `[1]`, `{"method":"stop","target":"zz"}`,
		`{"METHOD":"stop"}`, `{"method":"stop","method":"halt"}`, `{"method":"stop","target":"a\u0000"}`} {
		f.Add(s)
	}
	fx := newFixture(f, token, chaos.Random, 0, true, "a", "b")
	f.Fuzz(func(t *testing.T, body string) {
		before := total(fx.nk.Info(context.Background()))
		req := httptest.NewRequest(http.MethodPost, "/kill", bytes.NewBufferString(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		fx.srv.Config.Handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%q answered %d: %s", body, rec.Code, rec.Body)
		}
		if fx.killer.killCount() != 0 {
			t.Fatal("dry run killed a node")
		}
		info := fx.nk.Info(context.Background())
		switch after := total(info); rec.Code {
		case http.StatusOK, http.StatusConflict:
			if after != before+1 {
				t.Fatalf("%q answered %d and recorded %d kills", body, rec.Code, after-before)
			}
			if k := info.Kills[0]; len(k.Victim) > 300 || len(k.Error) > 600 {
				t.Fatalf("an unbounded audit line: %d, %d bytes", len(k.Victim), len(k.Error))
			}
		default:
			if after != before {
				t.Fatalf("%q answered %d and changed the history", body, rec.Code)
			}
		}
		if rec.Body.Len() > 4096 {
			t.Fatalf("%q answered %d bytes", body, rec.Body.Len())
		}
	})
}

func total(info nodekiller.Info) int {
	n := 0
	for _, byResult := range info.Counts {
		for _, c := range byResult {
			n += c
		}
	}
	return n
}

// Malformed requests, and kills the driver cannot do, change neither the history nor the
// counts; a long target is refused before anything, and a 409 audit line stays bounded.
func TestRefusedRequestsChangeNothing(t *testing.T) {
	f := newFixture(t, token, chaos.Random, 1, false, "a", "b")
	for _, body := range []string{`{"method":"pause"}`, `{"method":"explode"}`, `{"method":"stop","target":"` + strings.Repeat("t", 1<<19) + `"}`,
		`{"METHOD":"stop"}`, `{"method":"stop","method":"halt"}`, `{"method":"stop","target":"a\u0000"}`} {
		code, out := f.kill(t, token, "application/json", body)
		assert.Equal(t, http.StatusBadRequest, code, out)
		assert.Less(t, len(fmt.Sprint(out)), 1024, "the answer does not echo the body")
	}
	info := f.nk.Info(context.Background())
	assert.Zero(t, total(info))
	assert.Empty(t, info.Kills)

	code, out := f.kill(t, token, "application/json", `{"method":"stop","target":"`+strings.Repeat("z", 256)+`"}`)
	assert.Equal(t, http.StatusConflict, code, out)
	info = f.nk.Info(context.Background())
	require.Len(t, info.Kills, 1, "a kill refused by policy is an audit line")
	assert.LessOrEqual(t, len(info.Kills[0].Error), 600)
}

func TestInfoHidesCredentialsInAddresses(t *testing.T) {
	fk := newFakeKiller()
	nk := nodekiller.New(context.Background(), nodekiller.Options{
		Killer: addressed{fk}, Selector: &chaos.Selector{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Metrics: nodekiller.NewMetrics(service.NewRegistry()),
	})
	info := nk.Info(context.Background())
	require.Len(t, info.Nodes, 1)
	assert.Equal(t, "http://redacted@10.0.0.1:8000", info.Nodes[0].Address)
}

// addressed lists one node whose address carries credentials.
type addressed struct{ *fakeKiller }

func (addressed) Nodes(context.Context) ([]chaos.Node, error) {
	return []chaos.Node{{Name: "n", Address: "http://user:hunter2@10.0.0.1:8000", Ready: true}}, nil
}

// A halt of the receiver that forwarded the kill ends the kill request mid-way; the kill
// must still be carried through and recorded, not abandoned with the request's context.
func TestKillOutlivesItsCaller(t *testing.T) {
	f := newFixture(t, token, chaos.RoundRobin, 1, false, "a", "b", "c")
	ctx, cancel := context.WithCancel(context.Background())
	f.killer.killing = func(context.Context) { cancel() }
	req := &nodekiller.Request{KillRequest: receiverapi.KillRequest{Method: "halt"}}
	require.NoError(t, req.Validate())
	answer, err := f.nk.Kill(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, "a", answer.Victim)
	assert.Equal(t, 1, f.killer.killCount())
	assert.Equal(t, 1, f.nk.Info(context.Background()).Counts["halt"]["ok"])
}

// blind is a driver that cannot tell when a node serves again: no chaos.Prober.
type blind struct{ f *fakeKiller }

func (b blind) Driver() string                                  { return b.f.Driver() }
func (b blind) Supports(m chaos.KillMethod) bool                { return b.f.Supports(m) }
func (b blind) Nodes(ctx context.Context) ([]chaos.Node, error) { return b.f.Nodes(ctx) }
func (b blind) Kill(ctx context.Context, n chaos.Node, m chaos.KillMethod, d time.Duration) error {
	return b.f.Kill(ctx, n, m, d)
}

// A kill through a driver that cannot see its victim return is carried out and recorded, and
// nothing watches for the return: no probe of the node's address, no recovery time.
func TestKillWithoutProber(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	nk := nodekiller.New(ctx, nodekiller.Options{
		Killer: blind{newFakeKiller("a", "b")}, Selector: &chaos.Selector{Policy: chaos.RoundRobin, MinAvailable: 1},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: nodekiller.NewMetrics(service.NewRegistry()),
		Watch: nodekiller.Watch{Interval: time.Millisecond, DownFor: time.Minute, Timeout: time.Minute},
	})
	t.Cleanup(func() { cancel(); nk.Wait() })
	req := &nodekiller.Request{KillRequest: receiverapi.KillRequest{Method: "stop"}}
	require.NoError(t, req.Validate())
	answer, err := nk.Kill(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, "a", answer.Victim)
	info := nk.Info(context.Background())
	assert.Empty(t, info.Recovering, "no watch of a return the driver cannot see")
	require.Len(t, info.Kills, 1)
	assert.Equal(t, "ok", info.Kills[0].Result)
	assert.Nil(t, info.Kills[0].RecoverySeconds)
}
