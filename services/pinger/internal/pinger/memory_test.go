//go:build !race

package pinger

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestAccuracyMemoryBoundedAtCap holds the pinger at its pending cap for 10 s against a target
// that never answers: sends are dropped and counted, and memory stays flat.
func TestAccuracyMemoryBoundedAtCap(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 10 s")
	}
	release := make(chan struct{})
	blackHole := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer blackHole.Close()
	a := newAttacker(t, Target{Name: "t", URL: blackHole.URL, QPS: 1000}, 250, noRetry(), time.Minute)
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
	time.Sleep(2 * time.Second) // the cap fills within the first quarter second
	early := heap()
	time.Sleep(8 * time.Second)
	late := heap()
	assert.LessOrEqual(t, a.Pending(), int64(250))
	st := a.Recorder.Stats(time.Now(), true)
	assert.Zero(t, st.Lifetime.Requests, "none answered yet: all 250 sent are pending")
	assert.EqualValues(t, 250, a.Pending())
	assert.Greater(t, st.Lifetime.Dropped, uint64(9000), "the rest were dropped and counted")
	assert.Less(t, late, early+8<<20, "heap grew from %d to %d bytes while dropping", early, late)
	close(release)
	cancel()
	<-done
}
