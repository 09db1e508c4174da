package config_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/shared/config"
)

type level string

func (l *level) UnmarshalText(b []byte) error {
	if string(b) != "low" && string(b) != "high" {
		return config.Invalid("LEVEL", string(b), "low or high")
	}
	*l = level(b)
	return nil
}

type nested struct {
	Port int `env:"PORT" envDefault:"80"`
}

type sample struct {
	QPS      float64       `env:"QPS" envDefault:"10"`
	Interval time.Duration `env:"INTERVAL" envDefault:"1s"`
	Enabled  bool          `env:"ENABLED"`
	Names    []string      `env:"NAMES" envSeparator:","`
	Level    level         `env:"LEVEL" envDefault:"low"`
	Token    string        `env:"AUTH_TOKEN"`
	Nested   nested        `envPrefix:"INNER_"`
}

func (s sample) Validate() error {
	if s.QPS < 0 {
		return config.Invalid("QPS", "negative", "a rate of 0 or more")
	}
	return nil
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaultsAndValues(t *testing.T) {
	c, err := config.Load[sample](env(nil))
	require.NoError(t, err)
	assert.Equal(t, 10.0, c.QPS)
	assert.Equal(t, time.Second, c.Interval)
	assert.Equal(t, 80, c.Nested.Port)

	c, err = config.Load[sample](env(map[string]string{
		"QPS": "2.5", "INTERVAL": "250ms", "ENABLED": "true", "NAMES": "a,b", "LEVEL": "high", "INNER_PORT": "90",
		"UNRELATED": "x",
	}))
	require.NoError(t, err)
	assert.Equal(t, 2.5, c.QPS)
	assert.Equal(t, 250*time.Millisecond, c.Interval)
	assert.True(t, c.Enabled)
	assert.Equal(t, []string{"a", "b"}, c.Names)
	assert.Equal(t, level("high"), c.Level)
	assert.Equal(t, 90, c.Nested.Port)
}

func TestEmptyMeansDefault(t *testing.T) {
	c, err := config.Load[sample](env(map[string]string{"QPS": ""}))
	require.NoError(t, err)
	assert.Equal(t, 10.0, c.QPS)
}

func TestBadValuesNameTheVariable(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"QPS": "fast"}, `invalid QPS="fast": want a number`},
		{map[string]string{"INTERVAL": "10"}, `invalid INTERVAL="10": want a duration such as 500ms, 10s or 2m`},
		{map[string]string{"ENABLED": "yes please"}, `invalid ENABLED="yes please": want true or false`},
		{map[string]string{"LEVEL": "medium"}, `invalid LEVEL="medium": want low or high`},
		{map[string]string{"INNER_PORT": "eighty"}, `invalid INNER_PORT="eighty": want a whole number`},
		{map[string]string{"QPS": "-1"}, `invalid QPS="negative": want a rate of 0 or more`},
	} {
		_, err := config.Load[sample](env(tc.env))
		require.Error(t, err)
		assert.Contains(t, err.Error(), tc.want)
		assert.NotContains(t, err.Error(), "\n", "one line")
		var ce *config.Error
		var ces *config.Errors
		assert.True(t, errors.As(err, &ce) || errors.As(err, &ces), "a config error, for exit status 2")
	}
}

func TestSecretsAreNeverShown(t *testing.T) {
	err := config.Invalid("AUTH_TOKEN", "hunter2", "a token")
	assert.NotContains(t, err.Error(), "hunter2")
	assert.True(t, strings.Contains(err.Error(), "<redacted>"))
}

type floats struct {
	Rate   float64   `env:"RATE" envDefault:"1"`
	Rates  []float64 `env:"RATES" envSeparator:","`
	Nested struct {
		Factor float64 `env:"FACTOR" envDefault:"2"`
	} `envPrefix:"IN_"`
}

// NaN and infinities pass every range check a Validate makes (NaN < 0 and NaN > max are both
// false): Load refuses them in every float setting first.
func TestNonFiniteNumbersAreRefused(t *testing.T) {
	for _, tc := range []struct{ k, v string }{
		{"RATE", "NaN"}, {"RATE", "nan"}, {"RATE", "Inf"}, {"RATE", "-Inf"}, {"RATE", "+infinity"},
		{"RATES", "1,NaN"}, {"IN_FACTOR", "NaN"},
	} {
		_, err := config.Load[floats](env(map[string]string{tc.k: tc.v}))
		require.Error(t, err, "%s=%s", tc.k, tc.v)
		assert.Contains(t, err.Error(), `invalid `+tc.k+`="`+tc.v+`": want a finite number`)
		var ce *config.Error
		assert.ErrorAs(t, err, &ce)
	}
	_, err := config.Load[floats](env(map[string]string{"RATE": "1e400"}))
	assert.ErrorContains(t, err, `invalid RATE="1e400": want a number`, "out of float64's range")
	c, err := config.Load[floats](env(map[string]string{"RATE": "2.5", "RATES": "1,2"}))
	require.NoError(t, err)
	assert.Equal(t, 2.5, c.Rate)
	assert.Error(t, config.Finite("X", "NaN", math.NaN()))
	assert.NoError(t, config.Finite("X", "1", 1))
}

func TestRanges(t *testing.T) {
	assert.NoError(t, config.DurationIn("D", time.Second, time.Millisecond, time.Minute, ""))
	assert.EqualError(t, config.DurationIn("D", time.Nanosecond, time.Millisecond, time.Minute, ""),
		`invalid D="1ns": want a duration from 1ms to 1m0s`)
	assert.EqualError(t, config.DurationIn("D", time.Hour, time.Millisecond, time.Minute, "short"), `invalid D="1h0m0s": want short`)
	assert.NoError(t, config.IntIn("N", 3, 1, 3))
	assert.EqualError(t, config.IntIn("N", 4, 1, 3), `invalid N="4": want a whole number from 1 to 3`)
}

func TestURLCredentialsAreRedacted(t *testing.T) {
	for in, want := range map[string]string{
		"http://user:pw@host:8000/x":        "http://redacted@host:8000/x",
		"http://token@host:8000":            "http://redacted@host:8000",
		"http://host:8000/a@b":              "http://host:8000/a@b",
		"http://host:8000":                  "http://host:8000",
		"receiver:8000":                     "receiver:8000",
		"http://u:p%zz@host:1/":             "http://redacted@host:1/",
		"http://a:b@h:1,http://c:d@h:2":     "http://redacted@h:1,http://redacted@h:2",
		"not a url, but has an @ somewhere": "not a url, but has an @ somewhere",
	} {
		assert.Equal(t, want, config.RedactURLs(in), in)
	}
	err := config.Invalid("NODEKILLER_URL", "ftp://user:hunter2@nk:1", "a base URL")
	assert.NotContains(t, err.Error(), "hunter2")
}
