package servo

import (
	"fmt"
	"hash/maphash"
	"math"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const shardCount = 256

// Store holds every app's status. Lookups lock one shard of the app index for reading; an
// event locks only its own app, so apps never wait on each other.
type Store struct {
	seed    maphash.Seed
	shards  [shardCount]shard
	byState [numStates]atomic.Int64 // changed under the app's lock, so always exact
	known   atomic.Int64
	changes atomic.Uint64 // bumped on every accepted event that changed a status
	resync  bool
	maxApps int64
	now     func() time.Time
	onEvent func(Event, Result, error)
}

type shard struct {
	mu   sync.RWMutex
	apps map[appKey]*app
}

type appKey struct{ account, app string }

type app struct {
	mu sync.Mutex
	st Status
	// terminatedAt is when the app turned terminated (Unix nanoseconds), for eviction.
	terminatedAt int64
	// gone is set, under mu, when the app is evicted: an event that found it just before
	// looks it up again.
	gone bool
}

// Options tune a Store.
type Options struct {
	// Resync lets an unknown app's first non-HELLO event adopt the state it implies.
	Resync bool
	// OnEvent, when set, is called after every event with what it did (or its error), outside
	// any lock. It must be cheap: it runs on the request path.
	OnEvent func(Event, Result, error)
	// MaxApps caps how many apps the store holds (0: no cap). A new app past it is refused
	// with a *LimitError; a restore loads every record all the same.
	MaxApps int
	// Now is the clock for termination times (time.Now when nil).
	Now func() time.Time
}

// LimitError is a new app refused because the store already holds MaxApps apps.
type LimitError struct{ Max int64 }

// Error implements error.
func (e *LimitError) Error() string {
	return fmt.Sprintf("no room for a new app: %d apps are known, the limit", e.Max)
}

// NewStore returns an empty store.
func NewStore(opts Options) *Store {
	s := &Store{seed: maphash.MakeSeed(), resync: opts.Resync, onEvent: opts.OnEvent, maxApps: int64(opts.MaxApps), now: opts.Now}
	if s.now == nil {
		s.now = time.Now
	}
	for i := range s.shards {
		s.shards[i].apps = map[appKey]*app{}
	}
	return s
}

func (s *Store) shard(k appKey) *shard {
	var h maphash.Hash
	h.SetSeed(s.seed)
	_, _ = h.WriteString(k.account)
	_ = h.WriteByte(0)
	_, _ = h.WriteString(k.app)
	return &s.shards[h.Sum64()%shardCount]
}

func (s *Store) lookup(k appKey) (*shard, *app) {
	sh := s.shard(k)
	sh.mu.RLock()
	a := sh.apps[k]
	sh.mu.RUnlock()
	return sh, a
}

// Apply runs one event for (account, appName). An unknown app exists once HELLO (or, with
// resync, any event implying a state) is accepted; a rejected event creates nothing.
func (s *Store) Apply(account, appName string, in Input) (Result, error) {
	res, err := s.apply(account, appName, in)
	if s.onEvent != nil {
		s.onEvent(in.Event, res, err)
	}
	return res, err
}

// Reject counts an event refused before it reached the state machine (a bad body).
func (s *Store) Reject(e Event) {
	if s.onEvent != nil {
		s.onEvent(e, Result{}, errRejected)
	}
}

var errRejected = &SequenceError{Reason: "rejected"}

func (s *Store) apply(account, appName string, in Input) (Result, error) {
	if err := checkNames(account, appName); err != nil {
		return Result{}, err
	}
	k := appKey{account, appName}
	for {
		sh, a := s.lookup(k)
		if a == nil {
			var err error
			if a, err = s.create(sh, k, in); err != nil {
				return Result{}, err
			}
		}
		a.mu.Lock()
		if a.gone {
			// Evicted between the lookup and the lock: the app is unknown now; look again.
			a.mu.Unlock()
			continue
		}
		next, res, err := Step(a.st, in)
		if err == nil {
			if next != a.st {
				s.changes.Add(1)
			}
			if res.From != res.To {
				s.byState[res.From].Add(-1)
				s.byState[res.To].Add(1)
				if res.To == Terminated {
					a.terminatedAt = s.now().UnixNano()
				}
			}
			a.st = next
		}
		a.mu.Unlock()
		return res, err
	}
}

// create adds the unknown app k in the state in implies (initial for HELLO), unless in would be
// refused there, the store is full, or another event created it meanwhile (then that one is
// returned).
func (s *Store) create(sh *shard, k appKey, in Input) (*app, error) {
	start := Status{State: Initial}
	if in.Event != Hello {
		implied, ok := Implied(in)
		if !s.resync || !ok {
			return nil, seqErr("unknown app: the first event must be HELLO, got %s", in.Event)
		}
		start = implied
	}
	// Check on a copy first so that a rejected event creates nothing.
	if _, _, err := Step(start, in); err != nil {
		return nil, err
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if a := sh.apps[k]; a != nil {
		return a, nil
	}
	if !s.reserve() {
		return nil, &LimitError{Max: s.maxApps}
	}
	a := &app{st: start}
	// Own copies: the names may point into a request's whole URL.
	sh.apps[appKey{strings.Clone(k.account), strings.Clone(k.app)}] = a
	s.byState[start.State].Add(1)
	return a, nil
}

// reserve counts one more app unless the store is full.
func (s *Store) reserve() bool {
	if s.maxApps <= 0 {
		s.known.Add(1)
		return true
	}
	for {
		n := s.known.Load()
		if n >= s.maxApps {
			return false
		}
		if s.known.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// EvictTerminated forgets every app that turned terminated at or before cutoff and returns how
// many it forgot. A servo that comes back later starts with HELLO, as a new app does.
func (s *Store) EvictTerminated(cutoff time.Time) int {
	c := cutoff.UnixNano()
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for k, a := range sh.apps {
			a.mu.Lock()
			if a.st.State == Terminated && a.terminatedAt <= c {
				a.gone = true
				delete(sh.apps, k)
				s.byState[Terminated].Add(-1)
				s.known.Add(-1)
				s.changes.Add(1)
				n++
			}
			a.mu.Unlock()
		}
		sh.mu.Unlock()
	}
	return n
}

// Get returns the status of one app.
func (s *Store) Get(account, appName string) (Status, bool) {
	_, a := s.lookup(appKey{account, appName})
	if a == nil {
		return Status{}, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.st, true
}

// CountByState returns how many apps stand in each state.
func (s *Store) CountByState() map[State]int64 {
	m := make(map[State]int64, numStates)
	for i := range s.byState {
		m[State(i)] = s.byState[i].Load()
	}
	return m
}

// Count returns how many apps stand in state st.
func (s *Store) Count(st State) int64 {
	if st >= numStates {
		return 0
	}
	return s.byState[st].Load()
}

// Known returns how many apps the store holds.
func (s *Store) Known() int64 { return s.known.Load() }

// Changes returns a number that grows whenever some app's status changes: a cheap dirty mark.
func (s *Store) Changes() uint64 { return s.changes.Load() }

// Stats are the cycle statistics over every known app; the pointers are nil when N is 0, as
// the wire shape has nulls then.
type Stats struct {
	N       int      `json:"n"`
	Average *float64 `json:"average"`
	Min     *uint64  `json:"min"`
	Max     *uint64  `json:"max"`
}

// Stats computes the cycle statistics now.
func (s *Store) Stats() Stats {
	var n int
	var sum float64
	minC, maxC := uint64(math.MaxUint64), uint64(0)
	s.each(func(_ appKey, st Status, _ int64) {
		n++
		sum += float64(st.Cycles)
		minC = min(minC, st.Cycles)
		maxC = max(maxC, st.Cycles)
	})
	if n == 0 {
		return Stats{}
	}
	avg := sum / float64(n)
	return Stats{N: n, Average: &avg, Min: &minC, Max: &maxC}
}

// each calls f for every app with a consistent copy of its status and termination time, one
// shard at a time.
func (s *Store) each(f func(appKey, Status, int64)) {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		for k, a := range sh.apps {
			a.mu.Lock()
			st, at := a.st, a.terminatedAt
			a.mu.Unlock()
			f(k, st, at)
		}
		sh.mu.RUnlock()
	}
}

// Record is one app's status as a snapshot holds it.
type Record struct {
	Account  string `json:"account"`
	App      string `json:"app"`
	State    string `json:"state"`
	Pending  string `json:"pending,omitempty"`
	Progress int64  `json:"progress,omitempty"`
	Cycles   uint64 `json:"cycles"`
	// TerminatedAt is when a terminated app turned so; eviction counts from it.
	TerminatedAt time.Time `json:"terminated_at,omitzero"`
}

// Snapshot copies every app's status, sorted by account then app.
func (s *Store) Snapshot() []Record {
	var out []Record
	s.each(func(k appKey, st Status, at int64) {
		r := Record{Account: k.account, App: k.app, State: st.State.String(),
			Pending: st.Pending.String(), Progress: st.Progress, Cycles: st.Cycles}
		if st.State == Terminated {
			r.TerminatedAt = time.Unix(0, at).UTC()
		}
		out = append(out, r)
	})
	sort.Slice(out, func(i, j int) bool {
		if out[i].Account != out[j].Account {
			return out[i].Account < out[j].Account
		}
		return out[i].App < out[j].App
	})
	return out
}

// Restore loads records into an empty store, checking each one with the rules the API applies,
// so that whatever Snapshot wrote reads back. It loads every record even past MaxApps (a lower
// limit than the file was written under only refuses new apps). A terminated app without a
// termination time counts as terminated now.
func (s *Store) Restore(recs []Record) error {
	now := s.now().UnixNano()
	for i, r := range recs {
		st, ok := ParseState(r.State)
		if !ok {
			return seqErr("record %d (%s/%s): unknown state %q", i, QuoteName(r.Account), QuoteName(r.App), r.State)
		}
		cmd, ok := ParseCommand(r.Pending)
		if !ok {
			return seqErr("record %d (%s/%s): unknown pending command %q", i, QuoteName(r.Account), QuoteName(r.App), r.Pending)
		}
		if err := checkNames(r.Account, r.App); err != nil {
			return seqErr("record %d: %v", i, err)
		}
		a := &app{st: Status{State: st, Pending: cmd, Progress: r.Progress, Cycles: r.Cycles}}
		if st == Terminated {
			a.terminatedAt = now
			if !r.TerminatedAt.IsZero() {
				a.terminatedAt = r.TerminatedAt.UnixNano()
			}
		}
		k := appKey{r.Account, r.App}
		sh := s.shard(k)
		sh.mu.Lock()
		if _, dup := sh.apps[k]; dup {
			sh.mu.Unlock()
			return seqErr("record %d: %s/%s appears twice", i, QuoteName(r.Account), QuoteName(r.App))
		}
		sh.apps[k] = a
		sh.mu.Unlock()
		s.known.Add(1)
		s.byState[st].Add(1)
	}
	return nil
}
