package receiver_test

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
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/receiver/internal/receiver"
	"chaossuite.dev/shared/auth"
	"chaossuite.dev/shared/receiverapi"
	"chaossuite.dev/shared/service"
	"chaossuite.dev/shared/telemetry"
)

const token = "s3cret-token"

type fakeHalter struct{ stops, halts atomic.Int32 }

func (f *fakeHalter) Stop() { f.stops.Add(1) }
func (f *fakeHalter) Halt() { f.halts.Add(1) }

type fixture struct {
	srv        *httptest.Server
	deps       *receiver.Deps
	halter     *fakeHalter
	killsSeen  *atomic.Int32
	nodekiller *httptest.Server
}

// newFixture starts a receiver on httptest with a fake nodekiller that answers with
// status and body.
func newFixture(t testing.TB, secret string, nkStatus int, nkBody string) *fixture {
	t.Helper()
	var kills atomic.Int32
	nk := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kills.Add(1)
		if r.URL.Path != "/kill" || r.Header.Get("Authorization") != "Bearer "+secret {
			w.WriteHeader(http.StatusTeapot)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(nkStatus)
		_, _ = io.WriteString(w, nkBody)
	}))
	t.Cleanup(nk.Close)
	reg := service.NewRegistry()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	m := receiver.NewMetrics(reg, "node-1")
	h := &fakeHalter{}
	d := &receiver.Deps{
		Config:    receiver.NewConfig("alpha", "", m.Swapped),
		Metrics:   m,
		Killer:    &receiver.KillForwarder{URL: nk.URL, Client: &receiverapi.Client{HTTP: nk.Client(), Token: secret, Timeout: 2 * time.Second}},
		Halter:    h,
		Token:     auth.NewToken(secret),
		Logger:    log,
		Node:      "node-1",
		PID:       7,
		StartedAt: time.Now(),
	}
	ready := &service.Readiness{}
	ready.Set(true)
	// Tracing as in production: no exporter configured, so spans are never sampled.
	tel, err := telemetry.Setup(context.Background(), "receiver", func(string) string { return "" })
	require.NoError(t, err)
	srv := httptest.NewServer(service.NewRouter(service.Deps{
		Name: "receiver", Logger: log, Registry: reg, Token: d.Token, Readiness: ready, Telemetry: tel,
	}, receiver.Routes(d)))
	t.Cleanup(srv.Close)
	return &fixture{srv: srv, deps: d, halter: h, killsSeen: &kills, nodekiller: nk}
}

func (f *fixture) do(t *testing.T, method, path, bearer, contentType string, body io.Reader) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, body)
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
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
	return resp, out
}

