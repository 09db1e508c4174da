package httpdriver_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/shared/chaos"
	"chaossuite.dev/shared/chaos/httpdriver"
)

func TestDiscovery(t *testing.T) {
	d := httpdriver.Discovery{Targets: []string{"http://127.0.0.1:1/", "http://127.0.0.1:2"}}
	require.NoError(t, d.Validate())
	got, err := d.Addresses(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []string{"http://127.0.0.1:1", "http://127.0.0.1:2"}, got)

	d = httpdriver.Discovery{DNS: "localhost:8000"}
	require.NoError(t, d.Validate())
	got, err = d.Addresses(context.Background())
	require.NoError(t, err)
	assert.Contains(t, got, "http://127.0.0.1:8000")

	for _, bad := range []httpdriver.Discovery{{}, {Targets: []string{"ftp://x"}}, {Targets: []string{"nohost"}}, {DNS: "nohostport"}} {
		assert.Error(t, bad.Validate(), "%+v", bad)
	}
}

func TestKillerOverHTTP(t *testing.T) {
	var halted []string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/readyz":
			w.WriteHeader(http.StatusOK)
		case "/admin/halt":
			if r.Header.Get("Authorization") != "Bearer tok" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			halted = append(halted, r.Method)
			w.WriteHeader(http.StatusAccepted)
		}
	}))
	defer up.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer down.Close()

	k := &httpdriver.Killer{
		Discovery: httpdriver.Discovery{Targets: []string{up.URL, down.URL}},
		Client:    &httpdriver.Client{Token: "tok"},
	}
	nodes, err := k.Nodes(context.Background())
	require.NoError(t, err)
	require.Len(t, nodes, 2)
	assert.True(t, nodes[0].Ready != nodes[1].Ready)
	assert.False(t, k.Supports(chaos.Pause))
	assert.False(t, k.Supports(chaos.Partition))

	var upNode chaos.Node
	for _, n := range nodes {
		if n.Ready {
			upNode = n
		}
	}
	require.NoError(t, k.Kill(context.Background(), upNode, chaos.Halt, 0))
	assert.Equal(t, []string{"POST"}, halted)
	assert.Error(t, k.Kill(context.Background(), upNode, chaos.Pause, 0))

	k.Client.Token = "wrong"
	err = k.Kill(context.Background(), upNode, chaos.Stop, 0)
	assert.ErrorContains(t, err, "401")
}
