package receiverapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/shared/chaos"
	"chaossuite.dev/shared/httpclient"
	"chaossuite.dev/shared/receiverapi"
)

const secret = "s3cret-token"

// seen is one request the test server took.
type seen struct {
	method, path, auth string
	body               map[string]any
}

func server(t *testing.T, status int, answer string) (*httptest.Server, *[]seen) {
	t.Helper()
	var got []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := seen{method: r.Method, path: r.URL.Path, auth: r.Header.Get("Authorization")}
		_ = json.NewDecoder(r.Body).Decode(&s.body)
		got = append(got, s)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv, &got
}

func TestClientCalls(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		answer   string
		call     func(c *receiverapi.Client, base string) (any, error)
		want     seen
		wantBack any
	}{
		{
			name:   "config",
			answer: `{"version":"beta","message":"Beta Receiver running!","generation":3,"node":"r1"}`,
			call: func(c *receiverapi.Client, base string) (any, error) {
				return c.Config(context.Background(), base)
			},
			want:     seen{method: http.MethodGet, path: "/admin/config"},
			wantBack: receiverapi.Config{Version: "beta", Message: "Beta Receiver running!", Generation: 3, Node: "r1"},
		},
		{
			name:   "set config",
			answer: `{"version":"beta","message":"m","generation":4}`,
			call: func(c *receiverapi.Client, base string) (any, error) {
				return c.SetConfig(context.Background(), base+"/", "beta", "m")
			},
			want:     seen{method: http.MethodPut, path: "/admin/config", body: map[string]any{"version": "beta", "message": "m"}},
			wantBack: receiverapi.Config{Version: "beta", Message: "m", Generation: 4},
		},
		{
			name:   "halt",
			answer: `{"node":"r1","method":"halt","status":"dying"}`,
			call: func(c *receiverapi.Client, base string) (any, error) {
				return nil, c.Halt(context.Background(), base, chaos.Halt)
			},
			want: seen{method: http.MethodPost, path: "/admin/halt", body: map[string]any{"method": "halt"}},
		},
		{
			name:   "kill through the receiver",
			answer: `{"message":"Alpha Receiver running!","version":"alpha","node":"r1","pid":7,"kill":{"victim":"r2","method":"stop","driver":"docker","at":"2026-01-02T03:04:05Z"}}`,
			call: func(c *receiverapi.Client, base string) (any, error) {
				return c.KillNode(context.Background(), base+"/", chaos.Stop)
			},
			want: seen{method: http.MethodPost, path: "/", body: map[string]any{"kill_node": "stop"}},
			wantBack: receiverapi.RootAnswer{Message: "Alpha Receiver running!", Version: "alpha", Node: "r1", PID: 7,
				Kill: &receiverapi.KillAnswer{Victim: "r2", Method: "stop", Driver: "docker", At: at}},
		},
		{
			name:   "kill at the nodekiller",
			answer: `{"victim":"r2","method":"pause","driver":"docker","at":"2026-01-02T03:04:05Z","duration":"5s"}`,
			call: func(c *receiverapi.Client, base string) (any, error) {
				return c.Kill(context.Background(), base, receiverapi.KillRequest{Method: "pause", Duration: "5s"})
			},
			want:     seen{method: http.MethodPost, path: "/kill", body: map[string]any{"method": "pause", "duration": "5s"}},
			wantBack: receiverapi.KillAnswer{Victim: "r2", Method: "pause", Driver: "docker", At: at, Duration: "5s"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, got := server(t, http.StatusOK, tc.answer)
			c := &receiverapi.Client{HTTP: srv.Client(), Token: secret}
			back, err := tc.call(c, srv.URL)
			require.NoError(t, err)
			require.Len(t, *got, 1)
			tc.want.auth = "Bearer " + secret
			assert.Equal(t, tc.want, (*got)[0])
			if tc.wantBack != nil {
				assert.Equal(t, tc.wantBack, back)
			}
		})
	}
}

func TestClientRefusals(t *testing.T) {
	srv, _ := server(t, http.StatusConflict, `{"error":"conflict","detail":"no eligible victim"}`)
	c := &receiverapi.Client{HTTP: srv.Client(), Token: secret}
	_, err := c.Kill(context.Background(), srv.URL, receiverapi.KillRequest{Method: "stop"})
	var se *httpclient.StatusError
	require.True(t, errors.As(err, &se), "%v", err)
	assert.Equal(t, http.StatusConflict, se.Status)
	assert.JSONEq(t, `{"error":"conflict","detail":"no eligible victim"}`, string(se.Body), "the answer as it came, for a relay")
	assert.Equal(t, "answered 409: no eligible victim", err.Error())
	assert.False(t, c.Ready(context.Background(), srv.URL))

	ok, _ := server(t, http.StatusOK, "ok")
	assert.True(t, (&receiverapi.Client{HTTP: ok.Client()}).Ready(context.Background(), ok.URL))
}

func TestClientTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	c := &receiverapi.Client{HTTP: srv.Client(), Token: secret, Timeout: 50 * time.Millisecond}
	_, err := c.KillNode(context.Background(), srv.URL, chaos.Halt)
	require.Error(t, err)
	assert.Equal(t, "timeout", httpclient.ErrorKind(err))
	assert.NotContains(t, err.Error(), secret)
}

type answering struct {
	status int
	body   []byte
}

func (a answering) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: a.status, Body: io.NopCloser(bytes.NewReader(a.body)), Header: http.Header{}, Request: r}, nil
}

// FuzzKillAnswer decodes any nodekiller answer: never a panic, a decoded answer only from a
// 2xx, and an error that never names the token.
func FuzzKillAnswer(f *testing.F) {
	f.Add(200, []byte(`{"victim":"r2","method":"stop","driver":"docker","at":"2026-01-02T03:04:05Z"}`))
	f.Add(200, []byte(`{"victim":"r2","at":"yesterday"}`))
	f.Add(409, []byte(`{"error":"conflict","detail":"no eligible victim"}`))
	f.Add(200, []byte(`{"message":"x","kill":{"victim":1}}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 200 || status > 599 {
			return
		}
		c := &receiverapi.Client{HTTP: &http.Client{Transport: answering{status, body}}, Token: secret}
		a, err := c.Kill(context.Background(), "http://nodekiller:8001", receiverapi.KillRequest{Method: "stop"})
		if err != nil {
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error names the token: %v", err)
			}
			return
		}
		if status/100 != 2 {
			t.Fatalf("status %d decoded as %+v", status, a)
		}
		if _, err := c.KillNode(context.Background(), "http://receiver:8000/", chaos.Stop); err != nil && strings.Contains(err.Error(), secret) {
			t.Fatalf("error names the token: %v", err)
		}
	})
}
