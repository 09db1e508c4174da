package httpdriver_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
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
		case "/admin/config": // a receiver answers it; only a receiver counts as serving
			_, _ = io.WriteString(w, `{"version":"alpha","message":"m","generation":1,"node":"n"}`)
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

// fakeService answers /readyz 200; as a receiver it also answers GET /admin/config.
func fakeService(t *testing.T, receiver bool) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/readyz":
			_, _ = io.WriteString(w, `{"status":"ready"}`)
		case r.URL.Path == "/admin/config" && receiver:
			_, _ = io.WriteString(w, `{"version":"alpha","message":"m","generation":1,"node":"n"}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// The killer never lists itself, whatever address its TARGETS give it by, and counts as
// serving only what answers as a receiver: with MIN_AVAILABLE=1, one receiver beside itself
// and another service is not enough for a kill.
func TestKillerNeverCountsItselfOrOtherServices(t *testing.T) {
	self := fakeService(t, false)
	other := fakeService(t, false)
	receiver := fakeService(t, true)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(self.URL, "http://"))
	for _, selfAs := range []string{":" + port, "0.0.0.0:" + port, "127.0.0.1:" + port, "http://localhost:" + port} {
		for _, listed := range []string{self.URL, "http://localhost:" + port, "http://127.0.0.1:" + port + "/"} {
			k := &httpdriver.Killer{
				Discovery: httpdriver.Discovery{Targets: []string{listed, other.URL, receiver.URL}},
				Client:    &httpdriver.Client{Token: "tok"},
				Self:      selfAs,
			}
			nodes, err := k.Nodes(context.Background())
			require.NoError(t, err)
			require.Len(t, nodes, 2, "self %s listed as %s", selfAs, listed)
			serving := 0
			for _, n := range nodes {
				assert.NotEqual(t, port, strings.Split(n.Name, ":")[1], "never itself")
				if n.Ready {
					serving++
					assert.Equal(t, httpdriver.NodeName(receiver.URL), n.Name)
				}
			}
			assert.Equal(t, 1, serving, "only the receiver serves")
			sel := &chaos.Selector{MinAvailable: 1}
			_, err = sel.Pick(nodes, "")
			assert.ErrorIs(t, err, chaos.ErrNoVictim, "killing the one receiver would break MIN_AVAILABLE")
		}
	}
	// Without Self, the killer's own address is listed but never counted as serving.
	k := &httpdriver.Killer{Discovery: httpdriver.Discovery{Targets: []string{self.URL, receiver.URL}}, Client: &httpdriver.Client{}}
	nodes, err := k.Nodes(context.Background())
	require.NoError(t, err)
	require.Len(t, nodes, 2)
	assert.False(t, nodes[0].Ready && nodes[1].Ready)
	assert.False(t, k.Serving(context.Background(), chaos.Node{Address: self.URL}))
	assert.True(t, k.Serving(context.Background(), chaos.Node{Address: receiver.URL}))
}
