package voracious

import (
	"encoding/json"
	"math"
	"strconv"
	"unicode"
	"unicode/utf8"
)

// Progress is param.progress read as the original reads it: Python's int() of whatever the
// JSON holds. A number is truncated toward zero (the real ServoX client sends floats, 50.0),
// a boolean is 0 or 1, a string is parsed as int() parses one (surrounding whitespace, one
// sign, underscores between digits, any Unicode decimal digits). Anything int() refuses (null,
// a list, an object, "12.5", "abc", 1e400 which JSON reads as infinity) is no progress.
// Python's integers have no bounds; values past int64 saturate at its limits. parseServoBody
// fills it.
type Progress struct {
	Set   bool
	Value int64
}

// pyIntJSON is int(v) for the JSON value b (valid JSON, as the decoder hands it over).
func pyIntJSON(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	switch b[0] {
	case 'n', '[', '{':
		return 0, false
	case 't':
		return 1, true
	case 'f':
		return 0, true
	case '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return 0, false
		}
		return pyIntString(s)
	}
	for _, c := range b {
		if c == '.' || c == 'e' || c == 'E' {
			return pyIntFloat(string(b))
		}
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		// Out of range: Python keeps the exact integer; the nearest int64 is what can be held.
		if b[0] == '-' {
			return math.MinInt64, true
		}
		return math.MaxInt64, true
	}
	return n, true
}

// pyIntFloat is int() of a JSON number with a fraction or an exponent: Python reads it as a
// float (infinite past the float range, which int() refuses) and truncates toward zero.
func pyIntFloat(s string) (int64, bool) {
	f, _ := strconv.ParseFloat(s, 64) // past the range: ±Inf, as Python's float(); below: 0
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return saturate(math.Trunc(f)), true
}

func saturate(f float64) int64 {
	switch {
	case f >= math.MaxInt64:
		return math.MaxInt64
	case f <= math.MinInt64:
		return math.MinInt64
	}
	return int64(f)
}

// pyIntString is Python's int(s) in base 10.
func pyIntString(s string) (int64, bool) {
	i, j := 0, len(s)
	for i < j {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !isPySpace(r) {
			break
		}
		i += size
	}
	for j > i {
		r, size := utf8.DecodeLastRuneInString(s[i:j])
		if !isPySpace(r) {
			break
		}
		j -= size
	}
	s = s[i:j]
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" {
		return 0, false
	}
	var n uint64
	over := false
	afterDigit := false // an underscore may only follow a digit and precede one
	for _, r := range s {
		if r == '_' {
			if !afterDigit {
				return 0, false
			}
			afterDigit = false
			continue
		}
		d, ok := decimalValue(r)
		if !ok {
			return 0, false
		}
		afterDigit = true
		if n > (math.MaxUint64-uint64(d))/10 {
			over = true
			continue
		}
		n = n*10 + uint64(d)
	}
	if !afterDigit {
		return 0, false
	}
	switch {
	case neg && (over || n > 1<<63):
		return math.MinInt64, true
	case neg:
		return -int64(n), true // n == 1<<63 wraps to MinInt64, which is right
	case over || n > math.MaxInt64:
		return math.MaxInt64, true
	}
	return int64(n), true
}

// isPySpace is the white space int() strips: Unicode's White_Space (CPython's int() leaves
// out the separators U+001C to U+001F that str.isspace() counts), which is Go's IsSpace.
func isPySpace(r rune) bool { return unicode.IsSpace(r) }

// decimalValue is the value of a Unicode decimal digit (category Nd), as int() reads them.
// Nd digits come in contiguous runs of ten starting at zero, so the value is the position in
// the run.
func decimalValue(r rune) (int, bool) {
	if r >= '0' && r <= '9' {
		return int(r - '0'), true
	}
	if r < utf8.RuneSelf || !unicode.IsDigit(r) {
		return 0, false
	}
	k := 0
	for unicode.IsDigit(r - rune(k) - 1) {
		k++
	}
	return k % 10, true
}
