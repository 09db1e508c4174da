//go:build !race

package pinger

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestAccuracyRate: the achieved rate is within 1 % of the target at 50 and 1000 QPS. Timing
// tests are built without the race detector, whose slowdown on a shared 2-core machine would
// measure the detector rather than the pacer; make test runs them in a pass of their own.
func TestAccuracyRate(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	for _, qps := range []float64{50, 1000} {
		d := 3 * time.Second
		st := run(t, Target{Name: "t", URL: srv.URL, QPS: qps}, int(2.5*qps), noRetry(), 10*time.Second, d)
		want := qps * d.Seconds()
		got := float64(st.Lifetime.Requests + st.Lifetime.Dropped)
		assert.InDelta(t, want, got, want*0.01, "%v QPS: sends due in %s", qps, d)
		assert.Zero(t, st.Lifetime.Failed, "%v QPS", qps)
	}
}

// TestAccuracyP99: 2 % of requests are delayed 200 ms, so the exact p99 is that
// delay, within 5 %.
func TestAccuracyP99(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%50 == 0 {
			time.Sleep(200 * time.Millisecond)
		}
	}))
	defer srv.Close()
	st := run(t, Target{Name: "t", URL: srv.URL, QPS: 200}, 500, noRetry(), time.Second, 5*time.Second)
	assert.InDelta(t, 200, st.LifetimeLatencyMs.P99, 10, "p99 ms")
	assert.Less(t, st.LifetimeLatencyMs.P50, 50.0)
}
