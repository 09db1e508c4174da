package service_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/shared/auth"
	"chaossuite.dev/shared/config"
	"chaossuite.dev/shared/service"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newRouter(t *testing.T, token string, ready *service.Readiness) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(service.NewRouter(service.Deps{
		Name: "test", Logger: quiet(), Registry: service.NewRegistry(), Token: auth.NewToken(token), Readiness: ready,
	}, func(r chi.Router) {
		r.Get("/thing", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "thing") })
		r.Put("/thing", func(w http.ResponseWriter, _ *http.Request) {})
		r.Get("/panic", func(http.ResponseWriter, *http.Request) { panic("boom") })
		r.Post("/echo", func(w http.ResponseWriter, r *http.Request) {
			_, err := io.Copy(io.Discard, r.Body)
			if err != nil {
				w.WriteHeader(http.StatusRequestEntityTooLarge)
			}
		})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, method, url, bearer string, body io.Reader) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, body)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestRouter(t *testing.T) {
	ready := &service.Readiness{}
	srv := newRouter(t, "tok", ready)

	resp, _ := get(t, "GET", srv.URL+"/readyz", "", nil)
	assert.Equal(t, 503, resp.StatusCode, "not ready until told")
	ready.Set(true)
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, _ := get(t, "GET", srv.URL+p, "", nil)
		assert.Equal(t, 200, resp.StatusCode, "%s open without the token", p)
	}
	resp, _ = get(t, "GET", srv.URL+"/thing", "", nil)
	assert.Equal(t, 401, resp.StatusCode)
	resp, body := get(t, "GET", srv.URL+"/thing", "tok", nil)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "thing", body)

	resp, body = get(t, "DELETE", srv.URL+"/thing", "tok", nil)
	assert.Equal(t, 405, resp.StatusCode)
	// HEAD is served wherever GET is, so the Allow header names it too.
	assert.Equal(t, "GET, HEAD, PUT", resp.Header.Get("Allow"))
	assert.Contains(t, body, `"error":"method not allowed"`)

	resp, body = get(t, "GET", srv.URL+"/nowhere", "tok", nil)
	assert.Equal(t, 404, resp.StatusCode)
	assert.Contains(t, body, `"error":"not found"`)

	resp, body = get(t, "GET", srv.URL+"/panic", "tok", nil)
	assert.Equal(t, 500, resp.StatusCode, "a panic is a 500, not a dead server")
	assert.Contains(t, body, "internal error")
	resp, _ = get(t, "GET", srv.URL+"/thing", "tok", nil)
	assert.Equal(t, 200, resp.StatusCode, "still serving after a panic")

	resp, _ = get(t, "POST", srv.URL+"/echo", "tok", bytes.NewReader(make([]byte, 2<<20)))
	assert.Equal(t, 413, resp.StatusCode)

	_, metrics := get(t, "GET", srv.URL+"/metrics", "", nil)
	assert.Contains(t, metrics, `http_server_requests_total{code="200",handler="/thing",method="GET"} 2`)
	assert.Contains(t, metrics, `http_server_requests_total{code="401",handler="/thing",method="GET"} 1`)
	assert.Contains(t, metrics, `http_server_requests_total{code="404",handler="unmatched",method="GET"} 1`)
	assert.Contains(t, metrics, `http_server_request_duration_seconds_bucket{handler="/thing",method="GET"`)
	assert.Contains(t, metrics, "go_goroutines")
}

// TestServeDrains checks the shutdown order: readiness off first, then in-flight requests
// finish, then Serve returns.
func TestServeDrains(t *testing.T) {
	ready := &service.Readiness{}
	started := make(chan struct{})
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(started)
		<-release
		_, _ = io.WriteString(w, "done")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &service.Server{Handler: h, Readiness: ready, Logger: quiet(),
		Common: service.Common{ShutdownDelay: 50 * time.Millisecond, ShutdownTimeout: 5 * time.Second}}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.ServeListener(ctx, ln) }()

	answer := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			answer <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		answer <- string(b)
	}()
	<-started
	assert.True(t, ready.Ready())
	cancel()
	require.Eventually(t, func() bool { return !ready.Ready() }, time.Second, time.Millisecond)
	select {
	case <-served:
		t.Fatal("Serve returned with a request in flight")
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	assert.Equal(t, "done", <-answer)
	assert.NoError(t, <-served)
}

func TestHealthcheck(t *testing.T) {
	ready := &service.Readiness{}
	srv := newRouter(t, "", ready)
	addr := strings.TrimPrefix(srv.URL, "http://")
	err := service.Healthcheck(context.Background(), addr)
	var ee *service.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 1, service.ExitCode("x", err, io.Discard))
	ready.Set(true)
	assert.NoError(t, service.Healthcheck(context.Background(), addr))
	_, port, _ := net.SplitHostPort(addr)
	assert.NoError(t, service.Healthcheck(context.Background(), ":"+port), "an empty host means loopback")
}

func TestExitCodes(t *testing.T) {
	var b bytes.Buffer
	assert.Equal(t, 0, service.ExitCode("svc", nil, &b))
	assert.Equal(t, 2, service.ExitCode("svc", config.Invalid("X", "y", "z"), &b))
	assert.Equal(t, 2, service.ExitCode("svc", &service.UsageError{Msg: "no"}, &b))
	assert.Equal(t, 3, service.ExitCode("svc", &service.ExitError{Code: 3, Err: errors.New("slo")}, &b))
	assert.Equal(t, 1, service.ExitCode("svc", errors.New("boom"), &b))
	assert.Equal(t, 4, strings.Count(b.String(), "\n"), "one line each")
}

func TestCommonConfig(t *testing.T) {
	for _, tc := range []struct{ k, v, want string }{
		{"LOG_LEVEL", "loud", "debug, info, warn or error"},
		{"LOG_FORMAT", "xml", "json or text"},
		{"SHUTDOWN_TIMEOUT", "0s", "a positive duration"},
	} {
		_, err := config.Load[service.Common](func(k string) string {
			if k == tc.k {
				return tc.v
			}
			return ""
		})
		require.Error(t, err, tc.k)
		assert.Contains(t, err.Error(), tc.k)
		assert.Contains(t, err.Error(), tc.want)
	}
}
