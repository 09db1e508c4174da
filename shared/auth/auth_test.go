package auth_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"chaossuite.dev/shared/auth"
)

var ok = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })

func call(h http.Handler, header string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	if header != "" {
		r.Header.Set("Authorization", header)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func TestProtect(t *testing.T) {
	open := auth.Protect(auth.NewToken(""))(ok)
	assert.Equal(t, 204, call(open, "").Code, "no token configured: open")

	h := auth.Protect(auth.NewToken("s3"))(ok)
	assert.Equal(t, 204, call(h, "Bearer s3").Code)
	assert.Equal(t, 204, call(h, "bearer s3").Code)
	for _, bad := range []string{"", "Bearer", "Bearer s4", "Basic s3", "s3", "Bearer s3x"} {
		rec := call(h, bad)
		assert.Equal(t, 401, rec.Code, bad)
		assert.Contains(t, rec.Header().Get("WWW-Authenticate"), "Bearer")
	}
}

func TestDestructive(t *testing.T) {
	rec := call(auth.Destructive(auth.NewToken(""))(ok), "Bearer anything")
	assert.Equal(t, 403, rec.Code)
	assert.Contains(t, rec.Body.String(), "AUTH_TOKEN")
	h := auth.Destructive(auth.NewToken("s3"))(ok)
	assert.Equal(t, 401, call(h, "").Code)
	assert.Equal(t, 204, call(h, "Bearer s3").Code)
}

func TestTokenNeverPrinted(t *testing.T) {
	tok := auth.NewToken("hunter2")
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("x", "token", tok)
	fmt.Fprintf(&b, "%v %s %+v %#v", tok, tok, tok, tok)
	assert.NotContains(t, b.String(), "hunter2")
}
