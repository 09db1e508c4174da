package telemetry

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEndpointURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://collector:4318":            "http://collector:4318/v1/traces",
		"http://collector:4318/":           "http://collector:4318/v1/traces",
		"collector:4318":                   "http://collector:4318/v1/traces",
		"https://otel.example/custom/path": "https://otel.example/custom/path",
	} {
		assert.Equal(t, want, endpointURL(in), in)
	}
}

func TestSetupWithoutEndpointExportsNothing(t *testing.T) {
	tel, err := Setup(context.Background(), "svc", func(string) string { return "" })
	require.NoError(t, err)
	_, span := tel.Tracer.Tracer("t").Start(context.Background(), "x")
	assert.False(t, span.SpanContext().IsSampled())
	span.End()
	assert.NoError(t, tel.Shutdown(context.Background()))
}

// TestPropagationWithoutExporter: with no exporter, a request's traceparent still reaches
// the calls it makes.
func TestPropagationWithoutExporter(t *testing.T) {
	tel, err := Setup(context.Background(), "svc", func(string) string { return "" })
	require.NoError(t, err)
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	var downstream string
	next := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		downstream = r.Header.Get("traceparent")
	}))
	defer next.Close()
	client := &http.Client{Transport: tel.Transport(http.DefaultTransport)}
	h := tel.Middleware("svc")(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, next.URL, nil)
		resp, err := client.Do(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
	}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("traceparent", parent)
	h.ServeHTTP(httptest.NewRecorder(), req)
	require.NotEmpty(t, downstream)
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", strings.Split(downstream, "-")[1], "same trace")
}
