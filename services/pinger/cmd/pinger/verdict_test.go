package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/pinger/internal/pinger"
)

// The Wilson interval against published values (R: prop.test(x, n, correct = FALSE)).
func TestWilsonKnownValues(t *testing.T) {
	for _, tc := range []struct {
		x, n      uint64
		low, high float64
	}{
		{9, 10, 0.5958, 0.9821},
		{0, 10, 0, 0.2775},
		{10, 10, 0.7225, 1},
		{81, 263, 0.2553, 0.3662},
		{999, 1000, 0.9944, 0.9998},
	} {
		iv, ok := Wilson(tc.x, tc.n)
		require.True(t, ok)
		assert.InDelta(t, tc.low, iv.Low, 0.00006, "%d/%d low", tc.x, tc.n)
		assert.InDelta(t, tc.high, iv.High, 0.00006, "%d/%d high", tc.x, tc.n)
	}
	_, ok := Wilson(0, 0)
	assert.False(t, ok, "no interval without a request")
}

// At 20 QPS for 5 minutes a 99.99 % SLO cannot be shown: the warning says so and says what
// rate or length could.
func TestTooShortWarning(t *testing.T) {
	n, ok := requestsToShow(0.9999)
	require.True(t, ok)
	assert.EqualValues(t, 38411, n) // 0.9999 x 1.96² / 0.0001
	w := tooShort("availability", 0.9999, 6000, 300)
	assert.Contains(t, w, "too short or too slow to tell a 99.99 % SLO")
	assert.Contains(t, w, "6000 requests can show at best 99.94 %")
	assert.Contains(t, w, "it takes 38411: 20 QPS for 32m1s, or 128 QPS for 5m0s")
	assert.Empty(t, tooShort("availability", 0.999, 6000, 300), "99.9 % can be told from 6000 requests")
	assert.Contains(t, tooShort("availability", 1, 6000, 300), "can never be shown")
}

func TestJudge(t *testing.T) {
	avail, first, p99 := 0.999, 0.99, Duration(100*time.Millisecond)
	tr := TargetResult{Name: "r", Counts: pinger.Counts{Requests: 10000, Succeeded: 9995, FirstAttemptFailed: 150}, Latency: pinger.Latency{P99: 120}}
	judge(&tr, SLO{Availability: &avail, FirstAttemptAvailability: &first, P99: &p99}, 200)
	assert.False(t, tr.Pass)
	require.Len(t, tr.Checks, 3)
	assert.True(t, tr.Checks[0].Pass, "availability 99.95 %")
	assert.False(t, tr.Checks[1].Pass, "first attempt 98.5 %")
	assert.False(t, tr.Checks[2].Pass, "p99 120 ms")
	assert.InDelta(t, 0.9995, *tr.Availability.Value, 1e-9)
	assert.Less(t, tr.Availability.CI.Low, 0.9995)
	assert.Greater(t, tr.Availability.CI.High, 0.9995)
	assert.Empty(t, tr.Warnings)
}
