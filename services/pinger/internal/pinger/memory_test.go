package pinger

import (
	"context"
	"net/http"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestAccuracyMemoryBoundedAtCap holds the pinger at its pending cap for 10 s (synctest's fake
// clock: it takes what 10 000 sends cost, not 10 s) against a target that never answers: sends
// are dropped and counted, and memory stays flat.
func TestAccuracyMemoryBoundedAtCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		blackHole := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		})
		a := newAttacker(t, Target{Name: "t", URL: memoryURL, QPS: 1000}, blackHole, 250, noRetry(), time.Minute)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			a.Run(ctx)
		}()

		heap := func() uint64 {
			runtime.GC()
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			return m.HeapAlloc
		}
		// Half a millisecond off the due times (one every ms), so that each look sees every
		// send due before it and none after.
		time.Sleep(2*time.Second + 500*time.Microsecond)
		synctest.Wait() // the cap filled in the first 250 ms; the attacker waits for its next send
		early := heap()
		assert.EqualValues(t, 250, a.Pending())
		assert.EqualValues(t, 2001-250, a.Recorder.Stats(time.Now(), true).Lifetime.Dropped, "sends due at 0 to 2 s")
		time.Sleep(8 * time.Second)
		synctest.Wait()
		late := heap()
		assert.LessOrEqual(t, a.Pending(), int64(250))
		st := a.Recorder.Stats(time.Now(), true)
		assert.Zero(t, st.Lifetime.Requests, "none answered yet: all 250 sent are pending")
		assert.EqualValues(t, 250, a.Pending())
		assert.Greater(t, st.Lifetime.Dropped, uint64(9000), "the rest were dropped and counted")
		assert.EqualValues(t, 10001-250, st.Lifetime.Dropped, "sends due at 0 to 10 s, less the cap")
		assert.Less(t, late, early+8<<20, "heap grew from %d to %d bytes while dropping", early, late)
		close(release)
		cancel()
		<-done
	})
}
