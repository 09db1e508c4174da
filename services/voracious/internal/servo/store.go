package servo

import (
	"hash/maphash"
	"math"
	"sort"
	"sync"
	"sync/atomic"
)

const shardCount = 256

// Store holds every app's status. Lookups lock one shard of the app index for reading; an
// event locks only its own app, so apps never wait on each other.
type Store struct {
	seed    maphash.Seed
	shards  [shardCount]shard
	byState [numStates]atomic.Int64
	known   atomic.Int64
	changes atomic.Uint64 // bumped on every accepted event that changed a status
	resync  bool
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
}

// Options tune a Store.
type Options struct {
	// Resync lets an unknown app's first non-HELLO event adopt the state it implies.
	Resync bool
	// OnEvent, when set, is called after every event with what it did (or its error), outside
	// any lock. It must be cheap: it runs on the request path.
	OnEvent func(Event, Result, error)
}

// NewStore returns an empty store.
func NewStore(opts Options) *Store {
	s := &Store{seed: maphash.MakeSeed(), resync: opts.Resync, onEvent: opts.OnEvent}
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
	k := appKey{account, appName}
	sh, a := s.lookup(k)
	if a == nil {
		start := Status{State: Initial}
		if in.Event != Hello {
			implied, ok := Implied(in)
			if !s.resync || !ok {
				return Result{}, seqErr("unknown app: the first event must be HELLO, got %s", in.Event)
			}
			start = implied
		}
		// Check on a copy first so that a rejected event creates nothing.
		if _, _, err := Step(start, in); err != nil {
			return Result{}, err
		}
		sh.mu.Lock()
		if a = sh.apps[k]; a == nil {
			a = &app{st: start}
			sh.apps[k] = a
			s.known.Add(1)
			s.byState[start.State].Add(1)
		}
		sh.mu.Unlock()
	}
	a.mu.Lock()
	next, res, err := Step(a.st, in)
	if err == nil {
		if next != a.st {
			s.changes.Add(1)
		}
		a.st = next
	}
	a.mu.Unlock()
	if err == nil && res.From != res.To {
		s.byState[res.From].Add(-1)
		s.byState[res.To].Add(1)
	}
	return res, err
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
	s.each(func(_ appKey, st Status) {
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

// each calls f for every app with a consistent copy of its status, one shard at a time.
func (s *Store) each(f func(appKey, Status)) {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		for k, a := range sh.apps {
			a.mu.Lock()
			st := a.st
			a.mu.Unlock()
			f(k, st)
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
}

// Snapshot copies every app's status, sorted by account then app.
func (s *Store) Snapshot() []Record {
	var out []Record
	s.each(func(k appKey, st Status) {
		out = append(out, Record{Account: k.account, App: k.app, State: st.State.String(),
			Pending: st.Pending.String(), Progress: st.Progress, Cycles: st.Cycles})
	})
	sort.Slice(out, func(i, j int) bool {
		if out[i].Account != out[j].Account {
			return out[i].Account < out[j].Account
		}
		return out[i].App < out[j].App
	})
	return out
}

// Restore loads records into an empty store, checking each one.
func (s *Store) Restore(recs []Record) error {
	for i, r := range recs {
		st, ok := ParseState(r.State)
		if !ok {
			return seqErr("record %d (%s/%s): unknown state %q", i, r.Account, r.App, r.State)
		}
		cmd, ok := ParseCommand(r.Pending)
		if !ok {
			return seqErr("record %d (%s/%s): unknown pending command %q", i, r.Account, r.App, r.Pending)
		}
		if r.App == "" {
			return seqErr("record %d: empty app name", i)
		}
		k := appKey{r.Account, r.App}
		sh := s.shard(k)
		sh.mu.Lock()
		if _, dup := sh.apps[k]; dup {
			sh.mu.Unlock()
			return seqErr("record %d: %s/%s appears twice", i, r.Account, r.App)
		}
		sh.apps[k] = &app{st: Status{State: st, Pending: cmd, Progress: r.Progress, Cycles: r.Cycles}}
		sh.mu.Unlock()
		s.known.Add(1)
		s.byState[st].Add(1)
	}
	return nil
}
