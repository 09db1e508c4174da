package pinger

import (
	"fmt"
	"math"
	"sync"
	"time"
)

// Shape is a target's load: a constant rate (Over 0), or a linear ramp from From to To over
// Over, To held after.
type Shape struct {
	From float64       `json:"from"`
	To   float64       `json:"to"`
	Over time.Duration `json:"over"`
}

func (s Shape) ramp() bool { return s.Over > 0 && s.From != s.To }

// rateAt is the rate at tau into the shape.
func (s Shape) rateAt(tau time.Duration) float64 {
	if !s.ramp() {
		return s.From
	}
	if tau >= s.Over {
		return s.To
	}
	return s.From + (s.To-s.From)*tau.Seconds()/s.Over.Seconds()
}

// hits is how many requests are due by tau: H(tau), the rate's integral.
func (s Shape) hits(tau time.Duration) float64 {
	t := tau.Seconds()
	if !s.ramp() {
		return s.From * t
	}
	T := s.Over.Seconds()
	if t <= T {
		return s.From*t + (s.To-s.From)*t*t/(2*T)
	}
	return (s.From+s.To)*T/2 + s.To*(t-T)
}

// offset is when hit k (from 0) of the shape is due: H(offset) = k.
func (s Shape) offset(k uint64) time.Duration {
	kf := float64(k)
	if !s.ramp() {
		return durSecs(kf / s.From)
	}
	T := s.Over.Seconds()
	if kf > s.hits(s.Over) {
		return durSecs(T + (kf-s.hits(s.Over))/s.To)
	}
	a := (s.To - s.From) / (2 * T)
	// a t² + From t - k = 0; the stable root for either sign of a.
	disc := s.From*s.From + 4*a*kf
	t := 2 * kf / (s.From + math.Sqrt(max(disc, 0)))
	return durSecs(t)
}

func durSecs(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// ShapedPacer paces a target whose load a plan may change while it runs. Scheduling stays
// against the start: a change at t begins a new segment at t with the hits already due before
// it, so that the rate is exact on either side.
type ShapedPacer struct {
	base   float64 // the configured rate
	factor float64 // in-flight cap, times the rate

	mu      sync.Mutex
	shape   Shape // the shape now, or from the next start while stopped
	running bool  // between Begin and End
	start   time.Time
	segAt   time.Duration // where the segment begins, from the start
	segN0   uint64        // the hits due before it
}

// NewShapedPacer paces at rate until told otherwise.
func NewShapedPacer(rate, factor float64) *ShapedPacer {
	return &ShapedPacer{base: rate, factor: factor, shape: Shape{From: rate, To: rate}}
}

// Due implements Pacer.
func (p *ShapedPacer) Due(n uint64) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n < p.segN0 {
		return p.segAt // late: due already
	}
	return p.segAt + p.shape.offset(n-p.segN0)
}

// Begin anchors the shape at the attacker's start: a ramp set while stopped begins there.
func (p *ShapedPacer) Begin(start time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running, p.start, p.segAt, p.segN0 = true, start, 0, 0
}

// End marks the attacker stopped: a shape set now applies from the next start.
func (p *ShapedPacer) End() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running = false
}

// Set changes the shape at now (from the next start when stopped); reset goes back to the
// configured rate.
func (p *ShapedPacer) Set(now time.Time, s Shape) error {
	if s.Over == 0 {
		s.To = s.From
	}
	if s.From <= 0 || s.From > maxQPS || s.To <= 0 || s.To > maxQPS || s.Over < 0 {
		return fmt.Errorf("rates above 0 and at most %d, a ramp of 0 or more", maxQPS)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running {
		t := max(now.Sub(p.start), p.segAt)
		due := uint64(math.Floor(p.shape.hits(t-p.segAt))) + 1
		p.segN0 += due
		p.segAt = t
	}
	p.shape = s
	return nil
}

// Reset goes back to the configured rate.
func (p *ShapedPacer) Reset(now time.Time) { _ = p.Set(now, Shape{From: p.base, To: p.base}) }

// Rate is the rate at now.
func (p *ShapedPacer) Rate(now time.Time) float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.running {
		return p.shape.From
	}
	return p.shape.rateAt(now.Sub(p.start) - p.segAt)
}

// Cap is the in-flight cap for the shape's highest rate.
func (p *ShapedPacer) Cap() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return max(1, int(p.factor*max(p.shape.From, p.shape.To)))
}

// Shape is the shape now.
func (p *ShapedPacer) Shape() Shape {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.shape
}
