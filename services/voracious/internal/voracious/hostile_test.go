package voracious

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/voracious/internal/servo"
)

// serveRaw parses target and body as the HTTP server would and serves them through h. It is
// false when the server would refuse the request line itself.
func serveRaw(h http.Handler, method, target string, body []byte) (*httptest.ResponseRecorder, bool) {
	raw := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: voracious\r\nContent-Length: %d\r\n\r\n", method, target, len(body))
	req, err := http.ReadRequest(bufio.NewReader(io.MultiReader(strings.NewReader(raw), bytes.NewReader(body))))
	if err != nil {
		return nil, false
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w, true
}

// restoreOf saves store to a state file and loads the file into a new store.
func restoreOf(t testing.TB, store *servo.Store) *servo.Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.json")
	require.NoError(t, SaveState(path, store, time.Now()))
	r := servo.NewStore(servo.Options{})
	_, err := LoadState(path, r)
	require.NoError(t, err, "a restore must never refuse a file the service wrote")
	require.Equal(t, store.Snapshot(), r.Snapshot())
	return r
}

func TestServoNames(t *testing.T) {
	h, store, _ := newHandler(t, false)
	hello := []byte(`{"event":"HELLO"}`)
	long := strings.Repeat("n", servo.MaxNameBytes)
	tests := []struct {
		target string
		status int
		detail string
	}{
		{"/accounts/a/applications/%61pp/servo", 200, ""},
		{"/accounts/a/applications/app/servo", 400, "HELLO"}, // the same app: HELLO again is a sequence error
		{"/accounts/a/applications/ap%70/servo", 400, "HELLO"},
		{"/accounts/%61/applications/app/servo", 400, "HELLO"},
		{"/accounts/a/applications/%25/servo", 200, ""}, // a literal percent sign is a name
		{"/accounts/a/applications//servo", 404, "no route"},
		{"/accounts//applications/app/servo", 404, "no route"},
		{"/accounts/a/applications/a%2Fb/servo", 404, "no route"},
		{"/accounts/a%2Fb/applications/app/servo", 404, "no route"},
		{"/accounts/a/applications/%FF/servo", 400, "not valid UTF-8"},
		{"/accounts/a/applications/%FE/servo", 400, "not valid UTF-8"},
		{"/accounts/%FF/applications/x/servo", 400, "account name"},
		{"/accounts/a/applications/a%00b/servo", 400, "U+0000"},
		{"/accounts/a/applications/a%0Db/servo", 400, "U+000D"},
		{"/accounts/a/applications/a%0Ab/servo", 400, "U+000A"},
		{"/accounts/a/applications/" + long + "/servo", 200, ""},
		{"/accounts/a/applications/" + long + "n/servo", 400, "over the limit of 256"},
		{"/accounts/a/applications/%EF%BF%BD/servo", 200, ""}, // U+FFFD sent as valid UTF-8 is a name like any
	}
	for _, tt := range tests {
		w, ok := serveRaw(h, "POST", tt.target, hello)
		require.True(t, ok, tt.target)
		assert.Equal(t, tt.status, w.Code, "%s: %s", tt.target, w.Body)
		assert.Contains(t, w.Body.String(), tt.detail, tt.target)
	}
	snap := store.Snapshot()
	names := make([]string, len(snap))
	for i, r := range snap {
		names[i] = r.Account + "/" + r.App
	}
	assert.ElementsMatch(t, []string{"a/app", "a/%", "a/" + long, "a/\ufffd"}, names)
	restoreOf(t, store)
}

