package web_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
	if se, ok := err.(*web.StatusError); ok {
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
