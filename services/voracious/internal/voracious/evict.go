package voracious

import (
	"context"
	"log/slog"
	"time"

	"chaossuite.dev/voracious/internal/servo"
)

// Evictor forgets apps that have been terminated for After, so that servos that came and went
// stop holding memory (and a place under VORACIOUS_MAX_APPS).
type Evictor struct {
	Store  *servo.Store
	After  time.Duration
	Logger *slog.Logger
	Now    func() time.Time
}

// Every is how often Run sweeps: a tenth of After, from 100ms to 1m, so that an app goes at
// most that long after its time.
func (e *Evictor) Every() time.Duration {
	return min(max(e.After/10, 100*time.Millisecond), time.Minute)
}

// Run sweeps every Every until ctx ends.
func (e *Evictor) Run(ctx context.Context) {
	t := time.NewTicker(e.Every())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			e.Sweep()
		}
	}
}

// Sweep forgets the apps terminated for After by now and returns how many.
func (e *Evictor) Sweep() int {
	n := e.Store.EvictTerminated(e.Now().Add(-e.After))
	if n > 0 {
		e.Logger.Debug("evicted terminated apps", "apps", n, "after", e.After.String())
	}
	return n
}
