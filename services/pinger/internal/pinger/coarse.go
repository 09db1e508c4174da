package pinger

import (
	"math"
	"time"
)

// coarseHist is a small fixed-size latency histogram for the per-second and per-bucket series
// behind the impact table and the chart's p99 line, where an HDR histogram per slot would cost
// kilobytes thousands of times over. Buckets grow by a factor of 2^(1/4) from 100 µs, so a
// quantile read back is within 10 % of the truth up to 100 s; the exact percentiles of /info
// come from HDR histograms.
type coarseHist [coarseBuckets]uint32

const (
	coarseBuckets = 80
	coarseBase    = 100 * time.Microsecond
	coarseSteps   = 4 // buckets per doubling
)

func coarseIndex(d time.Duration) int {
	if d <= coarseBase {
		return 0
	}
	i := int(math.Log2(float64(d)/float64(coarseBase)) * coarseSteps)
	return min(i, coarseBuckets-1)
}

func (h *coarseHist) add(d time.Duration) { h[coarseIndex(d)]++ }

func (h *coarseHist) merge(o *coarseHist) {
	for i, n := range o {
		h[i] += n
	}
}

func (h *coarseHist) count() uint64 {
	var n uint64
	for _, c := range h {
		n += uint64(c)
	}
	return n
}

// quantile is the latency below which a fraction q of the values lie, in milliseconds: the
// geometric middle of the bucket that holds it. ok is false when the histogram is empty.
func (h *coarseHist) quantile(q float64) (ms float64, ok bool) {
	total := h.count()
	if total == 0 {
		return 0, false
	}
	rank := uint64(math.Ceil(q * float64(total)))
	var seen uint64
	for i, c := range h {
		seen += uint64(c)
		if seen >= max(rank, 1) {
			mid := float64(coarseBase) * math.Exp2((float64(i)+0.5)/coarseSteps)
			return math.Round(mid/float64(time.Millisecond)*100) / 100, true
		}
	}
	return 0, false
}
