package receiver_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"unicode/utf8"
)

// FuzzRootRequest feeds any body to every route that decodes one, with and without the token:
// the receiver answers a 2xx or a clear 4xx, never a 5xx or a panic, and a refused request
// changes nothing: only a PUT answered 200 changes the configuration, only a halt answered 202
// halts, only a POST / answered 200 forwards a kill.
func FuzzRootRequest(f *testing.F) {
	for _, seed := range []string{
		``, `{}`, `{"kill_node":"spare"}`, `{"kill_node":"stop"}`, `{"kill_node":"ray_stop"}`,
		`{"kill_node":1}`, `{"kill_node":null}`, `[]`, `{"kill_node":"spare"}x`, `{"version":"beta"}`,
		`{"version":"beta","message":"hi"}`, `{"version":""}`, "\x00\xff", `{"VERSION":"beta"}`,
		`{"version":"beta","version":"gamma"}`, `{"version":"beta","message":"a\u0000"}`, `{"method":"stop"}`,
		`{"Method":"halt"}`, `{"kill_node":"halt","KILL_NODE":"spare"}`,
	} {
		f.Add(seed, "application/json", true)
		f.Add(seed, "", false)
	}
	fx := newFixture(f, token, 200, `{"victim":"n"}`)
	f.Fuzz(func(t *testing.T, body, contentType string, withToken bool) {
		for _, target := range []struct{ method, path string }{
			{"GET", "/"}, {"POST", "/"}, {"PUT", "/admin/config"}, {"POST", "/admin/halt"},
		} {
			before := fx.deps.Config.Load()
			halts := fx.halter.halts.Load() + fx.halter.stops.Load()
			kills := fx.killsSeen.Load()
			req := httptest.NewRequest(target.method, target.path, bytes.NewBufferString(body))
			if contentType != "" {
				req.Header.Set("Content-Type", contentType)
			}
			if withToken {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			rec := httptest.NewRecorder()
			fx.srv.Config.Handler.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("%s %s with %q answered %d: %s", target.method, target.path, body, rec.Code, rec.Body)
			}
			after := fx.deps.Config.Load()
			if after != before && (target.path != "/admin/config" || rec.Code != http.StatusOK) {
				t.Fatalf("config changed by %s %s answering %d", target.method, target.path, rec.Code)
			}
			if after != before && (bytes.IndexByte([]byte(after.Message), 0) >= 0 || !validUTF8(after.Message)) {
				t.Fatalf("served message %q from %q", after.Message, body)
			}
			if fx.halter.halts.Load()+fx.halter.stops.Load() != halts && rec.Code != http.StatusAccepted {
				t.Fatalf("halted by a request answered %d", rec.Code)
			}
			if fx.killsSeen.Load() != kills && (target.method != "POST" || target.path != "/" || rec.Code != http.StatusOK) {
				t.Fatalf("a kill forwarded by %s %s answering %d", target.method, target.path, rec.Code)
			}
		}
	})
}

func validUTF8(s string) bool { return utf8.ValidString(s) }
