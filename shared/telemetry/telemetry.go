// Package telemetry sets up OpenTelemetry tracing: an OTLP/HTTP exporter when
// OTEL_EXPORTER_OTLP_ENDPOINT is set, none otherwise, and W3C trace context propagation.
package telemetry

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
)

// Telemetry is a service's tracer provider and propagator. Pass it on rather than using the
// OpenTelemetry globals, so that tests stay independent.
type Telemetry struct {
	Tracer     trace.TracerProvider
	Propagator propagation.TextMapPropagator
	shutdown   func(context.Context) error
	// exporting is false when no exporter is configured: server spans would be recorded
	// nowhere, so the middleware only carries the caller's trace context along.
	exporting bool
}

// Setup builds the Telemetry of service from the OTEL_* variables getenv returns.
func Setup(ctx context.Context, service string, getenv func(string) string) (*Telemetry, error) {
	if name := getenv("OTEL_SERVICE_NAME"); name != "" {
		service = name
	}
	endpoint := getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
	if endpoint == "" {
		endpoint = getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
	}
	if endpoint == "" {
		t := WithProvider(sdktrace.NewTracerProvider(
			sdktrace.WithResource(serviceResource(service)),
			sdktrace.WithSampler(sdktrace.NeverSample()),
		))
		t.exporting = false
		return t, nil
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpointURL(endpoint)))
	if err != nil {
		return nil, err
	}
	return WithProvider(sdktrace.NewTracerProvider(
		sdktrace.WithResource(serviceResource(service)),
		sdktrace.WithBatcher(exp),
	)), nil
}

// WithProvider wraps an SDK tracer provider (tests pass one with an in-memory exporter).
func WithProvider(tp *sdktrace.TracerProvider) *Telemetry {
	return &Telemetry{
		Tracer:     tp,
		Propagator: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
		shutdown:   tp.Shutdown,
		exporting:  true,
	}
}

// Shutdown flushes and stops the exporter.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	if t == nil || t.shutdown == nil {
		return nil
	}
	err := t.shutdown(ctx)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// Middleware starts a server span per request, continuing the caller's trace. With no
// exporter it only extracts the caller's trace context, so that outgoing calls still carry it,
// at a fraction of the cost of a span per request.
func (t *Telemetry) Middleware(operation string) func(http.Handler) http.Handler {
	if !t.exporting {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("traceparent") != "" {
					r = r.WithContext(t.Propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header)))
				}
				next.ServeHTTP(w, r)
			})
		}
	}
	return otelhttp.NewMiddleware(operation,
		otelhttp.WithTracerProvider(t.Tracer),
		otelhttp.WithPropagators(t.Propagator),
		otelhttp.WithFilter(func(r *http.Request) bool {
			switch r.URL.Path {
			case "/healthz", "/readyz", "/metrics":
				return false
			}
			return true
		}),
	)
}

// Transport wraps base so that every outgoing request carries a client span and traceparent.
// With no exporter it only passes on the trace context the request's context carries.
func (t *Telemetry) Transport(base http.RoundTripper) http.RoundTripper {
	if !t.exporting {
		return propagatingTransport{base: base, propagator: t.Propagator}
	}
	return otelhttp.NewTransport(base,
		otelhttp.WithTracerProvider(t.Tracer),
		otelhttp.WithPropagators(t.Propagator),
	)
}

func serviceResource(service string) *resource.Resource {
	return resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName(service))
}

// endpointURL accepts the endpoint as OTLP's variables allow: a base URL, to which the traces
// path is added, or a bare host:port.
func endpointURL(endpoint string) string {
	if !strings.Contains(endpoint, "://") {
		endpoint = "http://" + endpoint
	}
	if u, err := url.Parse(endpoint); err == nil && strings.Trim(u.Path, "/") == "" {
		u.Path = "/v1/traces"
		return u.String()
	}
	return endpoint
}

// propagatingTransport injects the context's trace context into requests that have one.
type propagatingTransport struct {
	base       http.RoundTripper
	propagator propagation.TextMapPropagator
}

func (p propagatingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if trace.SpanContextFromContext(r.Context()).IsValid() {
		r = r.Clone(r.Context())
		p.propagator.Inject(r.Context(), propagation.HeaderCarrier(r.Header))
	}
	return p.base.RoundTrip(r)
}
