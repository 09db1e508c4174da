package main

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/pinger/internal/pinger"
)

// Two pingers' figures add up exactly: counts summed, percentiles those of one histogram of
// every request, which averaging the two p99s would not give.
func TestAggregateMergesTwoPingersExactly(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	fast, slow, all := pinger.NewLatencyHistogram(), pinger.NewLatencyHistogram(), pinger.NewLatencyHistogram()
	for range 9000 {
		v := 1000 + rng.Int64N(4000) // 1 to 5 ms
		_ = fast.RecordValue(v)
		_ = all.RecordValue(v)
	}
	for range 1000 {
		v := 200000 + rng.Int64N(800000) // 200 ms to 1 s: a probe near a dying replica
		_ = slow.RecordValue(v)
		_ = all.RecordValue(v)
	}
	report := func(url string, c pinger.Counts, h string, fa uint64) ProbeReport {
		return ProbeReport{URL: url, Report: pinger.Report{Targets: []pinger.TargetReport{{
			TargetInfo: pinger.TargetInfo{Name: "receiver", Stats: pinger.Stats{SinceStart: c, LatencyMs: pinger.Latency{P99: 1}}},
			Impact: pinger.Impact{
				Events: []pinger.EventImpact{
					{Event: pinger.Event{At: t0, Kind: "kill", Type: "stop", What: "stop r1"}, FirstAttemptFailures: fa - 10},
					{Event: pinger.Event{At: t0.Add(time.Minute), Kind: "kill", Type: "stop", What: "stop r2"}, FirstAttemptFailures: 10},
				},
				Summary:     []pinger.ImpactSummary{{Kind: "kill", Type: "stop", Events: 2, FirstAttemptFailures: fa, Failures: 1, PerEventMax: fa - 10}},
				Unexplained: pinger.Unexplained{FirstAttemptFailures: 3},
			},
			LatencyHistogram: h,
		}}}}
	}
	reports := []ProbeReport{
		report("http://a", pinger.Counts{Requests: 9000, Succeeded: 8990, Failed: 10, FirstAttemptFailed: 40, Attempts: 9050, Dropped: 2}, pinger.EncodeHistogram(fast), 30),
		report("http://b", pinger.Counts{Requests: 1000, Succeeded: 995, Failed: 5, FirstAttemptFailed: 60, Attempts: 1070}, pinger.EncodeHistogram(slow), 50),
	}
	got, err := aggregate([]string{"receiver"}, reports)
	require.NoError(t, err)
	require.Len(t, got, 1)
	r := got[0]
	assert.Equal(t, pinger.Counts{Requests: 10000, Succeeded: 9985, Failed: 15, FirstAttemptFailed: 100, Attempts: 10120, Dropped: 2}, r.Counts)
	assert.Equal(t, pinger.LatencyOf(all), r.Latency, "percentiles of the merged histograms are those of every request")
	averaged := (pinger.LatencyOf(fast).P99 + pinger.LatencyOf(slow).P99) / 2
	assert.Greater(t, r.Latency.P99-averaged, 100.0, "an averaged p99 would be off by more than 100 ms here")
	require.Len(t, r.ByProbe, 2)
	assert.EqualValues(t, 1000, r.ByProbe[1].Counts.Requests)
	require.Len(t, r.Impact, 1)
	assert.Equal(t, 2, r.Impact[0].Events, "both probes saw the same two kills")
	assert.EqualValues(t, 80, r.Impact[0].FirstAttemptFailures)
	assert.InDelta(t, 40, r.Impact[0].PerEventMean, 1e-9)
	assert.EqualValues(t, 20+40, r.Impact[0].PerEventMax, "the worst event's failures over both probes")
	assert.EqualValues(t, 6, r.Unexplained)

	// A histogram that does not decode is an error, not a wrong percentile.
	reports[1].Report.Targets[0].LatencyHistogram = "not a histogram at all"
	_, err = aggregate([]string{"receiver"}, reports)
	assert.ErrorContains(t, err, "http://b: target receiver: latency histogram")
	_, err = aggregate([]string{"nobody"}, reports[:1])
	assert.ErrorContains(t, err, `no probe reported target "nobody"`)
}

func FuzzDecodeHistogram(f *testing.F) {
	f.Add(pinger.EncodeHistogram(pinger.NewLatencyHistogram()))
	f.Add("HISTFAAAACx4nJNpmSzMwMDAyAABzFCaEUoz2X+AMIJMHKQ5mlmBAGJwBLsAAHJdBU4=")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := pinger.DecodeHistogram(s)
		if err == nil {
			_ = pinger.LatencyOf(h)
		}
	})
}
