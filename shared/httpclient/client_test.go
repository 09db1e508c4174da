package httpclient_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/shared/httpclient"
)

func TestDoStopsAtMaxAttempts(t *testing.T) {
	p := httpclient.Policy{MaxAttempts: 3, Base: time.Millisecond, Max: 2 * time.Millisecond}
	var seen []int
	err := httpclient.Do(context.Background(), p, func(_ context.Context, n int) error {
		seen = append(seen, n)
		return httpclient.Retryable(errors.New("again"))
	})
	assert.Error(t, err)
	assert.Equal(t, []int{1, 2, 3}, seen)

	seen = nil
	err = httpclient.Do(context.Background(), p, func(_ context.Context, n int) error {
		seen = append(seen, n)
		return errors.New("final")
	})
	assert.EqualError(t, err, "final")
	assert.Equal(t, []int{1}, seen, "a non-retryable error ends the loop")
}

func TestErrorKind(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	_ = ln.Close()
	_, err = http.Get("http://" + addr)
	assert.Equal(t, "refused", httpclient.ErrorKind(err))

	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer slow.Close()
	c := &http.Client{Timeout: 20 * time.Millisecond}
	_, err = c.Get(slow.URL)
	assert.Equal(t, "timeout", httpclient.ErrorKind(err))

	hijack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, _ := w.(http.Hijacker).Hijack()
		_ = conn.Close()
	}))
	defer hijack.Close()
	_, err = http.Get(hijack.URL)
	assert.Equal(t, "reset", httpclient.ErrorKind(err))
	assert.Equal(t, "other", httpclient.ErrorKind(errors.New("x")))
	assert.True(t, httpclient.RetryableStatus(503))
	assert.False(t, httpclient.RetryableStatus(500))
}
