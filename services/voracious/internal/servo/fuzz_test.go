package servo

import (
	"testing"
	"time"
)

// FuzzStore feeds any event sequence (and eviction sweeps) to a few apps: never a panic, a
// status only changes through a legal transition, cycle counts never go down, state counts
// always add up, and the snapshot always restores.
func FuzzStore(f *testing.F) {
	f.Add([]byte{1, 6, 2, 6, 0x13, 0x13, 3, 6, 0x14, 4, 5, 1}, true)
	f.Add([]byte{3, 6, 0x23, 3}, false)
	f.Add([]byte{1, 0, 5, 0, 0x0f, 0, 1, 0}, false)
	f.Fuzz(func(t *testing.T, data []byte, resync bool) {
		s := NewStore(Options{Resync: resync})
		apps := []string{"x", "y"}
		for i := 0; i+1 < len(data); i += 2 {
			b, p := data[i], data[i+1]
			if b&0x0f == 0x0f {
				// A sweep: terminated apps go, the others stay as they were.
				before := s.Snapshot()
				s.EvictTerminated(time.Now().Add(time.Hour))
				var kept []Record
				for _, r := range before {
					if r.State != Terminated.String() {
						kept = append(kept, r)
					}
				}
				if after := s.Snapshot(); len(after) != len(kept) {
					t.Fatalf("eviction kept %d apps, want %d", len(after), len(kept))
				}
				continue
			}
			in := Input{Event: Event(b % (uint8(numEvents) + 1)), HasProgress: b&0x10 != 0, Progress: int64(int8(p))}
			app := apps[(b>>5)&1]
			before, known := s.Get("a", app)
			_, err := s.Apply("a", app, in)
			after, nowKnown := s.Get("a", app)
			if err != nil {
				if before != after || known != nowKnown {
					t.Fatalf("rejected %+v changed %v/%v to %v/%v", in, before, known, after, nowKnown)
				}
				continue
			}
			if !nowKnown {
				t.Fatalf("accepted %+v but the app is unknown", in)
			}
			if after.Cycles < before.Cycles {
				t.Fatalf("cycles went down: %d to %d", before.Cycles, after.Cycles)
			}
			if known && after.State != before.State {
				if _, ok := table[key{before.State, in.Event, in.HasProgress}]; !ok {
					t.Fatalf("%v -> %v on %+v: no such row", before.State, after.State, in)
				}
			}
			var total int64
			for _, c := range s.CountByState() {
				if c < 0 {
					t.Fatalf("negative state count")
				}
				total += c
			}
			if total != s.Known() {
				t.Fatalf("state counts add to %d, known %d", total, s.Known())
			}
			if err := NewStore(Options{}).Restore(s.Snapshot()); err != nil {
				t.Fatalf("the snapshot does not restore: %v", err)
			}
		}
	})
}
