package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"chaossuite.dev/helmsman/internal/helmsman"
	"chaossuite.dev/shared/chaos"
	"chaossuite.dev/shared/proctest"
)

const token = "integration-token"

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fleet is real receiver processes on loopback.
type fleet struct {
	t     *testing.T
	bin   string
	procs []*proctest.Proc
}

func startFleet(t *testing.T, n int, version string) *fleet {
	t.Helper()
	f := &fleet{t: t, bin: proctest.Build(t, "chaossuite.dev/receiver/cmd/receiver")}
	for i := range n {
		f.procs = append(f.procs, proctest.Start(t, f.bin, f.env(i, version)...))
	}
	return f
}

func (f *fleet) env(i int, version string) []string {
	return []string{"AUTH_TOKEN=" + token, "RECEIVER_VERSION=" + version, "NODE_NAME=node-" + string(rune('1'+i))}
}

func (f *fleet) targets() string {
	urls := make([]string, len(f.procs))
	for i, p := range f.procs {
		urls[i] = p.URL
	}
	return strings.Join(urls, ",")
}

// restart starts replica i again on its address, as a platform would, at version.
func (f *fleet) restart(i int, version string) {
	f.t.Helper()
	p := proctest.StartAt(f.t, f.bin, f.procs[i].Addr, f.env(i, version)...)
	require.NoError(f.t, p.WaitReady(10*time.Second), p.Output())
	f.procs[i] = p
}

// config reads replica i's configuration straight from it.
func (f *fleet) config(i int) chaos.ReceiverConfig {
	f.t.Helper()
	resp, err := f.get(i, "/admin/config")
	require.NoError(f.t, err)
	defer resp.Body.Close()
	var cfg chaos.ReceiverConfig
	require.NoError(f.t, json.NewDecoder(resp.Body).Decode(&cfg))
	return cfg
}

// served is the version replica i serves on GET /.
func (f *fleet) served(i int) string {
	f.t.Helper()
	resp, err := f.get(i, "/")
	require.NoError(f.t, err)
	_ = resp.Body.Close()
	return resp.Header.Get("X-Receiver-Version")
}

func (f *fleet) get(i int, path string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, f.procs[i].URL+path, nil)
	require.NoError(f.t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	return http.DefaultClient.Do(req)
}

// helm is a helmsman run in-process.
type helm struct {
	t      *testing.T
	base   string
	cancel context.CancelFunc
	done   chan error
	logs   *syncBuffer
}

func startHelm(t *testing.T, env map[string]string) *helm {
	t.Helper()
	addr := proctest.FreeAddr(t)
	full := map[string]string{"LISTEN_ADDR": addr, "AUTH_TOKEN": token, "LOG_FORMAT": "text", "LOG_LEVEL": "info"}
	for k, v := range env {
		full[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &helm{t: t, base: "http://" + addr, cancel: cancel, done: make(chan error, 1), logs: &syncBuffer{}}
	go func() {
		h.done <- run(ctx, []string{"helmsman"}, func(k string) string { return full[k] }, io.Discard, h.logs)
	}()
	t.Cleanup(func() {
		h.stop()
		if t.Failed() {
			t.Logf("helmsman logs:\n%s", h.logs.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(h.base + "/readyz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return h
			}
		}
		require.True(t, time.Now().Before(deadline), "helmsman did not become ready: %v\n%s", err, h.logs.String())
		time.Sleep(10 * time.Millisecond)
	}
}

func (h *helm) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.done:
		require.NoError(h.t, err)
	case <-time.After(60 * time.Second):
		h.t.Fatal("helmsman did not stop")
	}
}

func (h *helm) call(method, path string) (*http.Response, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.base+path, nil)
	require.NoError(h.t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

func (h *helm) info() helmsman.Info {
	h.t.Helper()
	_, body := h.call(http.MethodGet, "/info")
	var info helmsman.Info
	require.NoError(h.t, json.Unmarshal(body, &info), string(body))
	return info
}

// await polls /info until cond holds, and returns the Info that satisfied it.
func (h *helm) await(timeout time.Duration, what string, cond func(helmsman.Info) bool) helmsman.Info {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		info := h.info()
		if cond(info) {
			return info
		}
		if time.Now().After(deadline) {
			js, _ := json.MarshalIndent(info, "", "  ")
			h.t.Fatalf("%s: not within %s; last /info:\n%s", what, timeout, js)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// awaitRounds waits until the status watch has looked at the replicas n more times, as the
// latest last_seen of a ready replica moving on shows.
func (h *helm) awaitRounds(n int) {
	h.t.Helper()
	last := latestSeen(h.info())
	for range n {
		info := h.await(10*time.Second, "another status round", func(i helmsman.Info) bool { return latestSeen(i).After(last) })
		last = latestSeen(info)
	}
}

func latestSeen(i helmsman.Info) time.Time {
	var t time.Time
	for _, r := range i.Replicas {
		if r.LastSeen != nil && r.LastSeen.After(t) {
			t = *r.LastSeen
		}
	}
	return t
}

func (h *helm) metrics() string {
	h.t.Helper()
	resp, err := http.Get(h.base + "/metrics")
	require.NoError(h.t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func converged(version string, n int) func(helmsman.Info) bool {
	return func(info helmsman.Info) bool {
		if info.Status != helmsman.Running || info.DesiredVersion != version || len(info.Replicas) != n {
			return false
		}
		for _, r := range info.Replicas {
			if r.State != helmsman.StateReady || r.Version != version {
				return false
			}
		}
		return true
	}
}

func replicaByAddr(info helmsman.Info, addr string) *helmsman.ReplicaInfo {
	for i := range info.Replicas {
		if info.Replicas[i].Name == addr {
			return &info.Replicas[i]
		}
	}
	return nil
}
