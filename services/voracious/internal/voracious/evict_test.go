package voracious

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/voracious/internal/servo"
)

func TestEvictor(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	store := servo.NewStore(servo.Options{Now: clock})
	for _, app := range []string{"x", "y"} {
		_, err := store.Apply("a", app, servo.Input{Event: servo.Hello})
		require.NoError(t, err)
	}
	_, err := store.Apply("a", "x", servo.Input{Event: servo.Goodbye})
	require.NoError(t, err)

	e := &Evictor{Store: store, After: time.Hour, Logger: slog.New(slog.DiscardHandler), Now: clock}
	assert.Equal(t, time.Minute, e.Every())
	assert.Equal(t, 30*time.Second, (&Evictor{After: 5 * time.Minute}).Every())
	assert.Equal(t, 100*time.Millisecond, (&Evictor{After: time.Second}).Every())
	assert.Equal(t, time.Minute, (&Evictor{After: 24 * time.Hour}).Every())

	assert.Zero(t, e.Sweep())
	mu.Lock()
	now = now.Add(time.Hour)
	mu.Unlock()
	assert.Equal(t, 1, e.Sweep())
	_, ok := store.Get("a", "x")
	assert.False(t, ok)
	_, ok = store.Get("a", "y")
	assert.True(t, ok, "a live app is never evicted")

	// Run sweeps on its own and stops with its context.
	_, err = store.Apply("a", "y", servo.Input{Event: servo.Goodbye})
	require.NoError(t, err)
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	fast := &Evictor{Store: store, After: time.Second, Logger: e.Logger, Now: clock}
	done := make(chan struct{})
	go func() { fast.Run(ctx); close(done) }()
	require.Eventually(t, func() bool { return store.Known() == 0 }, 5*time.Second, 10*time.Millisecond)
	cancel()
	<-done
}
