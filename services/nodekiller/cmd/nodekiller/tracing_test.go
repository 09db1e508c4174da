package main

import (
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"chaossuite.dev/shared/proctest"
)

// collector is an OTLP/HTTP trace receiver that keeps, per service, the trace IDs it got.
type collector struct {
	mu     sync.Mutex
	traces map[string]map[string]int // service -> trace id -> spans
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
		service := ""
		for _, a := range rs.GetResource().GetAttributes() {
			if a.Key == "service.name" {
				service = a.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				if c.traces[service] == nil {
					c.traces[service] = map[string]int{}
				}
				c.traces[service][hex.EncodeToString(s.TraceId)]++
			}
		}
	}
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

// TestKillIsOneTrace: a kill request that arrives with a traceparent is one trace through the
// real receiver and the real nodekiller, as exported over OTLP.
func TestKillIsOneTrace(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real binaries")
	}
	col := &collector{traces: map[string]map[string]int{}}
	otlp := httptest.NewServer(col)
	defer otlp.Close()
	receiverBin := proctest.Build(t, "chaossuite.dev/receiver/cmd/receiver")
	nodekillerBin := proctest.Build(t, "chaossuite.dev/nodekiller/cmd/nodekiller")

	victim := proctest.Start(t, receiverBin, "AUTH_TOKEN="+token)
	nk := proctest.Start(t, nodekillerBin, "AUTH_TOKEN="+token, "TARGETS="+victim.URL, "MIN_AVAILABLE=0",
		"DRY_RUN=true", "OTEL_EXPORTER_OTLP_ENDPOINT="+otlp.URL)
	r := proctest.Start(t, receiverBin, "AUTH_TOKEN="+token, "NODEKILLER_URL="+nk.URL,
		"OTEL_EXPORTER_OTLP_ENDPOINT="+otlp.URL)

	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	req, _ := http.NewRequest(http.MethodPost, r.URL+"/", strings.NewReader(`{"kill_node":"stop"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// SIGTERM flushes each exporter on the way out.
	for _, p := range []*proctest.Proc{r, nk} {
		require.NoError(t, p.Signal(syscall.SIGTERM))
		status, err := p.Wait(15 * time.Second)
		require.NoError(t, err)
		assert.Equal(t, 0, status)
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	assert.GreaterOrEqual(t, col.traces["receiver"][traceID], 2, "receiver: server span and the client span to the nodekiller (%v)", col.traces)
	assert.GreaterOrEqual(t, col.traces["nodekiller"][traceID], 1, "nodekiller: its server span in the same trace (%v)", col.traces)
}
