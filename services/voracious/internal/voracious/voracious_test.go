package voracious

import (
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/shared/service"
	"chaossuite.dev/shared/web"
	"chaossuite.dev/voracious/internal/servo"
)

type testEnv struct {
	srv   *httptest.Server
	store *servo.Store
	reg   *prometheus.Registry
}

func newHandler(t testing.TB, resync bool) (http.Handler, *servo.Store, *prometheus.Registry) {
	t.Helper()
	return newHandlerWith(t, servo.Options{Resync: resync}, []string{"app00000", "app00001"})
}

// newHandlerWith is the whole router over a store with opts (OnEvent is set here) listing apps.
func newHandlerWith(t testing.TB, opts servo.Options, apps []string) (http.Handler, *servo.Store, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	var m *Metrics
	opts.OnEvent = func(e servo.Event, r servo.Result, err error) { m.Observe(e, r, err) }
	store := servo.NewStore(opts)
	m = NewMetrics(reg, store.Count)
	adjust, err := LoadAdjustPayload("")
	require.NoError(t, err)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	d := &Deps{Store: store, Logger: log, Commands: NewCommands(adjust), Apps: apps,
		Info: ConfigInfo{Apps: len(apps), AppFormat: "app%05d"}, StartedAt: time.Now()}
	h := service.NewRouter(service.Deps{Name: "voracious", Logger: log, Registry: reg}, Routes(d))
	return h, store, reg
}

func newEnv(t *testing.T, resync bool) *testEnv {
	h, store, reg := newHandler(t, resync)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &testEnv{srv: srv, store: store, reg: reg}
}

// post sends body with no content type, as the original's curl lines do.
func (e *testEnv) post(t *testing.T, app, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/accounts/a/applications/"+app+"/servo", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Del("Content-Type")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return resp.StatusCode, out
}

func (e *testEnv) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(e.srv.URL + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestStatsEmptyHasNulls(t *testing.T) {
	e := newEnv(t, false)
	code, body := e.get(t, "/")
	assert.Equal(t, 200, code)
	assert.JSONEq(t, `{"n":0,"average":null,"min":null,"max":null}`, body)
}

func TestOverrides(t *testing.T) {
	e := newEnv(t, false)
	code, body := e.get(t, "/accounts/acme/application-overrides")
	assert.Equal(t, 200, code)
	assert.JSONEq(t, `{"app00000":{"mode":null,"mode_limit":null,"state":"active"},"app00001":{"mode":null,"mode_limit":null,"state":"active"}}`, body)
}

func TestSeedSetupAndFullCycle(t *testing.T) {
	e := newEnv(t, false)
	steps := []struct {
		body string
		want string
	}{
		{`{ "event" : "HELLO" }`, `{"status":"ok","message":null}`},
		{`{"event":"WHATS_NEXT","param":null}`, `{"cmd":"DESCRIBE","param":{}}`},
		{`{ "event" : "DESCRIPTION", "param": {"descriptor": {"x": 1}} }`, `{"status":"ok","message":null}`},
		{`{"event":"WHATS_NEXT"}`, `{"cmd":"MEASURE","param":{"metrics":[],"control":{}}}`},
		{`{ "event" : "MEASUREMENT", "param": { "progress": 10 } }`, `{"status":"ok","message":null}`},
		{`{ "event" : "MEASUREMENT", "param": { "progress": 10 } }`, `{"status":"ok","message":null}`},
		{`{ "event" : "MEASUREMENT", "param": { "metrics": {} } }`, `{"status":"ok","message":null}`},
		{`{"event":"WHATS_NEXT"}`, `{"cmd":"ADJUST","param":` + mustCompact(DefaultAdjustPayload) + `}`},
		{`{ "event" : "ADJUSTMENT", "param": { "progress": 50 } }`, `{"status":"ok","message":null}`},
		{`{ "event" : "ADJUSTMENT", "param": { "progress": null } }`, `{"status":"ok","message":null}`},
		{`{ "event" : "GOODBYE" }`, `{"status":"ok","message":null}`},
	}
	for i, s := range steps {
		code, out := e.post(t, "app00000", s.body)
		require.Equal(t, 200, code, "step %d %s: %v", i, s.body, out)
		got, _ := json.Marshal(out)
		assert.JSONEq(t, s.want, string(got), "step %d", i)
	}
	_, body := e.get(t, "/")
	assert.Equal(t, `{"n":1,"average":1.0,"min":1,"max":1}`+"\n", body, "a whole average prints as a float, as Python does")
	_, body = e.get(t, "/info")
	assert.Contains(t, body, `"stats":{"n":1,"average":1.0,"min":1,"max":1}`)
	assert.Equal(t, 1.0, testutil.ToFloat64(mustCounter(t, e.reg)))
}

func mustCompact(s string) string {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		panic(err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func mustCounter(t *testing.T, reg *prometheus.Registry) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == "voracious_cycles_total" {
			return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "x"}, func() float64 { return mf.Metric[0].GetCounter().GetValue() })
		}
	}
	t.Fatal("no voracious_cycles_total")
	return nil
}

