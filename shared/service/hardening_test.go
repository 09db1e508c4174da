package service_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/shared/auth"
	"chaossuite.dev/shared/service"
	"chaossuite.dev/shared/web"
)

// served is a real Server on loopback with the shared router, its token "tok" and three
// routes: POST /echo decodes a JSON body, POST /slow answers after a while once it has read
// its body, GET /thing answers.
type served struct {
	addr   string
	cancel context.CancelFunc
	done   chan error
}

func serve(t *testing.T, c service.Common) *served {
	t.Helper()
	ready := &service.Readiness{}
	h := service.NewRouter(service.Deps{Name: "test", Logger: quiet(), Registry: service.NewRegistry(),
		Token: auth.NewToken("tok"), Readiness: ready}, func(r chi.Router) {
		r.Post("/echo", func(w http.ResponseWriter, r *http.Request) {
			var v struct {
				Name string `json:"name"`
			}
			if err := web.Decode(r, &v); err != nil {
				web.Fail(w, err)
				return
			}
			web.Encode(w, http.StatusOK, v)
		})
		r.Post("/slow", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			select {
			case <-time.After(600 * time.Millisecond):
				web.Encode(w, http.StatusOK, map[string]string{"status": "done"})
			case <-r.Context().Done():
				web.Error(w, http.StatusServiceUnavailable, "canceled")
			}
		})
		r.Get("/thing", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "thing") })
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{addr: ln.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	srv := &service.Server{Handler: h, Readiness: ready, Logger: quiet(), Common: c}
	go func() { s.done <- srv.ServeListener(ctx, ln) }()
	require.Eventually(t, ready.Ready, 2*time.Second, time.Millisecond)
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			t.Error("the server did not stop")
		}
	})
	return s
}

func (s *served) dial(t *testing.T) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", s.addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// answer reads one HTTP answer from c within d.
func answer(t *testing.T, c net.Conn, d time.Duration) (*http.Response, string, error) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b), nil
}

const slowHeaders = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n"

// A body sent a byte at a time is cut off at BODY_TIMEOUT with a 408, instead of holding a
// connection and a goroutine for as long as the client likes.
func TestSlowBodyIsTimedOut(t *testing.T) {
	s := serve(t, service.Common{BodyTimeout: 200 * time.Millisecond, ShutdownTimeout: time.Second})
	c := s.dial(t)
	_, err := io.WriteString(c, slowHeaders+"Authorization: Bearer tok\r\n\r\n{")
	require.NoError(t, err)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				if _, err := io.WriteString(c, " "); err != nil {
					return
				}
			}
		}
	}()
	start := time.Now()
	resp, body, err := answer(t, c, 3*time.Second)
	require.NoError(t, err)
	assert.Equal(t, http.StatusRequestTimeout, resp.StatusCode, body)
	assert.Contains(t, body, "BODY_TIMEOUT")
	assert.Less(t, time.Since(start), 2*time.Second)
}

// The 401 goes out before the body is read: a client needs the token to make the server
// wait for its body at all.
func TestUnauthorizedBeforeTheBody(t *testing.T) {
	s := serve(t, service.Common{BodyTimeout: time.Minute, ShutdownTimeout: time.Second})
	c := s.dial(t)
	_, err := io.WriteString(c, slowHeaders+"\r\n{") // no token, and the body never comes
	require.NoError(t, err)
	start := time.Now()
	resp, body, err := answer(t, c, time.Second)
	require.NoError(t, err, "the 401 comes without waiting for the body")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Contains(t, body, `"error":"unauthorized"`)

	// The rest of the body gets a short grace, not BODY_TIMEOUT: then the connection closes.
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = io.ReadAll(c)
	assert.NoError(t, err, "closed by the server")
	assert.Less(t, time.Since(start), 3*time.Second)
}

// Once the body is in, a handler runs as long as it needs: the body deadline is lifted and
// does not cancel it.
func TestHandlerOutlivesTheBodyDeadline(t *testing.T) {
	s := serve(t, service.Common{BodyTimeout: 100 * time.Millisecond, ShutdownTimeout: time.Second})
	req, _ := http.NewRequest(http.MethodPost, "http://"+s.addr+"/slow", strings.NewReader(`{"a":1}`))
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	assert.Equal(t, http.StatusOK, resp.StatusCode, string(b))
}

