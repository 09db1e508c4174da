package voracious

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"chaossuite.dev/voracious/internal/bare"
)

// The seed's load: MEASUREMENT with progress on one app held in in-measure, through the whole
// router, against a bare net/http handler that decodes the same body and answers the same
// JSON, both over loopback HTTP with keep-alive. DESIGN section 11 asks for at least 80 %
// of the bare handler: compare the two ns/op figures of one run.

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