func TestSequenceErrors(t *testing.T) {
	e := newEnv(t, false)
	tests := []struct {
		name, body, detail string
	}{
		{"unknown app", `{"event":"MEASUREMENT","param":{"progress":1}}`, "Sequence error for app00000: unknown app"},
		{"bad json", `{"event":`, "Sequence error for app00000: bad JSON"},
		{"no event", `{"param":null}`, "Sequence error for app00000: event is missing"},
		{"param not an object", `{"event":"HELLO","param":5}`, "Sequence error for app00000: bad JSON"},
		{"unknown event", `{"event":"DANCE"}`, "Sequence error for app00000: unknown app"},
		{"empty body", ``, "Sequence error for app00000: body is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := e.post(t, "app00000", tt.body)
			assert.Equal(t, 400, code)
			assert.Contains(t, out["detail"], tt.detail)
			assert.Zero(t, e.store.Known(), "a rejected event changes nothing")
		})
	}
	code, _ := e.post(t, "app00000", `{"event":"HELLO"}`)
	require.Equal(t, 200, code)
	for _, body := range []string{`{"event":"HELLO"}`, `{"event":"MEASUREMENT"}`, `{"event":"DANCE"}`, `{"event":"ADJUSTMENT","param":{"progress":1}}`} {
		code, out := e.post(t, "app00000", body)
		assert.Equal(t, 400, code, body)
		assert.Regexp(t, regexp.MustCompile(`^Sequence error for app00000: `), out["detail"])
		st, _ := e.store.Get("a", "app00000")
		assert.Equal(t, servo.HelloReceived, st.State)
		assert.Equal(t, servo.Describe, st.Pending)
	}
	_, _ = e.post(t, "app00000", `{"event":"WHATS_NEXT"}`)
	code, out := e.post(t, "app00000", `{"event":"WHATS_NEXT"}`)
	assert.Equal(t, 400, code)
	assert.Contains(t, out["detail"], "no command pending")
}

func TestContentTypeAndLimits(t *testing.T) {
	e := newEnv(t, false)
	for _, ct := range []string{"application/json", "text/plain", "application/x-www-form-urlencoded"} {
		resp, err := http.Post(e.srv.URL+"/accounts/a/applications/"+strings.ReplaceAll(ct, "/", "-")+"/servo", ct, strings.NewReader(`{"event":"HELLO"}`))
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, 200, resp.StatusCode, ct)
	}
	resp, err := http.Post(e.srv.URL+"/accounts/a/applications/big/servo", "", strings.NewReader(`{"event":"HELLO","param":{"x":"`+strings.Repeat("a", 2<<20)+`"}}`))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 413, resp.StatusCode)
	resp, err = http.Get(e.srv.URL + "/accounts/a/applications/x/servo")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 405, resp.StatusCode)
	assert.Equal(t, "POST", resp.Header.Get("Allow"))
}

func TestResyncOverHTTP(t *testing.T) {
	e := newEnv(t, true)
	code, out := e.post(t, "app00003", `{"event":"MEASUREMENT","param":{"progress":40}}`)
	require.Equal(t, 200, code, out)
	code, _ = e.post(t, "app00003", `{"event":"MEASUREMENT"}`)
	require.Equal(t, 200, code)
	code, out = e.post(t, "app00003", `{"event":"WHATS_NEXT"}`)
	require.Equal(t, 200, code)
	assert.Equal(t, "ADJUST", out["cmd"])
}

