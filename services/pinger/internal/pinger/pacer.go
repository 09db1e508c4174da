package pinger

import "time"

// Pacer says when the next request leaves: hit number n (from 0) is due at offset Due(n)
// from the start. Scheduling against the start time, not the last answer, keeps the rate
// honest whatever the answers do.
type Pacer interface {
	Due(n uint64) time.Duration
}

// ConstantPacer sends Rate requests a second, evenly spaced.
type ConstantPacer struct{ Rate float64 }

// Due implements Pacer.
func (p ConstantPacer) Due(n uint64) time.Duration {
	return time.Duration(float64(n) / p.Rate * float64(time.Second))
}

// Clock is the time source; tests inject a fake one.
type Clock interface {
	Now() time.Time
	// Sleep waits for d or until done is closed, and reports whether the full d passed.
	Sleep(d time.Duration, done <-chan struct{}) bool
}

// RealClock is the wall clock.
type RealClock struct{}

// Now implements Clock.
func (RealClock) Now() time.Time { return time.Now() }

// Sleep implements Clock.
func (RealClock) Sleep(d time.Duration, done <-chan struct{}) bool {
	if d <= 0 {
		select {
		case <-done:
			return false
		default:
			return true
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
		return false
	}
}