// TestHostileRequestsThenRestore: what broke the restore before (an empty name, %FF and %FE
// both saved as U+FFFD, control characters, huge names) is refused, and the file written
// after them reads back.
func TestHostileRequestsThenRestore(t *testing.T) {
	h, store, _ := newHandlerWith(t, servo.Options{Resync: true, MaxApps: 20}, nil)
	for _, target := range []string{
		"/accounts/a/applications//servo", "/accounts/a/applications/%FF/servo", "/accounts/a/applications/%FE/servo",
		"/accounts/a/applications/%FF%FE/servo", "/accounts/%FF/applications/%FE/servo", "/accounts/a/applications/%C0%80/servo",
		"/accounts/a/applications/%ED%A0%80/servo", "/accounts/a/applications/%00/servo", "/accounts/a/applications/%0D%0A/servo",
		"/accounts/a/applications/a%2Fb/servo", "/accounts/a/applications/" + strings.Repeat("%FF", 1000) + "/servo",
		"/accounts/a/applications/" + strings.Repeat("x", 100_000) + "/servo", "/accounts/a/applications/%E2%80%A8/servo",
		"/accounts/a/applications/%C2%85/servo", "/accounts/a/applications/ok/servo",
	} {
		for _, body := range []string{`{"event":"HELLO"}`, `{"event":"MEASUREMENT","param":{"progress":1e400}}`, `{"event":"WHATS_NEXT","param":{"progress":"x"}}`} {
			w, ok := serveRaw(h, "POST", target, []byte(body))
			if ok {
				assert.Less(t, w.Code, 500, "%s %s", target, body)
			}
		}
	}
	r := restoreOf(t, store)
	assert.Equal(t, int64(2), r.Known(), "ok and U+2028 (a separator, not a control character): %v", r.Snapshot())
}

func TestMaxAppsOverHTTP(t *testing.T) {
	h, store, _ := newHandlerWith(t, servo.Options{MaxApps: 2}, nil)
	for _, app := range []string{"a1", "a2"} {
		w, _ := serveRaw(h, "POST", "/accounts/a/applications/"+app+"/servo", []byte(`{"event":"HELLO"}`))
		require.Equal(t, 200, w.Code)
	}
	w, _ := serveRaw(h, "POST", "/accounts/a/applications/a3/servo", []byte(`{"event":"HELLO"}`))
	assert.Equal(t, http.StatusTooManyRequests, w.Code)
	assert.Contains(t, w.Body.String(), "VORACIOUS_MAX_APPS")
	w, _ = serveRaw(h, "POST", "/accounts/a/applications/a1/servo", []byte(`{"event":"DESCRIPTION"}`))
	assert.Equal(t, 200, w.Code, "known apps go on")
	assert.Equal(t, int64(2), store.Known())
}

// FuzzAPIStateFile feeds request paths and bodies to the whole router, then saves the state
// file and restores it: no answer is a 5xx, and the restore takes whatever the service wrote.
func FuzzAPIStateFile(f *testing.F) {
	seeds := []struct{ path, body string }{
		{"/accounts/a/applications/x/servo", `{"event":"HELLO"}`},
		{"/accounts/a/applications//servo", `{"event":"HELLO"}`},
		{"/accounts/a/applications/%FF/servo", `{"event":"HELLO"}`},
		{"/accounts/a/applications/%FE/servo", `{"event":"HELLO"}`},
		{"/accounts/a/applications/%61pp/servo", `{"event":"HELLO"}`},
		{"/accounts/a/applications/app/servo", `{"event":"GOODBYE"}`},
		{"/accounts/a/applications/a%2Fb/servo/", `{"event":"HELLO"}`},
		{"/accounts/a/applications/a%00/servo", `{"event":"MEASUREMENT","param":{"progress":50.0}}`},
		{"/accounts/%E2%80%A8/applications/%C2%A0/servo", `{"event":"WHATS_NEXT","param":{"progress":true}}`},
		{"/accounts/a/applications/x/servo", `{"event":"MEASUREMENT","param":{"progress":"\u0661"}}`},
	}
	for _, s := range seeds {
		f.Add(s.path, []byte(s.body), "/accounts/a/applications/x/servo", []byte(`{"event":"DESCRIPTION"}`))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, path1 string, body1 []byte, path2 string, body2 []byte) {
		h, store, _ := newHandlerWith(t, servo.Options{Resync: true, MaxApps: 8}, nil)
		for _, req := range []struct {
			path string
			body []byte
		}{{path1, body1}, {path2, body2}, {path1, body2}} {
			if w, ok := serveRaw(h, "POST", req.path, req.body); ok && w.Code >= 500 {
				t.Fatalf("POST %q %q: %d %s", req.path, req.body, w.Code, w.Body)
			}
		}
		path := filepath.Join(dir, "state.json")
		if err := SaveState(path, store, time.Now()); err != nil {
			t.Fatal(err)
		}
		r := servo.NewStore(servo.Options{})
		if _, err := LoadState(path, r); err != nil {
			t.Fatalf("the restore refused what the service wrote: %v", err)
		}
		if got, want := r.Snapshot(), store.Snapshot(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("restored %v, saved %v", got, want)
		}
	})
}