// A stop closes idle keep-alive connections at once and still returns nil, without waiting
// for the body deadline, when a client dawdles past SHUTDOWN_TIMEOUT.
func TestDrainClosesDawdlersAndSucceeds(t *testing.T) {
	// Bounds far from one another, so that a busy machine cannot blur them: "at once" is well
	// before SHUTDOWN_TIMEOUT, and the end of the stop well before BODY_TIMEOUT.
	s := serve(t, service.Common{BodyTimeout: time.Minute, ShutdownTimeout: 2 * time.Second})

	idle := s.dial(t)
	_, err := io.WriteString(idle, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	br := bufio.NewReader(idle)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()

	dawdler := s.dial(t)
	_, err = io.WriteString(dawdler, slowHeaders+"Authorization: Bearer tok\r\n\r\n{")
	require.NoError(t, err)
	time.Sleep(50 * time.Millisecond) // the request is in its handler

	start := time.Now()
	s.cancel()
	_ = idle.SetReadDeadline(time.Now().Add(time.Second))
	_, err = br.ReadByte()
	assert.ErrorIs(t, err, io.EOF, "the idle keep-alive connection is closed at once")
	assert.Less(t, time.Since(start), 1500*time.Millisecond, "before SHUTDOWN_TIMEOUT")

	select {
	case err := <-s.done:
		assert.NoError(t, err, "a dawdling client does not make the stop fail")
		s.done <- nil
	case <-time.After(20 * time.Second):
		t.Fatal("Serve did not return after SHUTDOWN_TIMEOUT")
	}
	assert.Less(t, time.Since(start), 20*time.Second, "long before BODY_TIMEOUT")
	_ = dawdler.SetReadDeadline(time.Now().Add(time.Second))
	_, err = io.ReadAll(dawdler)
	assert.NoError(t, err, "the dawdler's connection is closed")
}

// At most MAX_CONNECTIONS connections are served at once; the next waits for one to close.
func TestConnectionBound(t *testing.T) {
	s := serve(t, service.Common{MaxConnections: 2, ShutdownTimeout: time.Second})
	a, b := s.dial(t), s.dial(t)
	for _, c := range []net.Conn{a, b} {
		_, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		require.NoError(t, err)
		resp, _, err := answer(t, c, time.Second)
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
	}
	third := s.dial(t)
	_, err := io.WriteString(third, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	_ = third.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	_, err = third.Read(make([]byte, 1))
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	assert.True(t, ne.Timeout(), "a third connection is not served while two are open")

	_ = a.Close()
	resp, _, err := answer(t, third, 2*time.Second)
	require.NoError(t, err, "served once a connection closes")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

// net/http's own answers to requests it cannot read are JSON like every other answer.
func TestMalformedRequestsAnswerJSON(t *testing.T) {
	s := serve(t, service.Common{ShutdownTimeout: time.Second})
	for _, tc := range []struct {
		name, req string
		want      int
	}{
		{"no Host", "GET /healthz HTTP/1.1\r\n\r\n", 400},
		{"bad request line", "GARBAGE\r\n\r\n", 400},
		{"headers too large", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("b", 1<<20+4096) + "\r\n\r\n", 431},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := s.dial(t)
			go func() { _, _ = io.WriteString(c, tc.req) }()
			resp, body, err := answer(t, c, 3*time.Second)
			require.NoError(t, err)
			assert.Equal(t, tc.want, resp.StatusCode)
			assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			var e web.ErrorBody
			require.NoError(t, json.Unmarshal([]byte(body), &e), body)
			assert.Equal(t, strings.ToLower(http.StatusText(tc.want)), e.Error)
			assert.NotEmpty(t, e.Detail)
		})
	}
}

func TestHeadOnGetRoutes(t *testing.T) {
	srv := newRouter(t, "tok", readyNow())
	for _, tc := range []struct {
		path, bearer string
		want         int
	}{
		{"/healthz", "", 200}, {"/readyz", "", 200}, {"/metrics", "", 200},
		{"/thing", "tok", 200}, {"/thing", "", 401}, {"/echo", "tok", 405},
	} {
		resp, body := get(t, http.MethodHead, srv.URL+tc.path, tc.bearer, nil)
		assert.Equal(t, tc.want, resp.StatusCode, tc.path)
		assert.Empty(t, body, "HEAD answers no body")
	}
}

// A 404 or a 405 repeats a bounded part of the path, however long the path is.
func TestLongPathIsNotEchoed(t *testing.T) {
	srv := newRouter(t, "", readyNow())
	long := "/" + strings.Repeat("p", 100_000)
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		resp, body := get(t, method, srv.URL+long, "", nil)
		assert.Equal(t, http.StatusNotFound, resp.StatusCode)
		assert.Less(t, len(body), 1024, "%s: %d bytes", method, len(body))
		assert.True(t, strings.Contains(body, fmt.Sprintf("(%d bytes)", len(long))), "says how long the path was")
	}
}

func readyNow() *service.Readiness {
	r := &service.Readiness{}
	r.Set(true)
	return r
}
