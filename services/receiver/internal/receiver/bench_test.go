package receiver_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// The receiver's throughput against a bare net/http handler answering the same JSON, both
// over loopback HTTP with keep-alive. The receiver should keep at least 70 % of the bare
// handler's throughput, so that the probe measures the platform, not the service under test:
// compare the two ns/op figures of one run (make bench prints the ratio).

func BenchmarkReceiver(b *testing.B) {
	f := newFixture(b, token, 200, `{}`)
	benchmarkServer(b, f.srv)
}

func BenchmarkBareHandler(b *testing.B) {
	pid := os.Getpid()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Receiver-Version", "alpha")
		w.Header().Set("X-Receiver-Node", "node-1")
		_ = json.NewEncoder(w).Encode(map[string]any{"message": "Alpha Receiver running!", "version": "alpha", "node": "node-1", "pid": pid})
	}))
	b.Cleanup(srv.Close)
	benchmarkServer(b, srv)
}

func benchmarkServer(b *testing.B, srv *httptest.Server) {
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	client := &http.Client{Transport: tr}
	b.Cleanup(tr.CloseIdleConnections)
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader(`{"kill_node":"spare"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := client.Do(req)
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
