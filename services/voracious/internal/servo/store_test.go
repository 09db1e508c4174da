package servo

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func cycle(t testing.TB, s *Store, account, app string, steps int) {
	t.Helper()
	ins := []Input{{Event: WhatsNext}, {Event: Measurement, HasProgress: true, Progress: 0}}
	for p := 1; p <= steps; p++ {
		ins = append(ins, Input{Event: Measurement, HasProgress: true, Progress: int64(p * 10)})
	}
	ins = append(ins, Input{Event: Measurement}, Input{Event: WhatsNext}, Input{Event: Adjustment, HasProgress: true, Progress: 1})
	for p := 1; p <= steps; p++ {
		ins = append(ins, Input{Event: Adjustment, HasProgress: true, Progress: int64(p * 10)})
	}
	ins = append(ins, Input{Event: Adjustment})
	for _, in := range ins {
		// assert, not require: goroutines call this, and only the test's own may stop it.
		if _, err := s.Apply(account, app, in); !assert.NoError(t, err, "%s/%s %+v", account, app, in) {
			return
		}
	}
}

func hello(t testing.TB, s *Store, account, app string) {
	t.Helper()
	for _, in := range []Input{{Event: Hello}, {Event: WhatsNext}, {Event: Description}} {
		if _, err := s.Apply(account, app, in); !assert.NoError(t, err) {
			return
		}
	}
}

func TestStoreUnknownApp(t *testing.T) {
	s := NewStore(Options{})
	_, err := s.Apply("a", "app1", Input{Event: Measurement, HasProgress: true, Progress: 1})
	assert.Error(t, err)
	assert.Zero(t, s.Known(), "a rejected event creates nothing")
	assert.Equal(t, Stats{}, s.Stats())
}

func TestStoreAccountsAreSeparate(t *testing.T) {
	s := NewStore(Options{})
	hello(t, s, "a", "app1")
	_, err := s.Apply("b", "app1", Input{Event: Description})
	assert.Error(t, err)
	hello(t, s, "b", "app1")
	cycle(t, s, "a", "app1", 2)
	a, _ := s.Get("a", "app1")
	b, _ := s.Get("b", "app1")
	assert.Equal(t, uint64(1), a.Cycles)
	assert.Equal(t, uint64(0), b.Cycles)
	st := s.Stats()
	assert.Equal(t, 2, st.N)
	assert.InDelta(t, 0.5, *st.Average, 1e-9)
	assert.Equal(t, uint64(0), *st.Min)
	assert.Equal(t, uint64(1), *st.Max)
}

func TestStoreResync(t *testing.T) {
	tests := []struct {
		in      Input
		state   State
		pending Command
		cycles  uint64
	}{
		{Input{Event: Description}, StartMeasure, Measure, 0},
		{Input{Event: Measurement, HasProgress: true, Progress: 30}, InMeasure, NoCommand, 0},
		{Input{Event: Measurement}, StartAdjust, Adjust, 1},
		{Input{Event: Adjustment, HasProgress: true, Progress: 30}, InAdjust, NoCommand, 0},
		{Input{Event: Adjustment}, StartMeasure, Measure, 0},
		{Input{Event: Goodbye}, Terminated, NoCommand, 0},
		{Input{Event: WhatsNext}, HelloReceived, NoCommand, 0},
	}
	for _, tt := range tests {
		t.Run(tt.in.Event.String(), func(t *testing.T) {
			s := NewStore(Options{Resync: true})
			_, err := s.Apply("a", "x", tt.in)
			require.NoError(t, err)
			st, ok := s.Get("a", "x")
			require.True(t, ok)
			assert.Equal(t, tt.state, st.State)
			assert.Equal(t, tt.pending, st.Pending)
			assert.Equal(t, tt.cycles, st.Cycles)
			assert.Equal(t, int64(1), s.CountByState()[tt.state])
		})
	}
	s := NewStore(Options{Resync: true})
	_, err := s.Apply("a", "x", Input{Event: EventOther})
	assert.Error(t, err)
	assert.Zero(t, s.Known())
}

