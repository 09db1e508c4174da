package main

import (
	"fmt"
	"math"
	"time"

	"chaossuite.dev/pinger/internal/pinger"
)

// z95 is the standard normal quantile of a two-sided 95 % interval.
const z95 = 1.959963984540054

// Interval is a confidence interval of a share.
type Interval struct {
	Low  float64 `json:"low"`
	High float64 `json:"high"`
}

// Wilson is the Wilson score 95 % interval of successes out of n; ok is false when n is 0.
// Unlike the normal approximation it stays within 0..1 and is honest near 100 %, where the
// availability figures live.
func Wilson(successes, n uint64) (iv Interval, ok bool) {
	if n == 0 {
		return Interval{}, false
	}
	nf := float64(n)
	p := float64(successes) / nf
	z2 := z95 * z95
	den := 1 + z2/nf
	centre := p + z2/(2*nf)
	half := z95 * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))
	return Interval{Low: max(0, (centre-half)/den), High: min(1, (centre+half)/den)}, true
}

// requestsToShow is how many requests, none failing, a share of at least slo needs for the
// lower end of its 95 % interval to reach slo: n/(n+z²) >= slo.
func requestsToShow(slo float64) (uint64, bool) {
	if slo >= 1 {
		return 0, false
	}
	return uint64(math.Ceil(slo * z95 * z95 / (1 - slo))), true
}

// minP99Requests is the fewest requests whose p99 says more than their maximum.
const minP99Requests = 100

// Check is one SLO of a target in a phase.
type Check struct {
	SLO  string `json:"slo"`
	Want string `json:"want"`
	Got  string `json:"got"`
	Pass bool   `json:"pass"`
}

// Share is an availability with its interval.
type Share struct {
	Value *float64  `json:"value"`
	CI    *Interval `json:"ci95,omitempty"`
}

func share(ok, n uint64) Share {
	s := Share{Value: pinger.Ratio(ok, n)}
	if iv, has := Wilson(ok, n); has {
		s.CI = &iv
	}
	return s
}

// judge checks a target's figures of one phase against its SLOs and says when the phase is too
// short or too slow to tell them.
func judge(t *TargetResult, slo SLO, seconds float64) {
	c := t.Counts
	t.Availability = share(c.Succeeded, c.Requests)
	t.FirstAttempt = share(c.Requests-c.FirstAttemptFailed, c.Requests)
	t.Pass = true
	for _, s := range []struct {
		name string
		want *float64
		got  Share
	}{{"availability", slo.Availability, t.Availability}, {"first_attempt_availability", slo.FirstAttemptAvailability, t.FirstAttempt}} {
		if s.want == nil {
			continue
		}
		pass := s.got.Value != nil && *s.got.Value >= *s.want
		t.Checks = append(t.Checks, Check{SLO: s.name, Want: ">= " + pctf(*s.want), Got: pctp(s.got.Value), Pass: pass})
		t.Pass = t.Pass && pass
		if w := tooShort(s.name, *s.want, c.Requests, seconds); w != "" {
			t.Warnings = append(t.Warnings, w)
		}
	}
	if slo.P99 != nil {
		p99 := time.Duration(t.Latency.P99 * float64(time.Millisecond))
		pass := c.Requests > 0 && p99 <= slo.P99.D()
		t.Checks = append(t.Checks, Check{SLO: "p99", Want: "<= " + slo.P99.D().String(), Got: fmt.Sprintf("%.1f ms", t.Latency.P99), Pass: pass})
		t.Pass = t.Pass && pass
		if c.Requests < minP99Requests {
			t.Warnings = append(t.Warnings, fmt.Sprintf("p99: %d requests are too few for a p99 (want %d or more)", c.Requests, minP99Requests))
		}
	}
}

// tooShort explains, when n requests over seconds cannot show slo even without a failure, what
// rate or length could.
func tooShort(name string, slo float64, n uint64, seconds float64) string {
	need, possible := requestsToShow(slo)
	if !possible {
		return fmt.Sprintf("%s: an SLO of %s can never be shown by a finite sample", name, pctf(slo))
	}
	if n >= need {
		return ""
	}
	best := "nothing"
	if n > 0 {
		best = pctf(float64(n) / (float64(n) + z95*z95))
	}
	msg := fmt.Sprintf("%s: too short or too slow to tell a %s SLO: %d requests can show at best %s (the 95 %% interval's low end with no failure); it takes %d",
		name, pctf(slo), n, best, need)
	if seconds > 0 && n > 0 {
		rate := float64(n) / seconds
		length := time.Duration(float64(need) / rate * float64(time.Second)).Round(time.Second)
		msg += fmt.Sprintf(": %.4g QPS for %s, or %.4g QPS for %s", rate, length, float64(need)/seconds,
			time.Duration(seconds*float64(time.Second)).Round(time.Second))
	}
	return msg
}

// Delta compares a phase's figures with the baseline's (or an earlier run's), in percentage
// points and milliseconds.
type Delta struct {
	Against             string   `json:"against"`
	AvailabilityPoints  *float64 `json:"availability_points,omitempty"`
	FirstAttemptPoints  *float64 `json:"first_attempt_points,omitempty"`
	P99Ms               float64  `json:"p99_ms"`
	AvailabilityOverlap bool     `json:"first_attempt_ci_overlap"` // the two 95 % intervals overlap: no telling them apart
}

func delta(against string, now, then *TargetResult) *Delta {
	d := &Delta{Against: against, P99Ms: now.Latency.P99 - then.Latency.P99}
	d.AvailabilityPoints = points(now.Availability.Value, then.Availability.Value)
	d.FirstAttemptPoints = points(now.FirstAttempt.Value, then.FirstAttempt.Value)
	if a, b := now.FirstAttempt.CI, then.FirstAttempt.CI; a != nil && b != nil {
		d.AvailabilityOverlap = a.Low <= b.High && b.Low <= a.High
	}
	return d
}

func points(a, b *float64) *float64 {
	if a == nil || b == nil {
		return nil
	}
	v := (*a - *b) * 100
	return &v
}

func pctf(v float64) string { return fmt.Sprintf("%.4g %%", v*100) }

func pctp(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.4f %%", *v*100)
}
