package pinger

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Attacker runs one target open-loop: each request leaves when the pacer says, whatever the
// earlier ones are doing, so slow answers show as latency rather than as fewer requests. At
// most Cap requests are in flight; a send due while the cap is reached is dropped and counted.
type Attacker struct {
	Sender   *Sender
	Pacer    Pacer
	Cap      int
	Recorder *Recorder
	Clock    Clock

	pending atomic.Int64
}

// maxNap is the longest the attacker sleeps before asking the pacer again.
const maxNap = 100 * time.Millisecond

// Limit is the in-flight cap now: Cap, or the shaped load's.
func (a *Attacker) Limit() int {
	if s, ok := a.Pacer.(*ShapedPacer); ok {
		return s.Cap()
	}
	return a.Cap
}

// Pending is the number of requests in flight now.
func (a *Attacker) Pending() int64 { return a.pending.Load() }

// Run sends until ctx ends, then waits for the requests in flight (which send no further
// retries) to finish.
func (a *Attacker) Run(ctx context.Context) {
	conn := a.Sender.conn
	conn.resolve(ctx)
	connCtx, stopConn := context.WithCancel(ctx)
	var owned sync.WaitGroup
	owned.Go(func() { conn.run(connCtx) })
	defer func() {
		stopConn()
		owned.Wait()
		conn.close()
		a.Recorder.Stop(a.Clock.Now())
	}()

	start := a.Clock.Now()
	a.Recorder.Start(start)
	if s, ok := a.Pacer.(*ShapedPacer); ok {
		s.Begin(start)
		defer s.End()
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	for n := uint64(0); ; n++ {
		due := start.Add(a.Pacer.Due(n))
		// A far send is looked at again now and then: the load may change meanwhile.
		for wait := due.Sub(a.Clock.Now()); wait > maxNap; wait = due.Sub(a.Clock.Now()) {
			if !a.Clock.Sleep(maxNap, ctx.Done()) {
				return
			}
			due = start.Add(a.Pacer.Due(n))
		}
		if !a.Clock.Sleep(due.Sub(a.Clock.Now()), ctx.Done()) {
			return
		}
		if a.pending.Load() >= int64(a.Limit()) {
			a.Recorder.Record(Result{Target: a.Sender.Target.Name, Scheduled: due, Dropped: true})
			continue
		}
		a.pending.Add(1)
		a.Recorder.metrics.pending.Inc()
		wg.Go(func() {
			res := a.Sender.Send(ctx, n, due)
			a.pending.Add(-1)
			a.Recorder.metrics.pending.Dec()
			a.Recorder.Record(res)
		})
	}
}
