package emulate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// scheduler hands out steps round-robin over the apps: step i belongs to app i mod N, so every
// app gets a step before any gets its next one. Once stopping, it finishes the round under way
// and no more, so that every app has made as many requests as every other.
type scheduler struct {
	mu       sync.Mutex
	n        int
	next     int
	stopping bool
}

func (s *scheduler) take() (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping && s.next%s.n == 0 {
		return 0, false
	}
	i := s.next
	s.next++
	return i % s.n, true
}

func (s *scheduler) stop() {
	s.mu.Lock()
	s.stopping = true
	s.mu.Unlock()
}

// Summary is what a run did.
type Summary struct {
	Apps        int
	Concurrency int
	Elapsed     time.Duration
	Requests    uint64
	Cycles      uint64
	Errors      uint64
	ErrorKinds  map[string]uint64
	FirstError  string
	Local       Spread // cycles per app as the emulator counted them
	Backend     *BackendStats
	BackendErr  string
}

// Spread is the min, average and max of cycles per app.
type Spread struct {
	Min, Max uint64
	Average  float64
}

// Within reports the largest distance of min or max from the average, as a fraction of it.
func (s Spread) Within() float64 {
	if s.Average == 0 {
		return 0
	}
	return math.Max(s.Average-float64(s.Min), float64(s.Max)-s.Average) / s.Average
}

// BackendStats is voracious's GET / answer.
type BackendStats struct {
	N       int      `json:"n"`
	Average *float64 `json:"average"`
	Min     *uint64  `json:"min"`
	Max     *uint64  `json:"max"`
}

// Run drives o.Apps servos with o.Concurrency workers until o.Duration has passed, or every
// app completed o.Cycles cycles when that is set (either way the round under way completes),
// or ctx ends, printing a progress line on progress.
func Run(ctx context.Context, o Options, c *http.Client, progress io.Writer) (*Summary, error) {
	apps := make([]*emulated, o.Apps)
	for i := range apps {
		apps[i] = &emulated{url: o.URL + "/accounts/" + url.PathEscape(o.Account) + "/applications/" + url.PathEscape(fmt.Sprintf(o.AppFormat, i)) + "/servo"}
	}
	sched := &scheduler{n: o.Apps}
	var requests, cycles, errCount atomic.Uint64
	var errMu sync.Mutex
	kinds := map[string]uint64{}
	var firstErr string

	start := time.Now()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range o.Concurrency {
		wg.Go(func() {
			for {
				if ctx.Err() != nil {
					return
				}
				i, ok := sched.take()
				if !ok {
					return
				}
				done, err := apps[i].next(ctx, c, o.ProgressSteps)
				requests.Add(1)
				// Apps take turns, so every app completes its n-th cycle in the same round:
				// the n x apps-th cycle ends that round, and the round then ends the run.
				if done && cycles.Add(1) == uint64(o.Cycles)*uint64(o.Apps) {
					sched.stop()
				}
				if err != nil && ctx.Err() == nil {
					errCount.Add(1)
					kind := "other"
					var se *stepError
					if errors.As(err, &se) {
						kind = se.kind
					}
					errMu.Lock()
					kinds[kind]++
					if firstErr == "" {
						firstErr = fmt.Sprintf("%s: %v", apps[i].url, err)
					}
					errMu.Unlock()
				}
			}
		})
	}

	// The reporter owns the deadline: it prints progress and, when time is up, stops the
	// scheduler; the workers then drain the last round and return.
	finished := make(chan struct{})
	var rwg sync.WaitGroup
	rwg.Go(func() {
		deadline := time.NewTimer(o.Duration)
		defer deadline.Stop()
		tick := time.NewTicker(o.ReportEvery)
		defer tick.Stop()
		var lastReq, lastCyc uint64
		last := start
		for {
			select {
			case <-finished:
				return
			case <-ctx.Done():
				sched.stop()
				return
			case <-deadline.C:
				sched.stop()
				fmt.Fprintf(progress, "time is up: finishing the round under way so that every app made as many requests\n")
			case now := <-tick.C:
				r, cy, e := requests.Load(), cycles.Load(), errCount.Load()
				dt := now.Sub(last).Seconds()
				fmt.Fprintf(progress, "%6s  requests %d (%.0f/s)  cycles %d (%.1f/s)  errors %d\n",
					now.Sub(start).Round(time.Second), r, float64(r-lastReq)/dt, cy, float64(cy-lastCyc)/dt, e)
				lastReq, lastCyc, last = r, cy, now
			}
		}
	})
	wg.Wait()
	close(finished)
	rwg.Wait()

	sum := &Summary{
		Apps: o.Apps, Concurrency: o.Concurrency, Elapsed: time.Since(start),
		Requests: requests.Load(), Cycles: cycles.Load(), Errors: errCount.Load(),
		ErrorKinds: kinds, FirstError: firstErr,
	}
	counts := make([]uint64, len(apps))
	for i, a := range apps {
		counts[i] = a.cycleCount()
	}
	sum.Local = spreadOf(counts)
	bctx, bcancel := context.WithTimeout(context.Background(), o.Timeout)
	defer bcancel()
	if st, err := backendStats(bctx, c, o.URL); err != nil {
		sum.BackendErr = err.Error()
	} else {
		sum.Backend = st
	}
	return sum, nil
}

func spreadOf(counts []uint64) Spread {
	if len(counts) == 0 {
		return Spread{}
	}
	sorted := append([]uint64(nil), counts...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	var total float64
	for _, c := range sorted {
		total += float64(c)
	}
	return Spread{Min: sorted[0], Max: sorted[len(sorted)-1], Average: total / float64(len(sorted))}
}

func backendStats(ctx context.Context, c *http.Client, base string) (*BackendStats, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/", nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET / answered %s", resp.Status)
	}
	var st BackendStats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return nil, fmt.Errorf("GET /: %w", err)
	}
	return &st, nil
}

// Print writes the summary for humans.
func (s *Summary) Print(w io.Writer) {
	secs := s.Elapsed.Seconds()
	fmt.Fprintf(w, "apps %d, %d in flight, %s\n", s.Apps, s.Concurrency, s.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "requests %d (%.0f/s)\n", s.Requests, float64(s.Requests)/secs)
	fmt.Fprintf(w, "cycles   %d (%.1f/s)\n", s.Cycles, float64(s.Cycles)/secs)
	fmt.Fprintf(w, "errors   %d", s.Errors)
	if s.Errors > 0 {
		for _, k := range slices.Sorted(maps.Keys(s.ErrorKinds)) {
			fmt.Fprintf(w, " [%s: %d]", k, s.ErrorKinds[k])
		}
		fmt.Fprintf(w, "\nfirst error: %s", s.FirstError)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "cycles per app (emulator): min %d, average %.2f, max %d, min/max within %.1f %% of the average\n",
		s.Local.Min, s.Local.Average, s.Local.Max, s.Local.Within()*100)
	switch {
	case s.Backend == nil:
		fmt.Fprintf(w, "backend statistics: unavailable (%s)\n", s.BackendErr)
	case s.Backend.N == 0 || s.Backend.Average == nil || s.Backend.Min == nil || s.Backend.Max == nil:
		fmt.Fprintf(w, "backend statistics: n=%d (no apps)\n", s.Backend.N)
	default:
		b := Spread{Min: *s.Backend.Min, Max: *s.Backend.Max, Average: *s.Backend.Average}
		fmt.Fprintf(w, "backend statistics (GET /): n %d, min %d, average %.2f, max %d, min/max within %.1f %% of the average\n",
			s.Backend.N, b.Min, b.Average, b.Max, b.Within()*100)
	}
}
