package service

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"chaossuite.dev/shared/web"
)

type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// series caches each (route, method, code)'s counter and histogram: a lookup here is
	// lock-free, where the vectors hash every label value and take a lock on each request.
	// Its keys are as bounded as the labels: the routes, the bounded methods, the codes.
	series sync.Map // seriesKey -> *series
}

type seriesKey struct {
	handler, method string
	code            int
}

type series struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// of returns the series of one route, method and code, made on first use.
func (m *httpMetrics) of(handler, method string, code int) *series {
	k := seriesKey{handler, method, code}
	if s, ok := m.series.Load(k); ok {
		return s.(*series)
	}
	s := &series{
		requests: m.requests.WithLabelValues(handler, method, strconv.Itoa(code)),
		duration: m.duration.WithLabelValues(handler, method),
	}
	v, _ := m.series.LoadOrStore(k, s)
	return v.(*series)
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_server_requests_total",
			Help: "HTTP requests served, by route pattern, method and status code.",
		}, []string{"handler", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:                        "http_server_request_duration_seconds",
			Help:                        "Time to serve an HTTP request, by route pattern and method.",
			Buckets:                     prometheus.DefBuckets,
			NativeHistogramBucketFactor: 1.1,
		}, []string{"handler", "method"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// instrument counts and times every request by route pattern, and logs it: successes at
// debug (a probe sends thousands a second), client errors at info, server errors at warn.
// Headers are never logged, so neither is a token.
func (m *httpMetrics) instrument(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			next.ServeHTTP(ww, r)
			elapsed := time.Since(start)
			handler := "unmatched"
			if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
				handler = rc.RoutePattern()
			}
			code := status(ww)
			method := boundedMethod(r.Method)
			s := m.of(handler, method, code)
			s.requests.Inc()
			s.duration.Observe(elapsed.Seconds())

			level := slog.LevelDebug
			switch {
			case code >= 500:
				level = slog.LevelWarn
			case code >= 400:
				level = slog.LevelInfo
			}
			if log.Enabled(r.Context(), level) {
				log.LogAttrs(r.Context(), level, "request",
					slog.String("method", shownMethod(r.Method)), slog.String("path", web.Truncate(r.URL.Path, maxShownPath)),
					slog.Int("status", code), slog.Duration("duration", elapsed),
					slog.String("remote", r.RemoteAddr))
			}
		})
	}
}

// boundedMethod keeps the method label's values few, whatever a client sends.
func boundedMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

func status(ww middleware.WrapResponseWriter) int {
	if ww.Status() == 0 {
		return http.StatusOK
	}
	return ww.Status()
}

// recoverer turns a handler's panic into a JSON 500 and a log line, so that one bad request
// never takes the service down.
func recoverer(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				rec := recover()
				if rec == nil {
					return
				}
				if err, ok := rec.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(rec)
				}
				log.Error("panic serving request", "method", shownMethod(r.Method), "path", web.Truncate(r.URL.Path, maxShownPath), "panic", fmt.Sprint(rec))
				web.Error(w, http.StatusInternalServerError, "internal error")
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// limitBody caps every request body at web.MaxBodyBytes.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > web.MaxBodyBytes {
			web.Error(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body is over %d bytes", web.MaxBodyBytes))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, web.MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}
