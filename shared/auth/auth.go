// Package auth checks the suite's shared bearer token in constant time and never logs it.
package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"

	"chaossuite.dev/shared/web"
)

// Token is the shared bearer token. The zero value means none is configured.
type Token struct {
	sum [32]byte
	set bool
}

// NewToken returns the Token for secret; an empty secret means none is configured.
func NewToken(secret string) Token {
	if secret == "" {
		return Token{}
	}
	return Token{sum: sha256.Sum256([]byte(secret)), set: true}
}

// Configured reports whether a token is set.
func (t Token) Configured() bool { return t.set }

// String hides the token from any log or format verb.
func (t Token) String() string {
	if t.set {
		return "<redacted>"
	}
	return "<none>"
}

// GoString hides the token from %#v.
func (t Token) GoString() string { return t.String() }

// LogValue hides the token from slog.
func (t Token) LogValue() slog.Value { return slog.StringValue(t.String()) }

// Matches reports, in constant time, whether r carries the token as a bearer credential.
func (t Token) Matches(r *http.Request) bool {
	if !t.set {
		return false
	}
	scheme, cred, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(cred)))
	return subtle.ConstantTimeCompare(got[:], t.sum[:]) == 1
}

// Protect requires the token on every request when one is configured and lets everything
// through when none is.
func Protect(t Token) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if !t.set {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !t.Matches(r) {
				unauthorized(w)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// Destructive guards an action that kills, halts, reconfigures or upgrades: it always needs the
// token, and with none configured it answers 403 saying how to set one.
func Destructive(t Token) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !t.set {
				web.Error(w, http.StatusForbidden,
					"this action needs a bearer token and none is configured: set AUTH_TOKEN on this service and its callers")
				return
			}
			if !t.Matches(r) {
				unauthorized(w)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="chaos"`)
	web.Error(w, http.StatusUnauthorized, "missing or wrong bearer token")
}

// SetBearer sets req's Authorization to the bearer secret, unless secret is empty.
func SetBearer(req *http.Request, secret string) {
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
}
