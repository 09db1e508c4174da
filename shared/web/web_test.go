package web_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/shared/web"
)

type payload struct {
	Name string `json:"name"`
}

func (p payload) Validate() error {
	if p.Name == "bad" {
		return web.Errorf(http.StatusConflict, "bad name")
	}
	return nil
}

func decode(ct, body string, opts web.DecodeOptions) (payload, error) {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	var p payload
	err := web.DecodeWith(r, &p, opts)
	return p, err
}

func status(err error) int {
	if se := (*web.StatusError)(nil); errors.As(err, &se) {
		return se.Status
	}
	return 0
}

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name, ct, body string
		opts           web.DecodeOptions
		want           int
	}{
		{"ok", "application/json", `{"name":"x"}`, web.DecodeOptions{}, 0},
		{"ok with charset", "application/json; charset=utf-8", `{"name":"x"}`, web.DecodeOptions{}, 0},
		{"no content type", "", `{"name":"x"}`, web.DecodeOptions{}, 0},
		{"form type refused", "application/x-www-form-urlencoded", `{"name":"x"}`, web.DecodeOptions{}, 415},
		{"form type read anyway", "application/x-www-form-urlencoded", `{"name":"x"}`, web.DecodeOptions{AnyContentType: true}, 0},
		{"empty", "application/json", ``, web.DecodeOptions{}, 400},
		{"empty allowed", "application/json", ` `, web.DecodeOptions{AllowEmpty: true}, 0},
		{"syntax", "application/json", `{"name":`, web.DecodeOptions{}, 400},
		{"wrong type", "application/json", `{"name":1}`, web.DecodeOptions{}, 400},
		{"unknown field", "application/json", `{"name":"x","age":3}`, web.DecodeOptions{}, 400},
		{"unknown field allowed", "application/json", `{"name":"x","age":3}`, web.DecodeOptions{AllowUnknownFields: true}, 0},
		{"trailing", "application/json", `{"name":"x"} x`, web.DecodeOptions{}, 400},
		{"two values", "application/json", `{"name":"x"}{"name":"y"}`, web.DecodeOptions{}, 400},
		{"validate", "application/json", `{"name":"bad"}`, web.DecodeOptions{}, 409},
		{"too big", "application/json", `{"name":"` + strings.Repeat("x", web.MaxBodyBytes) + `"}`, web.DecodeOptions{}, 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decode(tc.ct, tc.body, tc.opts)
			if tc.want == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Equal(t, tc.want, status(err), err.Error())
		})
	}
}

func TestErrorShape(t *testing.T) {
	rec := httptest.NewRecorder()
	web.Fail(rec, web.Errorf(http.StatusConflict, "taken"))
	assert.Equal(t, http.StatusConflict, rec.Code)
	assert.JSONEq(t, `{"error":"conflict","detail":"taken"}`, rec.Body.String())
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
}

func FuzzUnmarshal(f *testing.F) {
	f.Add(`{"name":"x"}`)
	f.Add(`[`)
	f.Fuzz(func(t *testing.T, body string) {
		var p payload
		if err := web.Unmarshal([]byte(body), &p, false); err != nil && status(err) != http.StatusBadRequest {
			t.Fatalf("status %d for %q", status(err), body)
		}
	})
}

type nested struct {
	Version string            `json:"version"`
	Message *string           `json:"message"`
	Inner   payload           `json:"inner"`
	List    []payload         `json:"list"`
	Labels  map[string]string `json:"labels"`
	Plain   string
	Skipped string `json:"-"`
}

