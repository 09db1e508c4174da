package voracious

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"chaossuite.dev/shared/service"
	"chaossuite.dev/voracious/internal/bare"
)

// The original's documented load: MEASUREMENT with progress on one app held in in-measure,
// through the whole router, against a bare net/http handler that decodes the same body and
// answers the same JSON, both over loopback HTTP with keep-alive (client included), and both
// handlers alone (BenchmarkHandler*, no network: the per-request cost of the router, its
// middleware and the handler). The target is at least 0.90 of the bare handler: compare the
// ns/op figures of one run; deploy/bench/voracious.sh measures the same with hey.

const measurementBody = `{ "event" : "MEASUREMENT", "param": { "progress": 10 } }`

func BenchmarkVoraciousMeasurement(b *testing.B) {
	h, _, _ := newHandler(b, false)
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	url := srv.URL + "/accounts/a/applications/app00000/servo"
	for _, body := range []string{`{ "event" : "HELLO" }`, `{ "event" : "DESCRIPTION" }`, measurementBody} {
		resp, err := http.Post(url, "", strings.NewReader(body))
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("setup %s: %v %v", body, err, resp)
		}
		_ = resp.Body.Close()
	}
	benchmarkPost(b, url)
}

func BenchmarkBareHandler(b *testing.B) {
	srv := httptest.NewServer(bare.Handler())
	b.Cleanup(srv.Close)
	benchmarkPost(b, srv.URL+"/accounts/a/applications/app00000/servo")
}

func benchmarkPost(b *testing.B, url string) {
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	client := &http.Client{Transport: tr}
	b.Cleanup(tr.CloseIdleConnections)
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Post(url, "", strings.NewReader(measurementBody))
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
}

// BenchmarkHandlerVoracious is BenchmarkVoraciousMeasurement without the network: the cost of
// what wraps the handler (recovery, metrics, logging, body limit, tracing, routing) and of the
// handler itself. Profile it with -cpuprofile.
func BenchmarkHandlerVoracious(b *testing.B) {
	h, _, _ := newHandler(b, false)
	benchmarkServeHTTP(b, h)
}

// BenchmarkHandlerBare is BenchmarkBareHandler without the network.
func BenchmarkHandlerBare(b *testing.B) { benchmarkServeHTTP(b, bare.Handler()) }

// discardWriter is a ResponseWriter that keeps nothing, so that only the handler is measured.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

func benchmarkServeHTTP(b *testing.B, h http.Handler) {
	const url = "/accounts/a/applications/app00000/servo"
	for _, body := range []string{`{ "event" : "HELLO" }`, `{ "event" : "DESCRIPTION" }`, measurementBody} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, url, strings.NewReader(body)))
		if w.Code != http.StatusOK {
			b.Fatalf("setup %s: %d %s", body, w.Code, w.Body)
		}
	}
	r := httptest.NewRequest(http.MethodPost, url, nil)
	body := strings.NewReader(measurementBody)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		body.Reset(measurementBody)
		r.Body = io.NopCloser(body)
		clear(w.h)
		h.ServeHTTP(w, r)
	}
}

// BenchmarkServerVoracious is BenchmarkVoraciousMeasurement through the suite's own server
// (service.Server: the body deadline, the connection bound), as the voracious binary serves;
// BenchmarkServerBare is the bare handler behind a plain net/http server, as cmd/barehandler
// serves it. Profile the server side with -cpuprofile and focus on net/http.(*conn).serve.
func BenchmarkServerVoracious(b *testing.B) {
	h, _, _ := newHandler(b, false)
	url := serveForBench(b, func(ln net.Listener) func() error {
		ctx, cancel := context.WithCancel(context.Background())
		s := &service.Server{Handler: h, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
		done := make(chan error, 1)
		go func() { done <- s.ServeListener(ctx, ln) }()
		return func() error { cancel(); return <-done }
	})
	for _, body := range []string{`{ "event" : "HELLO" }`, `{ "event" : "DESCRIPTION" }`} {
		resp, err := http.Post(url, "", strings.NewReader(body))
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("setup %s: %v %v", body, err, resp)
		}
		_ = resp.Body.Close()
	}
	benchmarkPost(b, url)
}

func BenchmarkServerBare(b *testing.B) {
	url := serveForBench(b, func(ln net.Listener) func() error {
		srv := &http.Server{Handler: bare.Handler(), ReadHeaderTimeout: 10 * time.Second}
		done := make(chan error, 1)
		go func() { done <- srv.Serve(ln) }()
		return func() error { _ = srv.Close(); <-done; return nil }
	})
	benchmarkPost(b, url)
}

// serveForBench listens on loopback, starts serve on the listener and stops it at cleanup.
func serveForBench(b *testing.B, serve func(net.Listener) (stop func() error)) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	stop := serve(ln)
	b.Cleanup(func() { _ = stop() })
	return "http://" + ln.Addr().String() + "/accounts/a/applications/app00000/servo"
}
