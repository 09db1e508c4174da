package chaos_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"

	"chaossuite.dev/shared/chaos"
)

// undoLog records which undos ran, when, and whether their context was still alive.
type undoLog struct {
	mu   sync.Mutex
	runs []string
	at   map[string]time.Duration
	live map[string]bool
}

func (l *undoLog) undo(start time.Time, node string) func(context.Context) {
	return func(ctx context.Context) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.runs = append(l.runs, node)
		l.at[node] = time.Since(start)
		_, bounded := ctx.Deadline()
		l.live[node] = ctx.Err() == nil && bounded
	}
}

// ran returns the undos run so far, in order.
func (l *undoLog) ran() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.runs...)
}

func newUndoLog() *undoLog { return &undoLog{at: map[string]time.Duration{}, live: map[string]bool{}} }

func TestUndosRunAfterTheirDuration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		u, log, start := chaos.NewUndos(ctx), newUndoLog(), time.Now()
		u.After("b", 10*time.Second, log.undo(start, "b"))
		u.After("a", 5*time.Second, log.undo(start, "a"))
		synctest.Wait()
		assert.Equal(t, []string{"a", "b"}, u.Pending())

		time.Sleep(5 * time.Second)
		synctest.Wait()
		assert.Equal(t, []string{"a"}, log.ran(), "a at its 5 s, b not before its 10 s")
		assert.Equal(t, []string{"b"}, u.Pending())

		time.Sleep(5 * time.Second)
		synctest.Wait()
		assert.Equal(t, []string{"a", "b"}, log.ran())
		u.Wait()
		assert.Equal(t, map[string]time.Duration{"a": 5 * time.Second, "b": 10 * time.Second}, log.at)
		assert.Empty(t, u.Pending())
	})
}

// When the driver closes, every pending undo runs at once, with a context of its own.
func TestUndosRunAtOnceWhenTheContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		u, log, start := chaos.NewUndos(ctx), newUndoLog(), time.Now()
		u.After("a", time.Hour, log.undo(start, "a"))
		u.After("a", 2*time.Hour, log.undo(start, "a2"))
		u.After("b", time.Hour, log.undo(start, "b"))
		synctest.Wait()
		assert.Equal(t, []string{"a", "b"}, u.Pending(), "each node once")

		time.Sleep(time.Minute)
		cancel()
		u.Wait()
		assert.ElementsMatch(t, []string{"a", "a2", "b"}, log.ran())
		for _, n := range []string{"a", "a2", "b"} {
			assert.Equal(t, time.Minute, log.at[n], "%s ran at the close, not at its duration", n)
			assert.True(t, log.live[n], "%s got a live, bounded context", n)
		}
		assert.Empty(t, u.Pending())
	})
}
