package pinger

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

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
	if err := checkHistogram(s); err != nil {
		return nil, err
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

// maxHistogramBytes bounds a decompressed histogram: the pinger's take under half a MiB.
const maxHistogramBytes = 4 << 20

// checkHistogram reads the header before the library does: it trusts its input's sizes
// (a declared range allocates, a compressed payload inflates without bound).
func checkHistogram(s string) error {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(raw) < 8 {
		return errors.New("latency histogram: not base64 of an encoded histogram")
	}
	n := binary.BigEndian.Uint32(raw[4:8])
	if uint64(n) > uint64(len(raw)-8) {
		return errors.New("latency histogram: truncated")
	}
	z, err := zlib.NewReader(bytes.NewReader(raw[8 : 8+n]))
	if err != nil {
		return fmt.Errorf("latency histogram: %w", err)
	}
	defer z.Close()
	body, err := io.ReadAll(io.LimitReader(z, maxHistogramBytes+1))
	if err != nil || len(body) < 40 || len(body) > maxHistogramBytes {
		return errors.New("latency histogram: malformed or too large")
	}
	sig := int32(binary.BigEndian.Uint32(body[12:16]))
	lowest, highest := int64(binary.BigEndian.Uint64(body[16:24])), int64(binary.BigEndian.Uint64(body[24:32]))
	if sig != 3 || lowest != 1 || highest != newHist().HighestTrackableValue() {
		return errors.New("latency histogram: not of the pinger's kind (1 us to 1 h, 3 significant figures)")
	}
	return nil
}

// encodedHistogram is the since-start histogram, encoded.
func (r *Recorder) encodedHistogram() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return EncodeHistogram(r.hist)
}