// Strict decoding refuses what encoding/json lets through by default.
func TestStrictDecoding(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		ok         bool
		want       string
	}{
		{"exact keys", `{"version":"b","message":"m","inner":{"name":"x"},"list":[{"name":"y"}],"labels":{"K":"v"},"Plain":"p"}`, true, ""},
		{"key in another case", `{"VERSION":"b"}`, false, `keys are case-sensitive, want "version"`},
		{"Go field name in another case", `{"plain":"p"}`, false, `want "Plain"`},
		{"nested key in another case", `{"inner":{"Name":"x"}}`, false, `"inner.Name": keys are case-sensitive`},
		{"key in a list in another case", `{"list":[{"NAME":"x"}]}`, false, "case-sensitive"},
		{"key folding to a field", `{"meſſage":"m"}`, false, "case-sensitive"},
		{"duplicate key", `{"version":"a","version":"b"}`, false, `field "version" appears twice`},
		{"duplicate nested key", `{"inner":{"name":"a","name":"b"}}`, false, `"inner.name" appears twice`},
		{"duplicate map key", `{"labels":{"a":"1","a":"2"}}`, false, "appears twice"},
		{"map keys keep their case", `{"labels":{"a":"1","A":"2"}}`, true, ""},
		{"NUL escaped", `{"version":"a\u0000b"}`, false, `in field "version" holds a NUL`},
		{"NUL in a key", `{"labels":{"a\u0000":"1"}}`, false, "NUL"},
		{"lone surrogate", `{"version":"\ud800"}`, false, "not valid UTF-8"},
		{"escaped U+FFFD is fine", `{"version":"\ufffd"}`, true, ""},
		{"U+FFFD itself is fine", "{\"version\":\"\uFFFD\"}", true, ""},
		{"invalid UTF-8", "{\"version\":\"\xff\"}", false, "not valid UTF-8"},
		{"skipped field", `{"Skipped":"x"}`, false, "unknown field"},
		{"wrong type names JSON kinds", `{"version":1}`, false, `field "version" wants a string, got a number`},
		{"wrong top-level type", `[1]`, false, "want an object, got an array"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v nested
			err := web.Unmarshal([]byte(tc.body), &v, false)
			if tc.ok {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Equal(t, http.StatusBadRequest, status(err))
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "web_test.", "no Go type names")
		})
	}
	// Unknown fields allowed: a key in another case is still refused, not applied.
	var v nested
	err := web.Unmarshal([]byte(`{"VERSION":"b"}`), &v, true)
	require.Error(t, err)
	assert.Empty(t, v.Version)
}

func TestNoInput(t *testing.T) {
	h := web.NoInput(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	for _, tc := range []struct {
		name, ct, body string
		want           int
	}{
		{"no body", "", "", 204},
		{"no body, form type from curl -d ''", "application/x-www-form-urlencoded", "", 204},
		{"empty object", "application/json", "{}", 204},
		{"empty object, no type", "", " {} ", 204},
		{"a field", "application/json", `{"now":true}`, 400},
		{"an array", "application/json", `[]`, 400},
		{"garbage", "", `garbage`, 400},
		{"text", "text/plain", `garbage`, 415},
		{"two objects", "application/json", `{}{}`, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/start", strings.NewReader(tc.body))
			if tc.body == "" {
				r = httptest.NewRequest(http.MethodPost, "/start", nil)
			}
			if tc.ct != "" {
				r.Header.Set("Content-Type", tc.ct)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			assert.Equal(t, tc.want, rec.Code, rec.Body.String())
		})
	}
}

func TestTruncate(t *testing.T) {
	assert.Equal(t, "short", web.Truncate("short", 10))
	long := strings.Repeat("é", 100) // two bytes each
	got := web.Truncate(long, 11)
	assert.True(t, strings.HasPrefix(got, strings.Repeat("é", 5)+"..."), got)
	assert.Contains(t, got, "(200 bytes)")
}

// FuzzStrictUnmarshal: whatever the body, a 400 or a value; accepted strings hold no NUL
// and are valid UTF-8, and a refused body is refused again (the check is deterministic).
func FuzzStrictUnmarshal(f *testing.F) {
	for _, s := range []string{`{"version":"a"}`, `{"VERSION":"a"}`, `{"version":"a","version":"b"}`,
		`{"inner":{"name":"\u0000"}}`, `{"labels":{"k":"\ud800"}}`, `{"list":[{"name":"x"}]}`, "\xff", `[`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var v nested
		err := web.Unmarshal([]byte(body), &v, false)
		if err != nil {
			if status(err) != http.StatusBadRequest {
				t.Fatalf("status %d for %q", status(err), body)
			}
			var again nested
			if web.Unmarshal([]byte(body), &again, false) == nil {
				t.Fatalf("%q refused once, then accepted", body)
			}
			return
		}
		for _, s := range []string{v.Version, v.Inner.Name, v.Plain} {
			if strings.ContainsRune(s, 0) || !utf8.ValidString(s) {
				t.Fatalf("accepted %q from %q", s, body)
			}
		}
	})
}

type echoing struct {
	Name string `json:"name"`
}

func (e echoing) Validate() error {
	return web.Errorf(http.StatusBadRequest, "name %q is wrong", e.Name)
}

// An error repeats a bounded part of what the client sent: a field name, a value, a detail.
func TestErrorsAreBounded(t *testing.T) {
	big := strings.Repeat("k", 500_000)
	var v payload
	err := web.Unmarshal([]byte(`{"`+big+`":1}`), &v, false)
	require.Error(t, err)
	assert.Less(t, len(err.Error()), 1024)

	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"name":"`+big+`"}`))
	var e echoing
	err = web.Decode(r, &e)
	require.Error(t, err)
	assert.Less(t, len(err.Error()), 1024)

	rec := httptest.NewRecorder()
	web.Error(rec, http.StatusBadRequest, big)
	assert.Less(t, rec.Body.Len(), 4096)
}
