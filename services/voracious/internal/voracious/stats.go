package voracious

import (
	"bytes"
	"strconv"

	"chaossuite.dev/voracious/internal/servo"
)

// WireStats is the cycle statistics as the original printed them: the average as Python
// prints a float, so a whole one keeps its ".0" (51.0, not 51).
type WireStats struct{ servo.Stats }

// MarshalJSON writes {"n":..,"average":..,"min":..,"max":..} with nulls when n is 0.
func (s WireStats) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 64)
	b = append(b, `{"n":`...)
	b = strconv.AppendInt(b, int64(s.N), 10)
	b = append(b, `,"average":`...)
	if s.Average == nil {
		b = append(b, "null"...)
	} else {
		b = appendPyFloat(b, *s.Average)
	}
	for _, f := range []struct {
		name string
		v    *uint64
	}{{`,"min":`, s.Min}, {`,"max":`, s.Max}} {
		b = append(b, f.name...)
		if f.v == nil {
			b = append(b, "null"...)
		} else {
			b = strconv.AppendUint(b, *f.v, 10)
		}
	}
	return append(b, '}'), nil
}

// appendPyFloat appends f as Python's repr() writes a float: the shortest digits that read
// back as f, in positional notation while the decimal point sits from 4 places left to 16
// places right of the first digit (always with a fraction: 51.0), else in exponent notation
// (1e+16, 3.3333333333333335e-05), which Go's 'e' format writes the same way.
func appendPyFloat(b []byte, f float64) []byte {
	e := strconv.AppendFloat(nil, f, 'e', -1, 64)
	exp, _ := strconv.Atoi(string(e[bytes.IndexByte(e, 'e')+1:]))
	if decpt := exp + 1; decpt <= -4 || decpt > 16 {
		return append(b, e...)
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, 'f', -1, 64)
	if bytes.IndexByte(b[start:], '.') < 0 {
		b = append(b, ".0"...)
	}
	return b
}