func TestInfoAndMetrics(t *testing.T) {
	e := newEnv(t, false)
	e.post(t, "app00000", `{"event":"HELLO"}`)
	e.post(t, "app00001", `{"event":"HELLO"}`)
	e.post(t, "app00001", `{"event":"DESCRIPTION"}`)
	e.post(t, "app00001", `{"event":"ADJUSTMENT"}`)
	code, body := e.get(t, "/info")
	require.Equal(t, 200, code)
	var info Info
	require.NoError(t, json.Unmarshal([]byte(body), &info))
	assert.Equal(t, int64(2), info.Apps.Known)
	assert.Equal(t, int64(1), info.Apps.ByState["hello-received"])
	assert.Equal(t, int64(1), info.Apps.ByState["start-measure"])
	assert.Equal(t, 2, info.Stats.N)

	_, metrics := e.get(t, "/metrics")
	assert.Contains(t, metrics, `voracious_apps{state="start-measure"} 1`)
	assert.Contains(t, metrics, `voracious_events_total{event="HELLO",result="ok"} 2`)
	assert.Contains(t, metrics, `voracious_events_total{event="ADJUSTMENT",result="rejected"} 1`)
	assert.Contains(t, metrics, `voracious_cycles_total 0`)
}

func TestDocs(t *testing.T) {
	e := newEnv(t, false)
	code, body := e.get(t, "/docs")
	assert.Equal(t, 200, code)
	assert.Contains(t, body, "/docs/swagger-ui-bundle.js")
	assert.NotContains(t, body, "https://", "no CDN")
	for _, p := range []string{"/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css", "/docs/voracious-init.js", "/docs/swagger-ui-standalone-preset.js"} {
		code, _ := e.get(t, p)
		assert.Equal(t, 200, code, p)
	}
	code, _ = e.get(t, "/docs/nope.js")
	assert.Equal(t, 404, code)
	code, body = e.get(t, "/openapi.json")
	assert.Equal(t, 200, code)
	assert.True(t, json.Valid([]byte(body)))
}

// TestOpenAPICoversEveryRoute walks the routes of routes.go and finds each in /openapi.json.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(OpenAPI(), &doc))
	r := chi.NewRouter()
	r.Group(Routes(&Deps{Store: servo.NewStore(servo.Options{})}))
	n := 0
	require.NoError(t, chi.Walk(r, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if strings.HasSuffix(route, "/servo/*") || strings.HasSuffix(route, "/application-overrides/*") {
			return nil // the trailing-slash redirects, which FastAPI's document leaves out too
		}
		n++
		ops, ok := doc.Paths[route]
		if assert.True(t, ok, "route %s missing from openapi.json", route) {
			assert.Contains(t, ops, strings.ToLower(method), "%s %s", method, route)
		}
		return nil
	}))
	assert.GreaterOrEqual(t, n, 7)
}

func TestAdjustPayloadFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
		return p
	}
	got, err := LoadAdjustPayload(write("ok.yaml", "state:\n  application:\n    components:\n      web:\n        settings:\n          cpu: {value: 2}\n"))
	require.NoError(t, err)
	assert.JSONEq(t, `{"state":{"application":{"components":{"web":{"settings":{"cpu":{"value":2}}}}}}}`, string(got))
	_, err = LoadAdjustPayload(write("ok.json", mustCompact(DefaultAdjustPayload)))
	require.NoError(t, err)
	for name, body := range map[string]string{
		"nocomp.yaml":  "state: {application: {}}",
		"empty.yaml":   "state: {application: {components: {}}}",
		"novalue.yaml": "state: {application: {components: {web: {settings: {cpu: {min: 1}}}}}}",
		"list.yaml":    "- 1",
		"broken.json":  `{"state": `,
	} {
		_, err := LoadAdjustPayload(write(name, body))
		assert.Error(t, err, name)
	}
	_, err = LoadAdjustPayload(filepath.Join(dir, "missing.yaml"))
	assert.Error(t, err)
}

