package voracious

import (
	"bytes"
	"net/http/httptest"
	"testing"
)

// FuzzDecodeServo: any body either decodes into a request whose input is well formed or is
// refused with a status error; never a panic.
func FuzzDecodeServo(f *testing.F) {
	for _, s := range []string{
		`{ "event" : "MEASUREMENT", "param": { "progress": 10 } }`, `{"event":"HELLO"}`, `{"event":"WHATS_NEXT","param":null}`,
		`{"event":"X","param":{"progress":1e3}}`, `{"event":"MEASUREMENT","param":{"progress":-9223372036854775809}}`, `[`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/accounts/a/applications/x/servo", bytes.NewReader(body))
		req, err := DecodeServo(r)
		if err != nil {
			return
		}
		if req.Event == "" {
			t.Fatal("decoded a request without an event")
		}
		_ = req.Input()
	})
}

// FuzzServoHandler: any body through the whole router answers 200 or 4xx, never 5xx.
func FuzzServoHandler(f *testing.F) {
	f.Add([]byte(`{"event":"HELLO"}`), []byte(`{"event":"MEASUREMENT","param":{"progress":3}}`))
	h, _, _ := newHandler(f, true)
	f.Fuzz(func(t *testing.T, a, b []byte) {
		for _, body := range [][]byte{a, b} {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("POST", "/accounts/a/applications/x/servo", bytes.NewReader(body)))
			if w.Code >= 500 {
				t.Fatalf("%d for %q: %s", w.Code, body, w.Body)
			}
		}
	})
}
