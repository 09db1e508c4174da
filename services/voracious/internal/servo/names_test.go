package servo

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckName(t *testing.T) {
	for _, ok := range []string{"app00000", "a", "my app", "é", "\ufffd", "app-1.2_3", "%", strings.Repeat("x", MaxNameBytes)} {
		assert.NoError(t, CheckName("app", ok), "%q", ok)
	}
	for name, why := range map[string]string{
		"":                                  "is empty",
		strings.Repeat("x", MaxNameBytes+1): "over the limit of 256",
		"\xff":                              "not valid UTF-8",
		"a\xfeb":                            "not valid UTF-8",
		"a/b":                               "slash",
		"a\x00":                             "U+0000",
		"a\rb":                              "U+000D",
		"a\nb":                              "U+000A",
		"\x7f":                              "U+007F",
		"a\u0085":                           "U+0085",
	} {
		err := CheckName("app", name)
		var ne *NameError
		if assert.True(t, errors.As(err, &ne), "%q: %v", name, err) {
			assert.Contains(t, ne.Error(), why, "%q", name)
			assert.Equal(t, "app", ne.Kind)
		}
	}
}

// TestStoreRefusesWhatRestoreRefuses: every name Apply takes reads back from a snapshot, and
// every name Apply refuses creates nothing.
func TestStoreRefusesWhatRestoreRefuses(t *testing.T) {
	s := NewStore(Options{})
	names := []string{"", "\xff", "\xfe", "a\x00", "a\r", "a\n", "a/b", strings.Repeat("n", MaxNameBytes+1), "ok", "\ufffd", "%FF"}
	for _, account := range []string{"a", "", "\xff"} {
		for _, app := range names {
			_, err := s.Apply(account, app, Input{Event: Hello})
			okAccount, okApp := CheckName("account", account) == nil, CheckName("app", app) == nil
			if okAccount && okApp {
				assert.NoError(t, err, "%q/%q", account, app)
				continue
			}
			var ne *NameError
			assert.True(t, errors.As(err, &ne), "%q/%q: %v", account, app, err)
		}
	}
	assert.Equal(t, int64(3), s.Known(), "a/ok, a/\\ufffd and a/%%FF")
	r := NewStore(Options{})
	require.NoError(t, r.Restore(s.Snapshot()))
	assert.Equal(t, s.Snapshot(), r.Snapshot())

	for _, rec := range []Record{{Account: "a", App: "", State: "initial"}, {Account: "a", App: "\xff", State: "initial"},
		{Account: "", App: "x", State: "initial"}, {Account: "a", App: "a\nb", State: "initial"}} {
		assert.Error(t, NewStore(Options{}).Restore([]Record{rec}), "%+v", rec)
	}
}
