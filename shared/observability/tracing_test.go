package observability

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"chaossuite.dev/shared/auth"
	"chaossuite.dev/shared/httpclient"
	"chaossuite.dev/shared/service"
	"chaossuite.dev/shared/telemetry"
	"chaossuite.dev/shared/web"
)

// tracedService is one service of the test: its own tracer provider (as each process has),
// all of them exporting to one in-memory exporter.
func tracedService(exp *tracetest.InMemoryExporter, name string) *telemetry.Telemetry {
	return telemetry.WithProvider(sdktrace.NewTracerProvider(
		sdktrace.WithSyncer(exp),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", name))),
	))
}

func serviceName(s tracetest.SpanStub) string {
	v, _ := s.Resource.Set().Value("service.name")
	return v.AsString()
}

// closeTelemetry stops the providers at the end of a test (the exporter forgets its spans when
// they do, so only after the test has read them).
func closeTelemetry(t *testing.T, tels ...*telemetry.Telemetry) {
	t.Cleanup(func() {
		for _, tel := range tels {
			assert.NoError(t, tel.Shutdown(context.Background()))
		}
	})
}

func newServer(t *testing.T, name string, tel *telemetry.Telemetry, token auth.Token, routes func(r chi.Router)) *httptest.Server {
	t.Helper()
	ready := &service.Readiness{}
	ready.Set(true)
	srv := httptest.NewServer(service.NewRouter(service.Deps{
		Name:      name,
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		Registry:  service.NewRegistry(),
		Telemetry: tel,
		Token:     token,
		Readiness: ready,
	}, routes))
	t.Cleanup(srv.Close)
	return srv
}

// TestOneTraceAcrossServices: a request from an instrumented client (the pinger's or the
// reaper's) into a server built on service.NewRouter (the receiver), which calls another
// (the nodekiller) through httpclient, is one trace: client → server → client → server, each
// span the child of the one before.
func TestOneTraceAcrossServices(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	const secret = "s3cret-token"
	token := auth.NewToken(secret)

	killerTel := tracedService(exp, "nodekiller")
	killer := newServer(t, "nodekiller", killerTel, token, func(r chi.Router) {
		r.Post("/kill", func(w http.ResponseWriter, _ *http.Request) {
			web.Encode(w, http.StatusOK, map[string]string{"victim": "receiver-2", "method": "stop"})
		})
	})

	receiverTel := tracedService(exp, "receiver")
	receiverClient := httpclient.New(receiverTel, 4)
	receiver := newServer(t, "receiver", receiverTel, token, func(r chi.Router) {
		r.Post("/", func(w http.ResponseWriter, r *http.Request) {
			req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, killer.URL+"/kill", nil)
			if err != nil {
				web.Error(w, http.StatusInternalServerError, err.Error())
				return
			}
			auth.SetBearer(req, secret)
			resp, err := receiverClient.Do(req)
			if err != nil {
				web.Error(w, http.StatusBadGateway, err.Error())
				return
			}
			_ = resp.Body.Close()
			web.Encode(w, resp.StatusCode, map[string]string{"forwarded": "kill"})
		})
	})

	callerTel := tracedService(exp, "reaper")
	closeTelemetry(t, callerTel, receiverTel, killerTel)
	caller := httpclient.New(callerTel, 4)
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, receiver.URL+"/", nil)
	require.NoError(t, err)
	auth.SetBearer(req, secret)
	resp, err := caller.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// A server span ends once its handler has returned, which may be just after the client
	// has its answer.
	var spans tracetest.SpanStubs
	require.Eventually(t, func() bool {
		spans = exp.GetSpans()
		return len(spans) >= 4
	}, 5*time.Second, 10*time.Millisecond, "client and server span on each of the two hops")
	require.Len(t, spans, 4, "client and server span on each of the two hops: %v", spanNames(spans))

	// Order by parentage: the root, then each child.
	byParent := map[trace.SpanID]tracetest.SpanStub{}
	var root *tracetest.SpanStub
	for i, s := range spans {
		if !s.Parent.IsValid() {
			require.Nil(t, root, "one root span only: %v", spanNames(spans))
			root = &spans[i]
			continue
		}
		byParent[s.Parent.SpanID()] = s
	}
	require.NotNil(t, root, "a root span")

	chain := []tracetest.SpanStub{*root}
	for len(chain) < len(spans) {
		next, ok := byParent[chain[len(chain)-1].SpanContext.SpanID()]
		require.True(t, ok, "span %q has no child; spans: %v", chain[len(chain)-1].Name, spanNames(spans))
		chain = append(chain, next)
	}
	wantKinds := []trace.SpanKind{trace.SpanKindClient, trace.SpanKindServer, trace.SpanKindClient, trace.SpanKindServer}
	traceID := root.SpanContext.TraceID()
	for i, s := range chain {
		assert.Equal(t, traceID, s.SpanContext.TraceID(), "span %d %q in the same trace", i, s.Name)
		assert.Equal(t, wantKinds[i], s.SpanKind, "span %d %q", i, s.Name)
	}
	wantServices := []string{"reaper", "receiver", "receiver", "nodekiller"}
	for i, s := range chain {
		assert.Equal(t, wantServices[i], serviceName(s), "span %d %q", i, s.Name)
	}
	assert.Equal(t, "POST /", chain[1].Name, "the receiver's server span, named by its route")
	assert.Equal(t, "POST /kill", chain[3].Name, "the nodekiller's server span, named by its route")
}

// TestProbesAreNotTraced: health probes and scrapes make no spans, so that a trace store is not
// filled with them.
func TestProbesAreNotTraced(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tel := tracedService(exp, "receiver")
	closeTelemetry(t, tel)
	srv := newServer(t, "receiver", tel, auth.Token{}, func(chi.Router) {})
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		require.NoError(t, resp.Body.Close())
		assert.Equal(t, http.StatusOK, resp.StatusCode, path)
	}
	assert.Empty(t, spanNames(exp.GetSpans()))
}

func spanNames(spans tracetest.SpanStubs) []string {
	names := make([]string, 0, len(spans))
	for _, s := range spans {
		names = append(names, s.Name+"("+s.SpanKind.String()+")")
	}
	return names
}
