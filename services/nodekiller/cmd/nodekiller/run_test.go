package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"

	"chaossuite.dev/shared/proctest"
	"chaossuite.dev/shared/service"
)

func TestBadConfigExits2WithOneLine(t *testing.T) {
	for _, tc := range []struct{ k, v, want string }{
		{"MIN_AVAILABLE", "-1", `invalid MIN_AVAILABLE="-1": want a whole number from 0 to 10000`},
		{"MIN_AVAILABLE", "1000000", `invalid MIN_AVAILABLE="1000000"`},
		{"RECOVERY_TIMEOUT", "1ns", `invalid RECOVERY_TIMEOUT="1ns": want a positive duration from 1s to 24h`},
		{"KILL_DRIVER", "ssh", `invalid KILL_DRIVER="ssh": want one of docker, http, kubernetes`},
		{"KILL_POLICY", "everyone", `invalid KILL_POLICY="everyone"`},
		{"TARGETS", "ftp://user:hunter2@receiver:8000", `invalid TARGETS="ftp://redacted@receiver:8000"`},
		{"MAX_CONNECTIONS", "0", `invalid MAX_CONNECTIONS="0"`},
		{"NODE_RESTART_DELAY", "soon", `invalid NODE_RESTART_DELAY="soon": want a positive duration of at most 24h such as 5s, or never`},
		{"TARGET_PORT", "http", `invalid TARGET_PORT="http"`},
	} {
		proctest.ConfigError(t, "nodekiller", run, tc.k, tc.v, tc.want)
	}
}

func TestBadDockerSettingsExit2WithOneLine(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"TARGET_LABEL": "web"}, `invalid TARGET_LABEL="web": want a label key=value`},
		{map[string]string{"TARGET_PORT": "0"}, `invalid TARGET_PORT="0": want a port number from 1 to 65535`},
		// Outside a container (no HOSTNAME) the project must be named; no engine is asked.
		{map[string]string{"DOCKER_HOST": "tcp://127.0.0.1:1"}, `invalid COMPOSE_PROJECT=""`},
	} {
		tc.env["KILL_DRIVER"] = "docker"
		var stderr bytes.Buffer
		err := run(context.Background(), []string{"nodekiller"}, func(k string) string { return tc.env[k] }, &stderr, &stderr)
		var out bytes.Buffer
		assert.Equal(t, 2, service.ExitCode("nodekiller", err, &out), "%v", tc.env)
		assert.Contains(t, out.String(), tc.want)
		assert.Equal(t, 1, bytes.Count(out.Bytes(), []byte("\n")), out.String())
	}
}
