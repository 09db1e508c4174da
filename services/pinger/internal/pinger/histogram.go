package pinger

import (
	"errors"
	"fmt"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// NewLatencyHistogram is an empty histogram of the pinger's kind (microseconds, 1 us to 1 h, 3
// significant figures): the one several probes' histograms merge into.
func NewLatencyHistogram() *hdrhistogram.Histogram { return newHist() }

// LatencyOf is the percentiles of a histogram of the pinger's kind, in milliseconds.
func LatencyOf(h *hdrhistogram.Histogram) Latency { return latency(h) }

// EncodeHistogram is h in the HdrHistogram V2 compressed encoding, base64: what
// /report.json's latency_histogram holds, so that several probes' latencies merge exactly.
func EncodeHistogram(h *hdrhistogram.Histogram) string {
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return ""
	}
	return string(b)
}

// DecodeHistogram reads EncodeHistogram's output; input of any other shape is an error, never
// a panic.
func DecodeHistogram(s string) (h *hdrhistogram.Histogram, err error) {
	// The library indexes its input without checking its length.
	if len(s) < 12 {
		return nil, errors.New("latency histogram: too short")
	}
	defer func() {
		if r := recover(); r != nil {
			h, err = nil, fmt.Errorf("latency histogram: malformed (%v)", r)
		}
	}()
	h, err = hdrhistogram.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("latency histogram: %w", err)
	}
	if h.LowestTrackableValue() != 1 || h.SignificantFigures() != 3 {
		return nil, errors.New("latency histogram: not of the pinger's kind (1 us, 3 significant figures)")
	}
	return h, nil
}

// encodedHistogram is the since-start histogram, encoded.
func (r *Recorder) encodedHistogram() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return EncodeHistogram(r.hist)
}
