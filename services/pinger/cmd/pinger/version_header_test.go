package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/shared/config"
	"chaossuite.dev/shared/proctest"
)

func TestVersionHeaderSetting(t *testing.T) {
	for _, tc := range []struct{ v, want string }{
		{"", "X-Receiver-Version"},
		{"x-app-version", "X-App-Version"},
		{"None", "none"},
	} {
		env := map[string]string{"RECEIVER_URL": "http://receiver:8000/", "VERSION_HEADER": tc.v}
		cfg, err := config.Load[Config](func(k string) string { return env[k] })
		require.NoError(t, err, tc.v)
		require.Len(t, cfg.targets, 1)
		assert.Equal(t, tc.want, cfg.targets[0].VersionHeader, "VERSION_HEADER=%q", tc.v)
	}
	for _, v := range []string{"X App", "X-Version:", "X-\u00e9"} {
		proctest.ConfigError(t, "pinger", run, "VERSION_HEADER", v, `invalid VERSION_HEADER="`+v+`": want a response header name`)
	}
}
