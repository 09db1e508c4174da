package reaper

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"

	"chaossuite.dev/shared/auth"
	"chaossuite.dev/shared/chaos"
	"chaossuite.dev/shared/control"
)

func routesFixture(t testing.TB, secret string) (http.Handler, *control.Loop) {
	r := New(Options{
		Schedule: Schedule{Interval: time.Hour, Methods: []chaos.KillMethod{chaos.Stop}},
		Sender:   &fakeSender{sent: make(chan chaos.KillMethod, 10)},
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Metrics:  NewMetrics(prometheus.NewRegistry(), []chaos.KillMethod{chaos.Stop}),
	})
	loop := control.New(context.Background(), "reaper", r.Run, nil)
	t.Cleanup(func() { loop.Stop() })
	m := chi.NewRouter()
	Routes(r, loop, auth.NewToken(secret))(m)
	return m, loop
}

// /start and /stop are guarded like every destructive action, and a bad body changes nothing.
func TestStartStopGuarded(t *testing.T) {
	for _, tc := range []struct {
		name, secret, bearer, ct, body string
		want                           int
	}{
		{"no token configured", "", "", "", "", 403},
		{"no token configured, one sent", "", "tok", "", "", 403},
		{"no token sent", "tok", "", "", "", 401},
		{"wrong token", "tok", "nope", "", "", 401},
		{"text body", "tok", "tok", "text/plain", "go", 415},
		{"garbage body", "tok", "tok", "", "garbage", 400},
		{"a field", "tok", "tok", "application/json", `{"now":true}`, 400},
		{"an array", "tok", "tok", "application/json", `[]`, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, loop := routesFixture(t, tc.secret)
			for _, path := range []string{"/start", "/stop"} {
				if path == "/stop" {
					loop.Start()
				}
				req := httptest.NewRequest(http.MethodPost, path, bytes.NewBufferString(tc.body))
				if tc.body == "" {
					req = httptest.NewRequest(http.MethodPost, path, nil)
				}
				if tc.ct != "" {
					req.Header.Set("Content-Type", tc.ct)
				}
				if tc.bearer != "" {
					req.Header.Set("Authorization", "Bearer "+tc.bearer)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				assert.Equal(t, tc.want, rec.Code, "%s: %s", path, rec.Body)
				running, _ := loop.Running()
				assert.Equal(t, path == "/stop", running, "%s changed nothing", path)
			}
		})
	}
	h, loop := routesFixture(t, "tok")
	for _, body := range []string{"", "{}"} {
		req := httptest.NewRequest(http.MethodPost, "/start", bytes.NewBufferString(body))
		req.Header.Set("Authorization", "Bearer tok")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		running, _ := loop.Running()
		assert.True(t, running)
	}
}

// FuzzStartStop: whatever the body, /start and /stop answer 200 and switch the loop, or
// answer a 4xx and leave it as it was.
func FuzzStartStop(f *testing.F) {
	for _, s := range []string{"", "{}", "{ }", "null", `{"a":1}`, "[]", "x", `{}{}`} {
		f.Add(s, "application/json")
		f.Add(s, "text/plain")
	}
	h, loop := routesFixture(f, "tok")
	f.Fuzz(func(t *testing.T, body, ct string) {
		for _, path := range []string{"/start", "/stop"} {
			before, _ := loop.Running()
			req := httptest.NewRequest(http.MethodPost, path, bytes.NewBufferString(body))
			req.Header.Set("Content-Type", ct)
			req.Header.Set("Authorization", "Bearer tok")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			after, _ := loop.Running()
			switch {
			case rec.Code == http.StatusOK:
				if after != (path == "/start") {
					t.Fatalf("%s answered 200 and left running=%v", path, after)
				}
			case rec.Code >= 400 && rec.Code < 500:
				if after != before {
					t.Fatalf("%s with %q answered %d and switched the loop", path, body, rec.Code)
				}
			default:
				t.Fatalf("%s with %q answered %d", path, body, rec.Code)
			}
		}
	})
}
