package chaos

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"
)

// UndoTimeout bounds one undo: the engine or API it calls may be slow, never for ever.
const UndoTimeout = 30 * time.Second

// Undos runs the undo of each kill that ends by itself (a pause lifted, a partition healed)
// after the kill's duration, or at once when its context ends: a driver that closes leaves
// nothing paused or cut off. Each undo runs once, in a goroutine of its own that Wait waits
// for, with a context of its own bounded by UndoTimeout (the driver's may have ended).
type Undos struct {
	ctx     context.Context
	wg      sync.WaitGroup
	mu      sync.Mutex
	pending map[uint64]string // the nodes of the undos not run yet, by a key of their own
	next    uint64
}

// NewUndos returns Undos that run every pending undo at once when ctx ends.
func NewUndos(ctx context.Context) *Undos {
	return &Undos{ctx: ctx, pending: map[uint64]string{}}
}

// After runs undo for node after d, or at once when the context ends.
func (u *Undos) After(node string, d time.Duration, undo func(context.Context)) {
	u.mu.Lock()
	key := u.next
	u.next++
	u.pending[key] = node
	u.mu.Unlock()
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-u.ctx.Done():
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(u.ctx), UndoTimeout)
		defer cancel()
		undo(ctx)
		u.mu.Lock()
		delete(u.pending, key)
		u.mu.Unlock()
	}()
}

// Pending lists the nodes whose undo has not run to its end yet, sorted, each once.
func (u *Undos) Pending() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Compact(slices.Sorted(maps.Values(u.pending)))
}

// Wait waits for every undo started so far: end the context first, or it waits out their
// durations.
func (u *Undos) Wait() { u.wg.Wait() }
