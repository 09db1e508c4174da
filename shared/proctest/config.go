package proctest

import (
	"bytes"
	"context"
	"testing"

	"chaossuite.dev/shared/service"
)

// ConfigError runs run (a service's run, as main calls it) with only key set to value, and
// fails the test unless it exits with status 2 and one line containing want.
func ConfigError(t testing.TB, name string, run service.RunFunc, key, value, want string) {
	t.Helper()
	var logs bytes.Buffer
	err := run(context.Background(), []string{name}, func(k string) string {
		if k == key {
			return value
		}
		return ""
	}, &logs, &logs)
	var out bytes.Buffer
	if code := service.ExitCode(name, err, &out); code != 2 {
		t.Errorf("%s=%q: exit %d, want 2 (%s)", key, value, code, out.String())
	}
	if !bytes.Contains(out.Bytes(), []byte(want)) {
		t.Errorf("%s=%q: %q does not say %q", key, value, out.String(), want)
	}
	if n := bytes.Count(out.Bytes(), []byte("\n")); n != 1 {
		t.Errorf("%s=%q: %d lines, want one", key, value, n)
	}
}
