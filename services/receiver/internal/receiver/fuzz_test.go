package receiver_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzRootRequest feeds any body to / and /admin/config: the receiver answers a 2xx or a clear
// 4xx, never a 5xx or a panic, and only a well-formed PUT changes its configuration.
func FuzzRootRequest(f *testing.F) {
	for _, seed := range []string{
		``, `{}`, `{"kill_node":"spare"}`, `{"kill_node":"stop"}`, `{"kill_node":"ray_stop"}`,
		`{"kill_node":1}`, `{"kill_node":null}`, `[]`, `{"kill_node":"spare"}x`, `{"version":"beta"}`,
		`{"version":"beta","message":"hi"}`, `{"version":""}`, "\x00\xff",
	} {
		f.Add(seed, "application/json")
		f.Add(seed, "")
	}
	fx := newFixture(f, token, 200, `{"victim":"n"}`)
	f.Fuzz(func(t *testing.T, body, contentType string) {
		for _, target := range []struct{ method, path string }{{"POST", "/"}, {"PUT", "/admin/config"}, {"POST", "/admin/halt"}} {
			before := fx.deps.Config.Load().Generation
			halts := fx.halter.halts.Load() + fx.halter.stops.Load()
			req := httptest.NewRequest(target.method, target.path, bytes.NewBufferString(body))
			if contentType != "" {
				req.Header.Set("Content-Type", contentType)
			}
			rec := httptest.NewRecorder()
			fx.srv.Config.Handler.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("%s %s with %q answered %d: %s", target.method, target.path, body, rec.Code, rec.Body)
			}
			changed := fx.deps.Config.Load().Generation != before
			if changed && (target.path != "/admin/config" || rec.Code != http.StatusOK) {
				t.Fatalf("config changed by %s %s answering %d", target.method, target.path, rec.Code)
			}
			if rec.Code != http.StatusAccepted && fx.halter.halts.Load()+fx.halter.stops.Load() != halts {
				t.Fatalf("halted by a request answered %d", rec.Code)
			}
		}
	})
}
