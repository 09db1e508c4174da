package pinger

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPeerCall(t *testing.T) {
	for _, tc := range []struct {
		name       string
		status     int
		answer     string
		wantStatus int
		wantAnswer string
		wantError  string
	}{
		{"2xx JSON", 200, `{"running":true}`, 200, `{"running":true}`, ""},
		{"4xx JSON passed on", 409, `{"error":"conflict","detail":"halted"}`, 409, `{"error":"conflict","detail":"halted"}`, "reaper answered 409"},
		{"5xx text as a JSON string", 502, "bad gateway\n", 502, `"bad gateway"`, "reaper answered 502"},
		{"2xx not JSON", 200, "ok", 0, "", "reaper: decoding the answer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != "Bearer tok" || r.URL.Path != "/settings" || r.Header.Get("Content-Type") != "application/json" {
					w.WriteHeader(http.StatusTeapot)
					return
				}
				body, _ := io.ReadAll(r.Body)
				if string(body) != `{"interval":"20s"}` {
					w.WriteHeader(http.StatusTeapot)
					return
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.answer)
			}))
			t.Cleanup(srv.Close)
			p := &Peer{Name: "reaper", URL: srv.URL, Token: "tok", Client: srv.Client()}
			st := p.call(context.Background(), http.MethodPut, "/settings", []byte(`{"interval":"20s"}`), 5*time.Second)
			assert.Equal(t, tc.wantStatus, st.Status)
			if tc.wantAnswer != "" {
				assert.JSONEq(t, tc.wantAnswer, string(st.Answer))
			} else {
				assert.Empty(t, st.Answer)
			}
			if tc.wantError == "" {
				assert.Empty(t, st.Error)
			} else {
				assert.Contains(t, st.Error, tc.wantError)
			}
			assert.NotContains(t, st.Error, "tok")
		})
	}
}

func TestPeerUnreachable(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	p := &Peer{Name: "helmsman", URL: dead.URL, Token: "tok", Client: http.DefaultClient}
	st := p.Info(context.Background())
	require.Contains(t, st.Error, "helmsman unreachable")
	assert.Zero(t, st.Status)
	assert.Contains(t, (&Peer{Name: "helmsman"}).Info(context.Background()).Error, "set HELMSMAN_URL")
}