func TestSnapshotRestore(t *testing.T) {
	s := NewStore(Options{})
	hello(t, s, "a", "app1")
	cycle(t, s, "a", "app1", 3)
	hello(t, s, "b", "app2")
	_, err := s.Apply("b", "app2", Input{Event: Measurement, HasProgress: true, Progress: 40})
	require.NoError(t, err)
	snap := s.Snapshot()
	require.Len(t, snap, 2)

	r := NewStore(Options{})
	require.NoError(t, r.Restore(snap))
	assert.Equal(t, snap, r.Snapshot())
	assert.Equal(t, s.CountByState(), r.CountByState())
	_, err = r.Apply("b", "app2", Input{Event: Measurement, HasProgress: true, Progress: 30})
	assert.Error(t, err, "restored progress still may not go backwards")
	_, err = r.Apply("b", "app2", Input{Event: Measurement})
	assert.NoError(t, err)

	assert.Error(t, NewStore(Options{}).Restore([]Record{{App: "x", State: "bogus"}}))
	assert.Error(t, NewStore(Options{}).Restore([]Record{{App: "x", State: "initial", Pending: "FLY"}}))
	assert.Error(t, NewStore(Options{}).Restore([]Record{{App: "x", State: "initial"}, {App: "x", State: "initial"}}))
}

func TestConcurrentOneApp(t *testing.T) {
	s := NewStore(Options{})
	var wg sync.WaitGroup
	var okHello sync.Map
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Apply("a", "hot", Input{Event: Hello}); err == nil {
				okHello.Store(g, true)
			}
		}()
	}
	wg.Wait()
	n := 0
	okHello.Range(func(_, _ any) bool { n++; return true })
	assert.Equal(t, 1, n, "exactly one HELLO wins")
	_, err := s.Apply("a", "hot", Input{Event: Description})
	require.NoError(t, err)
	_, err = s.Apply("a", "hot", Input{Event: Measurement, HasProgress: true, Progress: 0})
	require.NoError(t, err)

	// Many goroutines race progress values and completions: counts stay consistent.
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				switch i % 3 {
				case 0:
					_, _ = s.Apply("a", "hot", Input{Event: Measurement, HasProgress: true, Progress: int64(g)})
				case 1:
					_, _ = s.Apply("a", "hot", Input{Event: Measurement})
				default:
					_, _ = s.Apply("a", "hot", Input{Event: Adjustment})
				}
				_ = s.Stats()
			}
		}()
	}
	wg.Wait()
	var total int64
	for _, c := range s.CountByState() {
		total += c
	}
	assert.Equal(t, int64(1), total)
	assert.Equal(t, int64(1), s.Known())
}

func TestConcurrentManyApps(t *testing.T) {
	s := NewStore(Options{})
	var wg sync.WaitGroup
	const apps, cycles = 64, 20
	for i := range apps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			app := fmt.Sprintf("app%05d", i)
			hello(t, s, "a", app)
			for range cycles {
				cycle(t, s, "a", app, 2)
			}
		}()
	}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				_ = s.Stats()
				_ = s.Snapshot()
			}
		}()
	}
	wg.Wait()
	st := s.Stats()
	assert.Equal(t, apps, st.N)
	assert.Equal(t, uint64(cycles), *st.Min)
	assert.Equal(t, uint64(cycles), *st.Max)
	assert.Equal(t, int64(apps), s.CountByState()[StartMeasure])
}

