package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/shared/proctest"
)

const token = "integration-token"

// TestKillThroughReceiver starts three real receivers and a real nodekiller on loopback: a
// kill request sent to a receiver reaches the nodekiller, which makes a receiver process exit.
func TestKillThroughReceiver(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real binaries")
	}
	receiverBin := proctest.Build(t, "chaossuite.dev/receiver/cmd/receiver")
	nodekillerBin := proctest.Build(t, "chaossuite.dev/nodekiller/cmd/nodekiller")

	nkAddr := proctest.FreeAddr(t)
	var receivers []*proctest.Proc
	var targets []string
	for i := range 3 {
		r := proctest.Start(t, receiverBin, "AUTH_TOKEN="+token, "NODEKILLER_URL=http://"+nkAddr,
			"NODE_NAME=node-"+string(rune('1'+i)))
		receivers = append(receivers, r)
		targets = append(targets, r.URL)
	}
	nk := proctest.StartAt(t, nodekillerBin, nkAddr, "AUTH_TOKEN="+token, "TARGETS="+strings.Join(targets, ","),
		"KILL_POLICY=round-robin", "MIN_AVAILABLE=1")
	require.NoError(t, nk.WaitReady(10*time.Second), nk.Output())

	for _, tc := range []struct {
		method   string
		wantExit int
	}{{"halt", 137}, {"stop", 0}} {
		t.Run(tc.method, func(t *testing.T) {
			// Round-robin goes through the nodes in name order; ask through the last one so that
			// the receiver carrying the request is not the victim and its answer comes back whole.
			var via *proctest.Proc
			alive := 0
			for _, r := range receivers {
				if !r.Exited() {
					alive++
					if via == nil || r.Addr > via.Addr {
						via = r
					}
				}
			}
			require.GreaterOrEqual(t, alive, 2)
			code, out, err := proctest.TryCall(http.MethodPost, via.URL+"/", token, `{"kill_node":"`+tc.method+`"}`)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, code, out)
			kill := out["kill"].(map[string]any)
			victim := kill["victim"].(string)
			assert.Equal(t, "http", kill["driver"])
			assert.Equal(t, tc.method, kill["method"])

			var dead *proctest.Proc
			for _, r := range receivers {
				if r.Addr == victim {
					dead = r
				}
			}
			require.NotNil(t, dead, "victim %s is one of the receivers", victim)
			status, err := dead.Wait(15 * time.Second)
			require.NoError(t, err, "the victim process exits")
			assert.Equal(t, tc.wantExit, status)
		})
	}

	// One receiver is left; MIN_AVAILABLE=1 refuses the next kill, and nothing dies.
	var last *proctest.Proc
	for _, r := range receivers {
		if !r.Exited() {
			last = r
		}
	}
	require.NotNil(t, last)
	code, out, err := proctest.TryCall(http.MethodPost, last.URL+"/", token, `{"kill_node":"halt"}`)
	require.NoError(t, err)
	assert.Equal(t, http.StatusConflict, code, out)
	assert.False(t, last.Exited())

	// /info shows the kills.
	req, _ := http.NewRequest(http.MethodGet, nk.URL+"/info", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var info struct {
		Driver string `json:"driver"`
		Kills  []struct {
			Victim, Method, Result string
		} `json:"kills"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&info))
	assert.Equal(t, "http", info.Driver)
	require.Len(t, info.Kills, 3)
	assert.Equal(t, "rejected", info.Kills[0].Result)
	assert.Equal(t, "stop", info.Kills[1].Method)
	assert.Equal(t, "halt", info.Kills[2].Method)
}

// TestStopDrainsHaltDoesNot holds a request in flight on a real receiver (its kill forward
// waits on a slow nodekiller) while /admin/halt arrives: stop answers it first and exits 0,
// halt drops it and exits 137.
func TestStopDrainsHaltDoesNot(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real binaries")
	}
	receiverBin := proctest.Build(t, "chaossuite.dev/receiver/cmd/receiver")
	for _, tc := range []struct {
		method     string
		wantExit   int
		wantAnswer bool
	}{{"stop", 0, true}, {"halt", 137, false}} {
		t.Run(tc.method, func(t *testing.T) {
			// The nodekiller answers the forwarded kill only once the halt has been taken.
			arrived, release := make(chan struct{}, 1), make(chan struct{})
			slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				select {
				case arrived <- struct{}{}:
				default:
				}
				select {
				case <-release:
				case <-r.Context().Done():
					return
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, `{"victim":"elsewhere","method":"stop","driver":"http","at":"2026-01-01T00:00:00Z"}`)
			}))
			t.Cleanup(slow.Close)
			released := sync.OnceFunc(func() { close(release) })
			t.Cleanup(released)
			r := proctest.Start(t, receiverBin, "AUTH_TOKEN="+token, "NODEKILLER_URL="+slow.URL)
			var wg sync.WaitGroup
			var code int
			var reqErr error
			wg.Go(func() {
				code, _, reqErr = proctest.TryCall(http.MethodPost, r.URL+"/", token, `{"kill_node":"stop"}`)
			})
			select { // the request is in flight: its kill reached the nodekiller
			case <-arrived:
			case <-time.After(10 * time.Second):
				t.Fatal("the kill was not forwarded")
			}
			hc, _, err := proctest.TryCall(http.MethodPost, r.URL+"/admin/halt", token, `{"method":"`+tc.method+`"}`)
			require.NoError(t, err)
			assert.Equal(t, http.StatusAccepted, hc)
			if tc.wantAnswer {
				released() // a drain waits for it; a halt drops it, answered or not
			}
			wg.Wait()
			if tc.wantAnswer {
				require.NoError(t, reqErr, "the in-flight request gets its answer")
				assert.Equal(t, http.StatusOK, code)
			} else {
				assert.Error(t, reqErr, "the in-flight request is dropped")
			}
			status, err := r.Wait(10 * time.Second)
			require.NoError(t, err)
			assert.Equal(t, tc.wantExit, status)
		})
	}
}

// TestHTTPDriverNeverCountsItself: with its own address in TARGETS (as localhost, not as the
// address it was started on) and MIN_AVAILABLE=1, the nodekiller kills one of two receivers
// and refuses the second kill: it never counts itself as a serving node, nor lists itself.
func TestHTTPDriverNeverCountsItself(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real binaries")
	}
	receiverBin := proctest.Build(t, "chaossuite.dev/receiver/cmd/receiver")
	nodekillerBin := proctest.Build(t, "chaossuite.dev/nodekiller/cmd/nodekiller")
	r1 := proctest.Start(t, receiverBin, "AUTH_TOKEN="+token)
	r2 := proctest.Start(t, receiverBin, "AUTH_TOKEN="+token)
	nkAddr := proctest.FreeAddr(t)
	_, port, _ := strings.Cut(nkAddr, ":")
	nk := proctest.StartAt(t, nodekillerBin, nkAddr, "AUTH_TOKEN="+token, "MIN_AVAILABLE=1",
		"TARGETS=http://localhost:"+port+","+r1.URL+","+r2.URL)
	require.NoError(t, nk.WaitReady(10*time.Second), nk.Output())

	code, out := proctest.Call(t, http.MethodPost, nk.URL+"/kill", token, `{"method":"halt"}`)
	require.Equal(t, http.StatusOK, code, out)
	victim := out["victim"].(string)
	assert.Contains(t, []string{r1.Addr, r2.Addr}, victim)
	require.Eventually(t, func() bool { return r1.Exited() || r2.Exited() }, 10*time.Second, 20*time.Millisecond)

	code, out = proctest.Call(t, http.MethodPost, nk.URL+"/kill", token, `{"method":"halt"}`)
	assert.Equal(t, http.StatusConflict, code, out)
	assert.False(t, r1.Exited() && r2.Exited(), "one receiver still serves")

	_, info := proctest.Call(t, http.MethodGet, nk.URL+"/info", token, "")
	for _, n := range info["nodes"].([]any) {
		assert.NotContains(t, n.(map[string]any)["name"], ":"+port, "the nodekiller is not a node")
	}
}