func TestRootAnswersSpare(t *testing.T) {
	f := newFixture(t, token, 200, `{}`)
	for _, tc := range []struct {
		name, method, ct, body string
	}{
		{"GET no body", http.MethodGet, "", ""},
		{"POST no body", http.MethodPost, "", ""},
		{"POST spare JSON", http.MethodPost, "application/json", `{"kill_node":"spare"}`},
		{"POST spare, form content type from curl -d", http.MethodPost, "application/x-www-form-urlencoded", `{"kill_node":"spare"}`},
		{"POST empty object", http.MethodPost, "application/json", `{}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, out := f.do(t, tc.method, "/", token, tc.ct, strings.NewReader(tc.body))
			require.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, "alpha", resp.Header.Get("X-Receiver-Version"))
			assert.Equal(t, "node-1", resp.Header.Get("X-Receiver-Node"))
			assert.Equal(t, "Alpha Receiver running!", out["message"])
			assert.Equal(t, "alpha", out["version"])
			assert.Equal(t, "node-1", out["node"])
			assert.EqualValues(t, 7, out["pid"])
			assert.Nil(t, out["kill"])
		})
	}
	assert.Zero(t, f.killsSeen.Load(), "spare must not reach the nodekiller")
}

func TestKillIsForwarded(t *testing.T) {
	f := newFixture(t, token, 200, `{"victim":"node-2","method":"halt","driver":"http","at":"2026-01-01T00:00:00Z"}`)
	for _, alias := range []string{"halt", "node_halt"} {
		resp, out := f.do(t, http.MethodPost, "/", token, "application/json", strings.NewReader(`{"kill_node":"`+alias+`"}`))
		require.Equal(t, http.StatusOK, resp.StatusCode, out)
		kill := out["kill"].(map[string]any)
		assert.Equal(t, "node-2", kill["victim"])
		assert.Equal(t, "Alpha Receiver running!", out["message"])
	}
	assert.EqualValues(t, 2, f.killsSeen.Load())
}

func TestNodekillerRefusalIsPassedOn(t *testing.T) {
	f := newFixture(t, token, http.StatusConflict, `{"error":"conflict","detail":"MIN_AVAILABLE"}`)
	resp, out := f.do(t, http.MethodPost, "/", token, "application/json", strings.NewReader(`{"kill_node":"stop"}`))
	assert.Equal(t, http.StatusConflict, resp.StatusCode)
	assert.Equal(t, "MIN_AVAILABLE", out["detail"])
}

func TestUnreachableNodekillerIs502(t *testing.T) {
	f := newFixture(t, token, 200, `{}`)
	f.nodekiller.Close()
	resp, out := f.do(t, http.MethodPost, "/", token, "application/json", strings.NewReader(`{"kill_node":"stop"}`))
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
	assert.Contains(t, out["detail"], "nodekiller unreachable")
}

// A nodekiller that fails, or answers what is no kill answer, is the receiver's 502.
func TestNodekillerFailureIs502(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"5xx", `{"error":"bad gateway","detail":"docker engine gone"}`, "nodekiller answered 500: docker engine gone"},
		{"not JSON", `killed, probably`, "nodekiller's answer: decoding the answer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status := http.StatusInternalServerError
			if tc.name == "not JSON" {
				status = http.StatusOK
			}
			f := newFixture(t, token, status, tc.body)
			resp, out := f.do(t, http.MethodPost, "/", token, "application/json", strings.NewReader(`{"kill_node":"stop"}`))
			assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
			assert.Contains(t, out["detail"], tc.want)
			assert.NotContains(t, fmt.Sprint(out), token)
		})
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	big := `{"kill_node":"` + strings.Repeat("x", 1<<20) + `"}`
	cases := []struct {
		name, secret, method, path, bearer, ct, body string
		want                                         int
	}{
		{"bad JSON", token, "POST", "/", token, "application/json", `{"kill_node":`, 400},
		{"unknown kill option", token, "POST", "/", token, "application/json", `{"kill_node":"nuke"}`, 400},
		{"unknown field", token, "POST", "/", token, "application/json", `{"kill_node":"stop","extra":1}`, 400},
		{"two values", token, "POST", "/", token, "application/json", `{} {}`, 400},
		{"body over 1 MiB", token, "POST", "/", token, "application/json", big, 413},
		{"kill without token", token, "POST", "/", "", "application/json", `{"kill_node":"halt"}`, 401},
		{"kill with wrong token", token, "POST", "/", "nope", "application/json", `{"kill_node":"halt"}`, 401},
		{"kill with no token configured", "", "POST", "/", "", "application/json", `{"kill_node":"halt"}`, 403},
		{"config without token", token, "PUT", "/admin/config", "", "application/json", `{"version":"beta"}`, 401},
		{"config with no token configured", "", "PUT", "/admin/config", "", "application/json", `{"version":"beta"}`, 403},
		{"config bad JSON", token, "PUT", "/admin/config", token, "application/json", `{"version":`, 400},
		{"config unknown field", token, "PUT", "/admin/config", token, "application/json", `{"version":"beta","colour":"red"}`, 400},
		{"config missing version", token, "PUT", "/admin/config", token, "application/json", `{"message":"hi"}`, 400},
		{"config bad version", token, "PUT", "/admin/config", token, "application/json", `{"version":"../etc"}`, 400},
		{"config not JSON", token, "PUT", "/admin/config", token, "text/plain", `version=beta`, 415},
		{"config over 1 MiB", token, "PUT", "/admin/config", token, "application/json", big, 413},
		{"halt without token", token, "POST", "/admin/halt", "", "application/json", `{"method":"halt"}`, 401},
		{"halt with no token configured", "", "POST", "/admin/halt", "", "application/json", `{"method":"halt"}`, 403},
		{"halt unknown method", token, "POST", "/admin/halt", token, "application/json", `{"method":"pause"}`, 400},
		{"halt unknown field", token, "POST", "/admin/halt", token, "application/json", `{"method":"halt","now":true}`, 400},
		{"long kill option", token, "POST", "/", token, "application/json", `{"kill_node":"` + strings.Repeat("k", 500_000) + `"}`, 400},
		{"long halt method", token, "POST", "/admin/halt", token, "application/json", `{"method":"` + strings.Repeat("h", 500_000) + `"}`, 400},
		{"kill by GET", token, "GET", "/", token, "application/json", `{"kill_node":"halt"}`, 400},
		{"kill by GET with no token configured", "", "GET", "/", "", "application/json", `{"kill_node":"halt"}`, 400},
		{"kill key in another case", token, "POST", "/", token, "application/json", `{"KILL_NODE":"halt"}`, 400},
		{"kill key twice", token, "POST", "/", token, "application/json", `{"kill_node":"spare","kill_node":"halt"}`, 400},
		{"config key in another case", token, "PUT", "/admin/config", token, "application/json", `{"VERSION":"beta"}`, 400},
		{"config key twice", token, "PUT", "/admin/config", token, "application/json", `{"version":"beta","version":"gamma"}`, 400},
		{"config NUL in message", token, "PUT", "/admin/config", token, "application/json", `{"version":"beta","message":"a\u0000b"}`, 400},
		{"config invalid UTF-8 in message", token, "PUT", "/admin/config", token, "application/json", "{\"version\":\"beta\",\"message\":\"\xff\"}", 400},
		{"config lone surrogate in message", token, "PUT", "/admin/config", token, "application/json", `{"version":"beta","message":"\ud800"}`, 400},
		{"config not an object", token, "PUT", "/admin/config", token, "application/json", `["beta"]`, 400},
		{"halt key in another case", token, "POST", "/admin/halt", token, "application/json", `{"Method":"halt"}`, 400},
		{"wrong method on config", token, "DELETE", "/admin/config", token, "", "", 405},
		{"wrong method on halt", token, "GET", "/admin/halt", token, "", "", 405},
		{"info without token", token, "GET", "/info", "", "", "", 401},
		{"unknown route", token, "GET", "/nope", token, "", "", 404},
		{"long unknown route", token, "GET", "/" + strings.Repeat("n", 100_000), token, "", "", 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.secret, 200, `{"victim":"x"}`)
			resp, out := f.do(t, tc.method, tc.path, tc.bearer, tc.ct, strings.NewReader(tc.body))
			assert.Equal(t, tc.want, resp.StatusCode, out)
			assert.NotEmpty(t, out["error"], "JSON error shape")
			assert.Less(t, len(fmt.Sprint(out["detail"])), 1024, "the answer does not echo the request")
			assert.NotContains(t, fmt.Sprint(out["detail"]), "receiver.", "errors name fields, not Go types")
			if tc.want == 401 {
				assert.Equal(t, `Bearer realm="chaos"`, resp.Header.Get("WWW-Authenticate"))
			}
			if tc.want == 405 {
				assert.NotEmpty(t, resp.Header.Get("Allow"))
			}
			assert.EqualValues(t, 1, f.deps.Config.Load().Generation, "config unchanged")
			assert.Zero(t, f.killsSeen.Load(), "nothing killed")
			assert.Zero(t, f.halter.halts.Load()+f.halter.stops.Load(), "nothing halted")
		})
	}
}

func TestHealthAndMetricsAreOpen(t *testing.T) {
	f := newFixture(t, token, 200, `{}`)
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, _ := f.do(t, "GET", p, "", "", nil)
		assert.Equal(t, http.StatusOK, resp.StatusCode, p)
	}
	f.do(t, "GET", "/", token, "", nil)
	resp, err := http.Get(f.srv.URL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`receiver_requests_total{version="alpha"} 1`,
		`receiver_info{node="node-1",version="alpha"} 1`,
		`receiver_config_generation 1`,
		`http_server_requests_total{code="200",handler="/",method="GET"} 1`,
		`http_server_request_duration_seconds`,
		`process_cpu_seconds_total`,
	} {
		assert.Contains(t, string(body), want)
	}
}

func TestInPlaceConfig(t *testing.T) {
	f := newFixture(t, token, 200, `{}`)
	resp, out := f.do(t, "PUT", "/admin/config", token, "application/json", strings.NewReader(`{"version":"beta"}`))
	require.Equal(t, http.StatusOK, resp.StatusCode, out)
	assert.Equal(t, "beta", out["version"])
	assert.Equal(t, "Beta Receiver running!", out["message"])
	assert.EqualValues(t, 2, out["generation"])

	resp, out = f.do(t, "GET", "/", token, "", nil)
	assert.Equal(t, "beta", resp.Header.Get("X-Receiver-Version"))
	assert.Equal(t, "Beta Receiver running!", out["message"])

	_, out = f.do(t, "GET", "/admin/config", token, "", nil)
	assert.Equal(t, "beta", out["version"])
	_, out = f.do(t, "GET", "/info", token, "", nil)
	assert.EqualValues(t, 2, out["generation"])
	assert.EqualValues(t, 1, out["requests_served"])

	metrics := scrape(t, f.srv.URL)
	assert.Contains(t, metrics, `receiver_info{node="node-1",version="beta"} 1`)
	assert.NotContains(t, metrics, `receiver_info{node="node-1",version="alpha"}`)
}

func TestHaltAnswers202ThenActs(t *testing.T) {
	for _, m := range []string{"stop", "halt"} {
		f := newFixture(t, token, 200, `{}`)
		resp, out := f.do(t, "POST", "/admin/halt", token, "application/json", strings.NewReader(`{"method":"`+m+`"}`))
		assert.Equal(t, http.StatusAccepted, resp.StatusCode)
		assert.Equal(t, m, out["method"])
		// The answer is on the wire before the receiver acts on it.
		acted := &f.halter.halts
		if m == "stop" {
			acted = &f.halter.stops
		}
		assert.Eventually(t, func() bool { return acted.Load() == 1 }, 5*time.Second, time.Millisecond, m)
	}
}

// TestConfigSwapIsAtomic hammers in-place upgrades and requests together: every answer must
// carry a version and the message set with it, never a mix of two generations.
func TestConfigSwapIsAtomic(t *testing.T) {
	f := newFixture(t, token, 200, `{}`)
	const writers, readers, rounds = 4, 8, 100
	var wg sync.WaitGroup
	var mixed atomic.Int32
	for w := range writers {
		wg.Go(func() {
			for i := range rounds {
				v := fmt.Sprintf("v%d-%d", w, i)
				body := fmt.Sprintf(`{"version":%q,"message":"message of %s"}`, v, v)
				resp, _ := f.do(t, "PUT", "/admin/config", token, "application/json", strings.NewReader(body))
				if resp.StatusCode != http.StatusOK {
					t.Errorf("PUT answered %d", resp.StatusCode)
				}
			}
		})
	}
	for range readers {
		wg.Go(func() {
			for range rounds {
				resp, out := f.do(t, "GET", "/", token, "", nil)
				v, _ := out["version"].(string)
				if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Receiver-Version") != v {
					mixed.Add(1)
				}
				if v != "alpha" && out["message"] != "message of "+v {
					mixed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	assert.Zero(t, mixed.Load(), "answers mixing two generations")
	assert.EqualValues(t, 1+writers*rounds, f.deps.Config.Load().Generation)
}

func scrape(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = io.Copy(&b, resp.Body)
	return b.String()
}

func TestKillSeriesStartAtZero(t *testing.T) {
	f := newFixture(t, token, 200, `{}`)
	resp, err := http.Get(f.srv.URL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, m := range []string{"stop", "halt", "pause", "partition"} {
		assert.Contains(t, string(body), `receiver_kill_requests_total{method="`+m+`",result="ok"} 0`)
	}
}

func TestHeadAndInfo(t *testing.T) {
	f := newFixture(t, token, 200, `{}`)
	for _, p := range []string{"/", "/info", "/admin/config"} {
		resp, _ := f.do(t, http.MethodHead, p, token, "", nil)
		assert.Equal(t, http.StatusOK, resp.StatusCode, p)
	}
	resp, _ := f.do(t, http.MethodHead, "/healthz", "", "", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	// /info shows the nodekiller's URL without its credentials.
	d := &receiver.Deps{Config: f.deps.Config, Metrics: f.deps.Metrics, Halter: f.halter, Logger: f.deps.Logger,
		Killer: &receiver.KillForwarder{URL: "http://nk:hunter2@nodekiller:8001"}}
	r := chi.NewRouter()
	receiver.Routes(d)(r)
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/info", nil))
	var out map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out))
	assert.Equal(t, "http://redacted@nodekiller:8001", out["nodekiller_url"])
	assert.NotContains(t, rec.Body.String(), "hunter2")
}
