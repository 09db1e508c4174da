package config_test

import (
	"errors"
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
