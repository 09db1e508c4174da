package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/shared/proctest"
)

// TestReaperKillsRealNodes runs the reaper in-process against three real receivers and a real
// nodekiller on loopback: its kills reach the nodekiller through a receiver (KILL_VIA=receiver)
// or straight (KILL_VIA=nodekiller), and receiver processes die by the methods in turn.
func TestReaperKillsRealNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real binaries")
	}
	receiverBin := proctest.Build(t, "chaossuite.dev/receiver/cmd/receiver")
	nodekillerBin := proctest.Build(t, "chaossuite.dev/nodekiller/cmd/nodekiller")
	for _, via := range []string{"receiver", "nodekiller"} {
		t.Run(via, func(t *testing.T) { killRealNodes(t, via, receiverBin, nodekillerBin) })
	}
}

func killRealNodes(t *testing.T, via, receiverBin, nodekillerBin string) {
	const tok = "integration-token"
	nkAddr := proctest.FreeAddr(t)
	var receivers []*proctest.Proc
	var targets []string
	for range 3 {
		r := proctest.Start(t, receiverBin, "AUTH_TOKEN="+tok, "NODEKILLER_URL=http://"+nkAddr)
		receivers = append(receivers, r)
		targets = append(targets, r.URL)
	}
	// The reaper speaks to the first receiver (or to the nodekiller); the nodekiller only kills
	// the other two.
	nk := proctest.StartAt(t, nodekillerBin, nkAddr, "AUTH_TOKEN="+tok, "TARGETS="+strings.Join(targets[1:], ","),
		"KILL_POLICY=round-robin", "MIN_AVAILABLE=0")
	require.NoError(t, nk.WaitReady(10*time.Second), nk.Output())

	addr := proctest.FreeAddr(t)
	env := map[string]string{"LISTEN_ADDR": addr, "KILL_VIA": via, "RECEIVER_URL": receivers[0].URL + "/",
		"NODEKILLER_URL": "http://" + nkAddr, "KILL_INTERVAL": "300ms",
		"KILL_JITTER": "0s", "KILL_METHODS": "halt,stop", "AUTOSTART": "true", "AUTH_TOKEN": tok}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"reaper"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	}()
	t.Cleanup(func() { cancel(); <-done })

	exits := map[string]int{}
	for _, r := range receivers[1:] {
		status, err := r.Wait(20 * time.Second)
		require.NoError(t, err, "receiver %s is killed", r.Addr)
		exits[r.Addr] = status
	}
	assert.False(t, receivers[0].Exited())

	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/info", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var info struct {
		Via         string                                    `json:"via"`
		LastResults []struct{ Method, Result, Victim string } `json:"last_results"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&info))
	assert.Equal(t, via, info.Via)
	require.GreaterOrEqual(t, len(info.LastResults), 2)
	first, second := info.LastResults[len(info.LastResults)-1], info.LastResults[len(info.LastResults)-2]
	assert.Equal(t, "halt", first.Method)
	assert.Equal(t, "ok", first.Result)
	assert.Equal(t, "stop", second.Method)
	assert.Equal(t, "ok", second.Result)
	require.Contains(t, exits, first.Victim)
	require.Contains(t, exits, second.Victim)
	assert.Equal(t, 137, exits[first.Victim], "the first kill halts its victim")
	assert.Equal(t, 0, exits[second.Victim], "the second stops its victim gracefully")

	// Only through the receiver does the first receiver relay kills.
	mresp, err := http.Get(receivers[0].URL + "/metrics")
	require.NoError(t, err)
	defer mresp.Body.Close()
	metrics, _ := io.ReadAll(mresp.Body)
	relayed := !strings.Contains(string(metrics), `receiver_kill_requests_total{method="halt",result="ok"} 0`)
	assert.Equal(t, via == "receiver", relayed, "kills relayed by the receiver")
}
