package main

import (
	"testing"

	"chaossuite.dev/shared/proctest"
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
	} {
		proctest.ConfigError(t, "nodekiller", run, tc.k, tc.v, tc.want)
	}
}
