package reaper

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/shared/auth"
	"chaossuite.dev/shared/chaos"
	"chaossuite.dev/shared/control"
	"chaossuite.dev/shared/proctest"
	"chaossuite.dev/shared/service"
)

// New settings take effect at once: the kill due is scheduled again by them, and /info shows
// them; {} puts the configured ones back, the jitter keeping its share.
func TestSettingsReschedule(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), waits: make(chan fakeWait, 10)}
	sender := &fakeSender{sent: make(chan chaos.KillMethod, 10), results: []string{ResultOK}}
	methods := []chaos.KillMethod{chaos.Stop}
	r := New(Options{
		Schedule: Schedule{Interval: 60 * time.Second, Jitter: 6 * time.Second, Methods: methods, Rand: func() float64 { return 0.5 }},
		Sender:   sender, Clock: clock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: NewMetrics(prometheus.NewRegistry(), methods),
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	assert.Equal(t, 60*time.Second, receive(t, clock.waits).d)
	r.SetSchedule([]chaos.KillMethod{chaos.Pause, chaos.Halt}, 10*time.Second)
	w := receive(t, clock.waits)
	assert.Equal(t, 10*time.Second, w.d, "the kill due is scheduled by the new interval")
	info := r.Info()
	assert.Equal(t, []string{"pause", "halt"}, info.Methods)
	assert.Equal(t, "10s", info.Interval)
	assert.Equal(t, "1s", info.Jitter, "the jitter keeps its tenth")
	clock.fire(w)
	assert.Equal(t, chaos.Pause, receive(t, sender.sent))
	r.SetSchedule(nil, 0)
	receive(t, clock.waits)
	assert.Equal(t, "1m0s", r.Info().Interval)
}

// While halted the reaper's loop is stopped and /start answers 409; the lever and the settings
// need the token.
func TestHaltStopsTheLoop(t *testing.T) {
	methods := []chaos.KillMethod{chaos.Stop}
	sender := &fakeSender{sent: make(chan chaos.KillMethod, 10), results: []string{ResultOK}}
	reg := prometheus.NewRegistry()
	tok := auth.NewToken("tok")
	r := New(Options{Schedule: Schedule{Interval: time.Hour, Methods: methods}, Sender: sender,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: NewMetrics(reg, methods)})
	loop := control.New(context.Background(), "reaper", r.Run, nil)
	t.Cleanup(func() { loop.Stop() })
	srv := httptest.NewServer(service.NewRouter(service.Deps{Name: "reaper", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Registry: reg, Token: tok}, Routes(r, loop, tok)))
	t.Cleanup(srv.Close)
	call := func(method, path, bearer, body string) int {
		code, _, err := proctest.TryCall(method, srv.URL+path, bearer, body)
		require.NoError(t, err)
		return code
	}
	require.Equal(t, http.StatusOK, call(http.MethodPost, "/start", "tok", ""))
	assert.Equal(t, http.StatusUnauthorized, call(http.MethodPost, "/halt", "", ""))
	assert.Equal(t, http.StatusUnauthorized, call(http.MethodPut, "/settings", "wrong", `{}`))
	require.Equal(t, http.StatusOK, call(http.MethodPost, "/halt", "tok", ""))
	running, _ := loop.Running()
	assert.False(t, running, "the halt stopped the kill loop")
	assert.Equal(t, http.StatusConflict, call(http.MethodPost, "/start", "tok", ""))
	assert.True(t, r.Info().Halt.Halted)
	assert.Equal(t, http.StatusBadRequest, call(http.MethodPut, "/settings", "tok", `{"methods":["explode"]}`))
	assert.Equal(t, http.StatusBadRequest, call(http.MethodPut, "/settings", "tok", `{"interval":"1ms"}`))
	assert.Equal(t, http.StatusOK, call(http.MethodPut, "/settings", "tok", `{"methods":["halt"],"interval":"30s"}`))
	require.Equal(t, http.StatusOK, call(http.MethodPost, "/resume", "tok", ""))
	assert.Equal(t, http.StatusOK, call(http.MethodPost, "/start", "tok", ""))
	assert.Equal(t, []string{"halt"}, r.Info().Methods)
}

// Kills that go straight to the nodekiller cannot be spare: PUT /settings refuses it and
// leaves the schedule as it was; through the receiver, spare is a method like any other.
func TestSettingsRefuseSpareViaNodekiller(t *testing.T) {
	for _, tc := range []struct {
		via  string
		want int
	}{{ViaNodekiller, http.StatusBadRequest}, {ViaReceiver, http.StatusOK}} {
		t.Run(tc.via, func(t *testing.T) {
			methods := []chaos.KillMethod{chaos.Stop}
			reg := prometheus.NewRegistry()
			tok := auth.NewToken("tok")
			r := New(Options{Schedule: Schedule{Interval: time.Minute, Methods: methods}, Sender: &fakeSender{}, Via: tc.via,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: NewMetrics(reg, methods)})
			loop := control.New(context.Background(), "reaper", func(ctx context.Context) { <-ctx.Done() }, nil)
			h := service.NewRouter(service.Deps{Name: "reaper", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registry: reg, Token: tok}, Routes(r, loop, tok))
			req := httptest.NewRequest(http.MethodPut, "/settings", strings.NewReader(`{"methods":["stop","spare"]}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer tok")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			assert.Equal(t, tc.want, w.Code, w.Body.String())
			want := []string{"stop"}
			if tc.want == http.StatusOK {
				want = []string{"stop", "spare"}
			}
			assert.Equal(t, want, r.Info().Methods)
		})
	}
}

// Whatever PUT /settings is sent, it answers 200 or 400 and leaves a schedule that can run.
func FuzzSettings(f *testing.F) {
	f.Add(`{"methods":["stop","halt"],"interval":"20s"}`)
	f.Add(`{}`)
	f.Add(`{"methods":[],"interval":"0s"}`)
	f.Add(`{"interval":"-5s"}`)
	methods := []chaos.KillMethod{chaos.Stop}
	reg := prometheus.NewRegistry()
	tok := auth.NewToken("tok")
	r := New(Options{Schedule: Schedule{Interval: time.Minute, Jitter: 6 * time.Second, Methods: methods},
		Sender: &fakeSender{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: NewMetrics(reg, methods)})
	loop := control.New(context.Background(), "reaper", func(ctx context.Context) { <-ctx.Done() }, nil)
	h := service.NewRouter(service.Deps{Name: "reaper", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registry: prometheus.NewRegistry(), Token: tok}, Routes(r, loop, tok))
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPut, "/settings", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer tok")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK && w.Code != http.StatusBadRequest {
			t.Fatalf("%q answered %d", body, w.Code)
		}
		r.mu.Lock()
		s := r.schedule
		r.mu.Unlock()
		if len(s.Methods) == 0 || s.Interval < time.Second || s.Jitter >= s.Interval {
			t.Fatalf("%q left the schedule %+v", body, s)
		}
	})
}
