package telemetry

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"chaossuite.dev/shared/config"
)

// collector is an OTLP/HTTP trace receiver that keeps the path and resource of every export.
type collector struct {
	mu      sync.Mutex
	exports []export
}

type export struct {
	path  string
	attrs map[string]string // the resource's
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		e := export{path: r.URL.Path, attrs: map[string]string{}}
		for _, a := range rs.GetResource().GetAttributes() {
			e.attrs[a.Key] = a.GetValue().GetStringValue()
		}
		c.exports = append(c.exports, e)
	}
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

// TestSetupHonoursTheSDKVariables: the OTEL_* variables mean what the OpenTelemetry
// specification says, read by the SDK: a traces endpoint is used as given, a base endpoint
// gets the traces path, the resource attributes and the service name reach every span.
func TestSetupHonoursTheSDKVariables(t *testing.T) {
	col := &collector{}
	srv := httptest.NewServer(col)
	defer srv.Close()
	unused := "http://" + closedAddr(t)
	for _, tc := range []struct {
		name     string
		env      map[string]string
		path     string
		resource map[string]string
	}{
		{"base endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": srv.URL},
			"/v1/traces", map[string]string{"service.name": "svc"}},
		{"base endpoint with a path", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": srv.URL + "/otlp/"},
			"/otlp/v1/traces", map[string]string{"service.name": "svc"}},
		{"traces endpoint used as given", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": srv.URL + "/custom/path"},
			"/custom/path", map[string]string{"service.name": "svc"}},
		{"traces endpoint over the base one", map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT": unused, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": srv.URL + "/traces",
		}, "/traces", map[string]string{"service.name": "svc"}},
		{"resource attributes", map[string]string{
			"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": srv.URL + "/v1/traces",
			"OTEL_RESOURCE_ATTRIBUTES":           "deployment.environment=e2e,service.namespace=chaos%20suite",
		}, "/v1/traces", map[string]string{"service.name": "svc", "deployment.environment": "e2e", "service.namespace": "chaos suite"}},
		{"service name from the attributes", map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT": srv.URL, "OTEL_RESOURCE_ATTRIBUTES": "service.name=other",
		}, "/v1/traces", map[string]string{"service.name": "other"}},
		{"OTEL_SERVICE_NAME over everything", map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT": srv.URL, "OTEL_RESOURCE_ATTRIBUTES": "service.name=other", "OTEL_SERVICE_NAME": "named",
		}, "/v1/traces", map[string]string{"service.name": "named"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_SERVICE_NAME"} {
				t.Setenv(k, tc.env[k])
			}
			col.mu.Lock()
			col.exports = nil
			col.mu.Unlock()
			tel, err := Setup(context.Background(), "svc", os.Getenv)
			require.NoError(t, err)
			_, span := tel.Tracer.Tracer("t").Start(context.Background(), "x")
			span.End()
			require.NoError(t, tel.Shutdown(context.Background()), "the span is flushed to the collector")
			col.mu.Lock()
			defer col.mu.Unlock()
			require.Len(t, col.exports, 1)
			assert.Equal(t, tc.path, col.exports[0].path)
			for k, v := range tc.resource {
				assert.Equal(t, v, col.exports[0].attrs[k], k)
			}
		})
	}
}

// TestSetupRefusesBadResourceAttributes: a malformed OTEL_RESOURCE_ATTRIBUTES is a
// configuration error naming the variable, not a silently smaller resource.
func TestSetupRefusesBadResourceAttributes(t *testing.T) {
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "no-equals-sign")
	_, err := Setup(context.Background(), "svc", os.Getenv)
	var ce *config.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "OTEL_RESOURCE_ATTRIBUTES", ce.Var)
}

func closedAddr(t *testing.T) string {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := strings.TrimPrefix(srv.URL, "http://")
	srv.Close()
	return addr
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
