package reaper

import (
	"math/rand/v2"
	"time"

	"chaossuite.dev/shared/chaos"
)

// Schedule says when the next kill is due and by which method: every Interval, moved by up
// to Jitter either way, the methods taken in turn.
type Schedule struct {
	Interval time.Duration
	Jitter   time.Duration
	Methods  []chaos.KillMethod
	// Rand returns a number in [0, 1); nil means math/rand/v2.
	Rand func() float64
}

// Delay is the wait before the next kill: Interval ± Jitter, uniformly.
func (s Schedule) Delay() time.Duration {
	if s.Jitter <= 0 {
		return s.Interval
	}
	r := rand.Float64
	if s.Rand != nil {
		r = s.Rand
	}
	return s.Interval + time.Duration((2*r()-1)*float64(s.Jitter))
}

// Method is the method of kill number i (0-based).
func (s Schedule) Method(i uint64) chaos.KillMethod {
	return s.Methods[i%uint64(len(s.Methods))]
}

// Clock is the time the reaper lives by; tests give it a fake one.
type Clock interface {
	Now() time.Time
	// After sends the time on the channel once d has passed.
	After(d time.Duration) <-chan time.Time
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now implements Clock.
func (SystemClock) Now() time.Time { return time.Now() }

// After implements Clock.
func (SystemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