func TestStateFileRoundTripAndCorrupt(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	s := servo.NewStore(servo.Options{})
	_, err := s.Apply("a", "x", servo.Input{Event: servo.Hello})
	require.NoError(t, err)
	p := &Persister{Path: path, Store: s, Interval: time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: time.Now}
	require.NoError(t, p.Flush())
	r := servo.NewStore(servo.Options{})
	n, err := LoadState(path, r)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, s.Snapshot(), r.Snapshot())
	entries, _ := os.ReadDir(dir)
	assert.Len(t, entries, 1, "no temporary file left behind")

	require.NoError(t, os.WriteFile(path, []byte(`{"version":1,"apps":[{"app":"x","state":"flying"}]}`), 0o600))
	_, err = LoadState(path, servo.NewStore(servo.Options{}))
	assert.ErrorContains(t, err, "is corrupt")
	n, err = LoadState(filepath.Join(dir, "none.json"), servo.NewStore(servo.Options{}))
	assert.NoError(t, err)
	assert.Zero(t, n)
}

func TestDecodeServo(t *testing.T) {
	tests := []struct {
		body   string
		ok     bool
		want   servo.Input
		status int
	}{
		{`{"event":"MEASUREMENT","param":{"progress":10,"other":[1]}}`, true, servo.Input{Event: servo.Measurement, HasProgress: true, Progress: 10}, 0},
		{`{"event":"MEASUREMENT","param":{"progress":null}}`, true, servo.Input{Event: servo.Measurement}, 0},
		{`{"event":"ADJUSTMENT","param":null,"extra":1}`, true, servo.Input{Event: servo.Adjustment}, 0},
		{`  {"event":"GOODBYE"}  `, true, servo.Input{Event: servo.Goodbye}, 0},
		{`{"event":"HELLO"} {}`, false, servo.Input{}, 400},
		{`{"event":"HELLO"}]`, false, servo.Input{}, 400},
		{`{"event":7}`, false, servo.Input{}, 400},
		{`{"event":"MEASUREMENT","param":{"progress":50.0}}`, true, servo.Input{Event: servo.Measurement, HasProgress: true, Progress: 50}, 0},
		{`{"event":"MEASUREMENT","param":{"progress":true}}`, true, servo.Input{Event: servo.Measurement, HasProgress: true, Progress: 1}, 0},
		{`{"event":"MEASUREMENT","param":{"progress":"12.5"}}`, true, servo.Input{Event: servo.Measurement}, 0},
		{`{"event":"MEASUREMENT","param":{"progress":99999999999999999999}}`, true, servo.Input{Event: servo.Measurement, HasProgress: true, Progress: math.MaxInt64}, 0},
		{`{"event":"MEASUREMENT","param":{"progress":NaN}}`, false, servo.Input{}, 400},
		{"   ", false, servo.Input{}, 400},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tt.body))
		r.Header.Set("Content-Type", "text/plain")
		req, err := DecodeServo(r)
		if !tt.ok {
			var se *web.StatusError
			if assert.ErrorAs(t, err, &se, tt.body) {
				assert.Equal(t, tt.status, se.Status, tt.body)
			}
			continue
		}
		require.NoError(t, err, tt.body)
		assert.Equal(t, tt.want, req.Input(), tt.body)
	}
}

// TestOpenAPIKeepsTheOriginalsNames: a client generated from the original's document (FastAPI)
// calls the same operations and models with this one.
func TestOpenAPIKeepsTheOriginalsNames(t *testing.T) {
	var doc struct {
		Paths      map[string]map[string]struct{ OperationID string }
		Components struct {
			Schemas map[string]struct{ Title string }
		}
	}
	require.NoError(t, json.Unmarshal(OpenAPI(), &doc))
	for path, op := range map[string]map[string]string{
		"/": {"get": "root__get"},
		"/accounts/{account}/application-overrides":    {"get": "list_accounts__account__application_overrides_get"},
		"/accounts/{account}/applications/{app}/servo": {"post": "servo_get_accounts__account__applications__app__servo_post"},
	} {
		for method, id := range op {
			assert.Equal(t, id, doc.Paths[path][method].OperationID, "%s %s", method, path)
		}
	}
	for _, name := range []string{"ServoEvent", "ServoNotifyResponse", "ServoCommandResponse", "VoraciousStatistics", "AppListItem"} {
		if assert.Contains(t, doc.Components.Schemas, name) {
			assert.Equal(t, name, doc.Components.Schemas[name].Title)
		}
	}
	ids := map[string]string{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if assert.NotEmpty(t, op.OperationID, "%s %s", method, path) {
				assert.NotContains(t, ids, op.OperationID, "operation ids are unique")
				ids[op.OperationID] = method + " " + path
			}
		}
	}
}