func TestStoreMaxApps(t *testing.T) {
	s := NewStore(Options{MaxApps: 3})
	for i := range 3 {
		_, err := s.Apply("a", fmt.Sprint("app", i), Input{Event: Hello})
		require.NoError(t, err)
	}
	_, err := s.Apply("a", "one-too-many", Input{Event: Hello})
	var le *LimitError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, int64(3), le.Max)
	assert.Equal(t, int64(3), s.Known())
	_, err = s.Apply("a", "app0", Input{Event: Description})
	assert.NoError(t, err, "known apps go on at the limit")

	// Racing HELLOs for new apps: never more than the limit.
	c := NewStore(Options{MaxApps: 50})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 40 {
				_, _ = c.Apply("a", fmt.Sprintf("g%d-%d", g, i), Input{Event: Hello})
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int64(50), c.Known())
	assert.Equal(t, int64(50), c.Count(HelloReceived))
	assert.Len(t, c.Snapshot(), 50)
}

func TestStoreEvictTerminated(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s := NewStore(Options{MaxApps: 2, Now: func() time.Time { return now }})
	hello(t, s, "a", "gone")
	_, err := s.Apply("a", "gone", Input{Event: Goodbye})
	require.NoError(t, err)
	hello(t, s, "a", "stays")
	_, err = s.Apply("a", "full", Input{Event: Hello})
	require.ErrorAs(t, err, new(*LimitError))

	snap := s.Snapshot()
	assert.Equal(t, now, snap[0].TerminatedAt, "the snapshot keeps when it terminated")
	assert.True(t, snap[1].TerminatedAt.IsZero())

	assert.Zero(t, s.EvictTerminated(now.Add(-time.Second)), "not yet")
	assert.Equal(t, 1, s.EvictTerminated(now))
	assert.Equal(t, int64(1), s.Known())
	assert.Zero(t, s.Count(Terminated))
	_, known := s.Get("a", "gone")
	assert.False(t, known)
	_, ok := s.Get("a", "stays")
	assert.True(t, ok, "only terminated apps are evicted")

	_, err = s.Apply("a", "full", Input{Event: Hello})
	assert.NoError(t, err, "eviction made room")
	_, err = s.Apply("a", "gone", Input{Event: Description})
	assert.Error(t, err, "an evicted app is unknown: it starts again with HELLO")

	// Restored terminated apps keep their time; one without a time counts from the restore.
	r := NewStore(Options{Now: func() time.Time { return now.Add(time.Hour) }})
	require.NoError(t, r.Restore([]Record{
		{Account: "a", App: "old", State: "terminated", TerminatedAt: now},
		{Account: "a", App: "undated", State: "terminated"},
	}))
	assert.Equal(t, 1, r.EvictTerminated(now.Add(time.Minute)))
	assert.Equal(t, 1, r.EvictTerminated(now.Add(time.Hour)))
	assert.Zero(t, r.Known())
}

// TestEvictRacesEvents: HELLO and GOODBYE race sweeps on a few apps; an event never lands on
// an evicted app (it would be lost), and the counts always add up.
func TestEvictRacesEvents(t *testing.T) {
	s := NewStore(Options{})
	var wg, sweeper sync.WaitGroup
	stop := make(chan struct{})
	sweeper.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				s.EvictTerminated(time.Now().Add(time.Hour))
			}
		}
	})
	for g := range 4 {
		wg.Go(func() {
			app := fmt.Sprint("app", g)
			for range 500 {
				_, err := s.Apply("a", app, Input{Event: Hello})
				if !assert.NoError(t, err) {
					return
				}
				// Not terminated, so not evicted: DESCRIPTION must find the app HELLO made.
				_, err = s.Apply("a", app, Input{Event: Description})
				if !assert.NoError(t, err) {
					return
				}
				_, err = s.Apply("a", app, Input{Event: Goodbye})
				if !assert.NoError(t, err) {
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	sweeper.Wait()
	var total int64
	for _, c := range s.CountByState() {
		assert.GreaterOrEqual(t, c, int64(0))
		total += c
	}
	assert.Equal(t, s.Known(), total)
	assert.Equal(t, int64(len(s.Snapshot())), s.Known())
}
