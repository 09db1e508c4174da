package pinger

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/shared/auth"
	"chaossuite.dev/shared/service"
)

var switches = []string{"/start", "/stop", "/start-pingers", "/stop-pingers", "/start-reaper", "/stop-reaper", "/start-helmsman", "/stop-helmsman"}

func routesFixture(t testing.TB, secret string) (http.Handler, *Pinger) {
	p := New(context.Background(), Options{
		Metrics: NewMetrics(service.NewRegistry()), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Reaper: &Peer{Name: "reaper", Client: http.DefaultClient}, Helmsman: &Peer{Name: "helmsman", Client: http.DefaultClient},
	})
	t.Cleanup(func() { p.Loop().Stop() })
	r := chi.NewRouter()
	Routes(p, auth.NewToken(secret))(r)
	return r, p
}

func post(h http.Handler, path, bearer, ct, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewBufferString(body))
	if body == "" {
		req = httptest.NewRequest(http.MethodPost, path, nil)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// Every /start and /stop is guarded like the kills: 403 with no token configured, 401
// without it, and a body other than none or {} is refused with nothing switched.
func TestSwitchesGuarded(t *testing.T) {
	for _, tc := range []struct {
		name, secret, bearer, ct, body string
		want                           int
	}{
		{"no token configured", "", "", "", "", 403},
		{"no token sent", "tok", "", "", "", 401},
		{"text garbage", "tok", "tok", "text/plain", "garbage", 415},
		{"garbage", "tok", "tok", "", "garbage", 400},
		{"a field", "tok", "tok", "application/json", `{"pingers":false}`, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, p := routesFixture(t, tc.secret)
			for _, path := range switches {
				stopping := path[1:5] == "stop"
				if stopping {
					p.Loop().Start()
				}
				rec := post(h, path, tc.bearer, tc.ct, tc.body)
				assert.Equal(t, tc.want, rec.Code, "%s: %s", path, rec.Body)
				running, _ := p.Loop().Running()
				assert.Equal(t, stopping, running, "%s switched nothing", path)
				p.Loop().Stop()
			}
		})
	}
	h, p := routesFixture(t, "tok")
	for _, body := range []string{"", "{}"} {
		rec := post(h, "/start-pingers", "tok", "application/json", body)
		assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		running, _ := p.Loop().Running()
		assert.True(t, running)
	}
}

// FuzzSwitch: whatever the body, /start-pingers and /stop-pingers switch the pingers and
// answer 200, or answer a 4xx and leave them as they were.
func FuzzSwitch(f *testing.F) {
	for _, s := range []string{"", "{}", "null", `{"a":1}`, "[]", "x", `{}{}`, "{\"\x00\":1}"} {
		f.Add(s, "application/json")
		f.Add(s, "text/plain")
	}
	h, p := routesFixture(f, "tok")
	f.Fuzz(func(t *testing.T, body, ct string) {
		for _, path := range []string{"/start-pingers", "/stop-pingers"} {
			before, _ := p.Loop().Running()
			rec := post(h, path, "tok", ct, body)
			after, _ := p.Loop().Running()
			switch {
			case rec.Code == http.StatusOK:
				if after != (path == "/start-pingers") {
					t.Fatalf("%s answered 200 and left running=%v", path, after)
				}
			case rec.Code >= 400 && rec.Code < 500:
				if after != before {
					t.Fatalf("%s with %q answered %d and switched the pingers", path, body, rec.Code)
				}
			default:
				t.Fatalf("%s with %q answered %d", path, body, rec.Code)
			}
		}
	})
}

// TestSwitchesTurnTheirParts: each /start and /stop turns its parts, and only those: the
// pingers here, the reaper and the helmsman by the same path on each.
func TestSwitchesTurnTheirParts(t *testing.T) {
	type peerCalls struct {
		mu    sync.Mutex
		paths []string
	}
	peer := func(name string, calls *peerCalls) *Peer {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.mu.Lock()
			defer calls.mu.Unlock()
			calls.paths = append(calls.paths, r.Method+" "+r.URL.Path)
			_, _ = io.WriteString(w, "{}")
		}))
		t.Cleanup(srv.Close)
		return &Peer{Name: name, URL: srv.URL, Client: srv.Client()}
	}
	for _, tc := range []struct {
		path             string
		pingers          *bool // running after; nil: not touched
		reaper, helmsman []string
	}{
		{"/start", new(true), []string{"POST /start"}, []string{"POST /start"}},
		{"/stop", new(false), []string{"POST /stop"}, []string{"POST /stop"}},
		{"/start-reaper", nil, []string{"POST /start"}, nil},
		{"/stop-reaper", nil, []string{"POST /stop"}, nil},
		{"/start-helmsman", nil, nil, []string{"POST /start"}},
		{"/stop-helmsman", nil, nil, []string{"POST /stop"}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			var reaper, helmsman peerCalls
			p := New(context.Background(), Options{
				Metrics: NewMetrics(service.NewRegistry()), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
				Reaper: peer("reaper", &reaper), Helmsman: peer("helmsman", &helmsman),
			})
			t.Cleanup(func() { p.Loop().Stop() })
			r := chi.NewRouter()
			Routes(p, auth.NewToken("tok"))(r)
			wasRunning := tc.pingers != nil && !*tc.pingers
			if wasRunning {
				p.Loop().Start()
			}

			rec := post(r, tc.path, "tok", "", "")
			assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			var answer map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &answer))
			running, _ := p.Loop().Running()
			if tc.pingers == nil {
				assert.False(t, running, "the pingers are not touched")
				assert.NotContains(t, answer, "pingers")
			} else {
				assert.Equal(t, *tc.pingers, running)
				assert.Contains(t, answer, "pingers")
			}
			assert.Equal(t, tc.reaper, reaper.paths, "the reaper was told")
			assert.Equal(t, tc.helmsman, helmsman.paths, "the helmsman was told")
			assert.Equal(t, tc.reaper != nil, answer["reaper"] != nil)
			assert.Equal(t, tc.helmsman != nil, answer["helmsman"] != nil)
		})
	}
}
