package pinger

import (
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestAccuracyRate: the pacer sends the target's rate, 50 and 1000 QPS, to the request. It runs
// on synctest's fake clock: what the pinger achieves on a real, loaded machine is a benchmark's
// figure (deploy/bench/pinger.sh), not a test's.
func TestAccuracyRate(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	for _, qps := range []float64{50, 1000} {
		synctest.Test(t, func(t *testing.T) {
			d := 3 * time.Second
			// Stopped 100 us short of d: between two due times at either rate.
			st := run(t, Target{Name: "t", URL: memoryURL, QPS: qps}, ok, int(2.5*qps), noRetry(), 10*time.Second, d-100*time.Microsecond)
			want := qps * d.Seconds()
			got := float64(st.Lifetime.Requests + st.Lifetime.Dropped)
			assert.InDelta(t, want, got, want*0.01, "%v QPS: sends due in %s", qps, d)
			assert.Equal(t, want, got, "%v QPS: sends due in %s", qps, d)
			assert.Zero(t, st.Lifetime.Dropped, "%v QPS", qps)
			assert.Zero(t, st.Lifetime.Failed, "%v QPS", qps)
		})
	}
}

// TestAccuracyP99: 2 % of requests are delayed 200 ms, so the exact p99 is that delay.
func TestAccuracyP99(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int64
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1)%50 == 0 {
				time.Sleep(200 * time.Millisecond)
			}
		})
		st := run(t, Target{Name: "t", URL: memoryURL, QPS: 200}, h, 500, noRetry(), time.Second, 5*time.Second-time.Millisecond)
		assert.EqualValues(t, 1000, st.Lifetime.Requests)
		assert.InDelta(t, 200, st.LifetimeLatencyMs.P99, 10, "p99 ms")
		assert.InDelta(t, 200, st.LifetimeLatencyMs.P99, 0.2, "p99 ms, to the histogram's precision")
		assert.Less(t, st.LifetimeLatencyMs.P50, 50.0)
		assert.InDelta(t, 0, st.LifetimeLatencyMs.P50, 0.001, "the other 98 % answer at once (the histogram's least value is 1 us)")
	})
}
