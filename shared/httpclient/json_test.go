package httpclient_test

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
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/shared/httpclient"
)

const secret = "s3cret-token"

// answering is a transport that answers every request with status and body, and keeps the
// request it saw.
type answering struct {
	status int
	body   []byte
	seen   *http.Request
	sent   []byte
}

func (a *answering) RoundTrip(r *http.Request) (*http.Response, error) {
	a.seen = r
	if r.Body != nil {
		a.sent, _ = io.ReadAll(r.Body)
	}
	return &http.Response{StatusCode: a.status, Body: io.NopCloser(bytes.NewReader(a.body)), Header: http.Header{}, Request: r}, nil
}

func TestDoJSON(t *testing.T) {
	type answer struct {
		Victim string `json:"victim"`
	}
	for _, tc := range []struct {
		name       string
		status     int
		body       string
		in         any
		limit      int64
		want       answer
		wantStatus int    // a *StatusError with this status
		errHas     string // for any other error
	}{
		{name: "2xx decoded", status: 200, body: `{"victim":"receiver-2"}`, in: map[string]string{"method": "stop"}, want: answer{Victim: "receiver-2"}},
		{name: "no body sent", status: 200, body: `{"victim":"a"}`, want: answer{Victim: "a"}},
		{name: "4xx with the error shape", status: 409, body: `{"error":"conflict","detail":"no eligible victim"}`, wantStatus: 409, errHas: "answered 409: no eligible victim"},
		{name: "5xx plain text", status: 502, body: "bad gateway\n", wantStatus: 502, errHas: "answered 502: bad gateway"},
		{name: "2xx not JSON", status: 200, body: "ok", errHas: "decoding the answer"},
		{name: "2xx over the limit", status: 200, body: `{"victim":"` + strings.Repeat("x", 100) + `"}`, limit: 64, errHas: "over 64 bytes"},
		{name: "4xx over the limit keeps the limit", status: 400, body: strings.Repeat("y", 100), limit: 64, wantStatus: 400, errHas: "answered 400: " + strings.Repeat("y", 64)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := &answering{status: tc.status, body: []byte(tc.body)}
			var got answer
			err := httpclient.DoJSON(context.Background(), &http.Client{Transport: rt}, httpclient.Call{
				Method: http.MethodPost, URL: "http://nodekiller:8001/kill", Token: secret, In: tc.in, Out: &got, Limit: tc.limit,
			})
			require.NotNil(t, rt.seen)
			assert.Equal(t, "Bearer "+secret, rt.seen.Header.Get("Authorization"))
			if tc.in != nil {
				assert.Equal(t, "application/json", rt.seen.Header.Get("Content-Type"))
				want, _ := json.Marshal(tc.in)
				assert.JSONEq(t, string(want), string(rt.sent))
			} else {
				assert.Empty(t, rt.seen.Header.Get("Content-Type"))
				assert.Empty(t, rt.sent)
			}
			if tc.wantStatus == 0 && tc.errHas == "" {
				require.NoError(t, err)
				assert.Equal(t, tc.want, got)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.errHas)
			assert.NotContains(t, err.Error(), secret)
			var se *httpclient.StatusError
			if tc.wantStatus != 0 {
				require.True(t, errors.As(err, &se), "%T", err)
				assert.Equal(t, tc.wantStatus, se.Status)
				limit := tc.limit
				if limit == 0 {
					limit = httpclient.DefaultAnswerLimit
				}
				assert.LessOrEqual(t, int64(len(se.Body)), limit)
			} else {
				assert.False(t, errors.As(err, &se))
			}
		})
	}
}

// An answer that never ends is read up to the limit and no further.
func TestDoJSONBoundsTheRead(t *testing.T) {
	var written int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("z"), 32<<10)
		for r.Context().Err() == nil && written < 64<<20 {
			n, err := w.Write(chunk)
			written += int64(n)
			if err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	err := httpclient.DoJSON(context.Background(), srv.Client(), httpclient.Call{Method: http.MethodGet, URL: srv.URL, Limit: 1 << 10})
	var tl *httpclient.TooLargeError
	require.True(t, errors.As(err, &tl), "%v", err)
	assert.EqualValues(t, 1<<10, tl.Limit)
}

// A transport error names neither the token nor a password in the URL.
func TestDoJSONTransportErrorHidesSecrets(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	err := httpclient.DoJSON(context.Background(), nil, httpclient.Call{
		Method: http.MethodPost, URL: strings.Replace(dead.URL, "http://", "http://user:hunter2@", 1) + "/kill", Token: secret, In: map[string]string{"method": "stop"},
	})
	require.Error(t, err)
	assert.Equal(t, "refused", httpclient.ErrorKind(err))
	assert.NotContains(t, err.Error(), secret)
	assert.NotContains(t, err.Error(), "hunter2")
}

func TestExcerpt(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"detail of the error shape", `{"error":"conflict","detail":"no eligible victim"}`, "no eligible victim"},
		{"error alone", `{"error":"not found"}`, "not found"},
		{"other JSON as it is", `{"victim":"a"}`, `{"victim":"a"}`},
		{"text trimmed", "  bad gateway\n", "bad gateway"},
		{"cut at 200 bytes", strings.Repeat("a", 300), strings.Repeat("a", 200)},
		{"cut on a rune boundary", strings.Repeat("a", 199) + "é" + "b", strings.Repeat("a", 199)},
		{"invalid UTF-8 replaced", "a\xffb", "a\uFFFDb"},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, httpclient.Excerpt([]byte(tc.body)))
		})
	}
}

// FuzzDoJSONAnswer feeds any status and answer to the decoding: it never panics, a non-2xx is
// a *StatusError bounded by the limit, an error is short, valid UTF-8 and never names the token.
func FuzzDoJSONAnswer(f *testing.F) {
	f.Add(200, []byte(`{"victim":"a","method":"stop","at":"2026-01-01T00:00:00Z"}`))
	f.Add(409, []byte(`{"error":"conflict","detail":"no eligible victim"}`))
	f.Add(502, []byte("bad gateway"))
	f.Add(200, []byte(`{"victim":`))
	f.Add(204, []byte(""))
	f.Add(200, []byte(`[1,2,3]`))
	const limit = 256
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 999 {
			return
		}
		var out struct {
			Victim string `json:"victim"`
			Method string `json:"method"`
		}
		rt := &answering{status: status, body: body}
		err := httpclient.DoJSON(context.Background(), &http.Client{Transport: rt}, httpclient.Call{
			Method: http.MethodPost, URL: "http://nodekiller:8001/kill", Token: secret, In: struct{}{}, Out: &out, Limit: limit,
		})
		var se *httpclient.StatusError
		if status/100 != 2 {
			if !errors.As(err, &se) || se.Status != status || len(se.Body) > limit {
				t.Fatalf("status %d: %v", status, err)
			}
		}
		if err != nil {
			msg := err.Error()
			if strings.Contains(msg, secret) || !utf8.ValidString(msg) || len(msg) > 400 {
				t.Fatalf("error %q", msg)
			}
		}
	})
}
