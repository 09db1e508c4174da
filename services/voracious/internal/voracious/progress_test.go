package voracious

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestProgressAsPythonInt: param.progress is Python's int() of the JSON value. The expected
// values are what CPython answers for int(json.loads(v)).
func TestProgressAsPythonInt(t *testing.T) {
	tests := []struct {
		json string
		want int64
		ok   bool
	}{
		{`10`, 10, true},
		{`-7`, -7, true},
		{`50.0`, 50, true},
		{`12.5`, 12, true},
		{`12.999999`, 12, true},
		{`-3.7`, -3, true},
		{`-0.5`, 0, true},
		{`1e2`, 100, true},
		{`1.5E1`, 15, true},
		{`1e-400`, 0, true},
		{`9223372036854775807`, math.MaxInt64, true},
		{`99999999999999999999`, math.MaxInt64, true},
		{`-99999999999999999999`, math.MinInt64, true},
		{`1e300`, math.MaxInt64, true},
		{`-1e300`, math.MinInt64, true},
		{`1e400`, 0, false}, // json.loads gives inf; int(inf) raises OverflowError
		{`-1e400`, 0, false},
		{`true`, 1, true},
		{`false`, 0, true},
		{`"12"`, 12, true},
		{`" 12\n"`, 12, true},
		{`"\u000b12\u3000"`, 12, true},
		{`"\u001f12"`, 0, false}, // a separator str.isspace() counts and int() does not
		{`"+12"`, 12, true},
		{`"-4"`, -4, true},
		{`"007"`, 7, true},
		{`"1_000"`, 1000, true},
		{`"\u0661\u0662"`, 12, true}, // Arabic-Indic digits
		{`"\uff13"`, 3, true},        // fullwidth 3
		{`"\ud835\udfd7"`, 9, true},  // mathematical bold 9, in the middle of five runs
		{`"-9223372036854775808"`, math.MinInt64, true},
		{`"9223372036854775808"`, math.MaxInt64, true},
		{`"123456789012345678901234567890"`, math.MaxInt64, true},
		{`"12.5"`, 0, false},
		{`"1e3"`, 0, false},
		{`"abc"`, 0, false},
		{`""`, 0, false},
		{`"  "`, 0, false},
		{`"+"`, 0, false},
		{`"+-1"`, 0, false},
		{`"- 1"`, 0, false},
		{`"1 2"`, 0, false},
		{`"_1"`, 0, false},
		{`"1_"`, 0, false},
		{`"1__0"`, 0, false},
		{`"0x10"`, 0, false},
		{`"\u00b2"`, 0, false}, // superscript two: a digit, not a decimal
		{`null`, 0, false},
		{`[12]`, 0, false},
		{`{"v":12}`, 0, false},
	}
	for _, tt := range tests {
		got, ok := pyIntJSON([]byte(tt.json))
		assert.Equal(t, tt.ok, ok, tt.json)
		if tt.ok {
			assert.Equal(t, tt.want, got, tt.json)
		}
	}
}

func TestAppendPyFloat(t *testing.T) {
	// repr() of each, from CPython.
	for f, want := range map[float64]string{
		51:                  "51.0",
		0:                   "0.0",
		49.5:                "49.5",
		1.0 / 3:             "0.3333333333333333",
		0.0001:              "0.0001",
		0.00001:             "1e-05",
		1.0 / 30000:         "3.3333333333333335e-05",
		1234567890123456:    "1234567890123456.0",
		1e16:                "1e+16",
		12345678901234567e3: "1.2345678901234567e+19",
		1e100:               "1e+100",
	} {
		assert.Equal(t, want, string(appendPyFloat(nil, f)), "%v", f)
	}
}
