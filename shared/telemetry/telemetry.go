// Package telemetry sets up OpenTelemetry tracing: an OTLP/HTTP exporter when an OTLP endpoint
// is set, none otherwise, and W3C trace context propagation. The OpenTelemetry SDK reads its
// own variables (OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, headers,
// timeout, compression, certificates, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, the
// sampler) from the process environment, as the OpenTelemetry specification says.
package telemetry

import (
	"context"
	"errors"
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"

	"chaossuite.dev/shared/config"
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

// Setup builds the Telemetry of service. getenv says whether an OTLP endpoint is set: without
// one nothing is exported (the SDK would otherwise send to localhost:4318). The SDK then reads
// the endpoint and the rest of its settings from the process environment; service is the
// service name unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES names another.
func Setup(ctx context.Context, service string, getenv func(string) string) (*Telemetry, error) {
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(service)),
		resource.WithFromEnv(), // later detectors win: the environment overrides the default name
	)
	if err != nil {
		return nil, config.Invalid("OTEL_RESOURCE_ATTRIBUTES", getenv("OTEL_RESOURCE_ATTRIBUTES"), "comma-separated key=value pairs, values percent-encoded")
	}
	if getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		t := WithProvider(sdktrace.NewTracerProvider(
			sdktrace.WithResource(res),
			sdktrace.WithSampler(sdktrace.NeverSample()),
		))
		t.exporting = false
		return t, nil
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, err
	}
	return WithProvider(sdktrace.NewTracerProvider(
		sdktrace.WithResource(res),
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
