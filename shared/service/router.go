package service

import (
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"chaossuite.dev/shared/auth"
	"chaossuite.dev/shared/telemetry"
	"chaossuite.dev/shared/web"
)

// Deps are what the shared router needs from a service.
type Deps struct {
	Name      string
	Logger    *slog.Logger
	Registry  *prometheus.Registry
	Telemetry *telemetry.Telemetry
	Token     auth.Token
	Readiness *Readiness
}

// Readiness is what /readyz answers: ready once the service can serve, not while it starts or
// drains.
type Readiness struct{ ready atomic.Bool }

// Set marks the service ready or not.
func (r *Readiness) Set(ready bool) { r.ready.Store(ready) }

// Ready reports whether the service is ready.
func (r *Readiness) Ready() bool { return r.ready.Load() }

// NewRegistry returns a registry with the Go and process collectors, as every service exposes.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// NewRouter builds the router every service shares: panic recovery, tracing, request logging
// and metrics, a 1 MiB body limit, JSON 404 and 405, HEAD wherever GET is routed, /healthz,
// /readyz and /metrics open to all, then routes (the service's own), behind the bearer token
// when one is configured.
func NewRouter(d Deps, routes func(r chi.Router)) http.Handler {
	root := chi.NewRouter()
	metrics := newHTTPMetrics(d.Registry)
	root.Use(recoverer(d.Logger), metrics.instrument(d.Logger), limitBody, middleware.GetHead)
	if d.Telemetry != nil {
		root.Use(d.Telemetry.Middleware(d.Name))
	}
	root.NotFound(func(w http.ResponseWriter, r *http.Request) {
		web.Error(w, http.StatusNotFound, "no route for "+shownMethod(r.Method)+" "+web.Truncate(r.URL.Path, maxShownPath))
	})
	root.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		allowed := allowedMethods(root, r.URL.Path)
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		web.Error(w, http.StatusMethodNotAllowed, shownMethod(r.Method)+" is not allowed on "+
			web.Truncate(r.URL.Path, maxShownPath)+"; use "+strings.Join(allowed, " or "))
	})

	root.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		web.Encode(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	root.Get("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if d.Readiness != nil && !d.Readiness.Ready() {
			web.Error(w, http.StatusServiceUnavailable, "not ready: starting or draining")
			return
		}
		web.Encode(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	root.Method(http.MethodGet, "/metrics", promhttp.HandlerFor(d.Registry, promhttp.HandlerOpts{Registry: d.Registry}))

	root.Group(func(r chi.Router) {
		r.Use(auth.Protect(d.Token))
		routes(r)
	})
	return root
}

// maxShownPath bounds the path an answer or a log line repeats: a client may send a
// megabyte of it.
const maxShownPath = 256

// shownMethod is the method as an answer repeats it, bounded as the path is.
func shownMethod(m string) string { return web.Truncate(m, 16) }

var probeMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

func allowedMethods(routes chi.Routes, path string) []string {
	var allowed []string
	for _, m := range probeMethods {
		// HEAD is served wherever GET is (middleware.GetHead).
		if routes.Match(chi.NewRouteContext(), m, path) ||
			(m == http.MethodHead && routes.Match(chi.NewRouteContext(), http.MethodGet, path)) {
			allowed = append(allowed, m)
		}
	}
	return allowed
}
