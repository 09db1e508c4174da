// Package proctest runs the suite's real binaries inside tests: build once, start on a free
// loopback port, wait until ready, and collect the exit status.
package proctest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Build compiles the package pkg (such as chaossuite.dev/receiver/cmd/receiver) into a
// temporary directory and returns the binary's path.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// FreeAddr returns a loopback host:port nothing listens on now.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// Proc is a started binary.
type Proc struct {
	Addr string // host:port it listens on
	URL  string // http://Addr
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error
}

// Start runs bin with env (KEY=VALUE, on top of a minimal environment) and LISTEN_ADDR set to
// a free loopback port, waits until its /healthz answers, and stops it at the test's end.
func Start(t testing.TB, bin string, env ...string) *Proc {
	t.Helper()
	addr := FreeAddr(t)
	p := StartAt(t, bin, addr, env...)
	if err := p.WaitHealthy(10 * time.Second); err != nil {
		t.Fatalf("%s did not come up: %v\n%s", filepath.Base(bin), err, p.Output())
	}
	return p
}

// StartAt is Start on a given address, without waiting.
func StartAt(t testing.TB, bin, addr string, env ...string) *Proc {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "LISTEN_ADDR=" + addr, "LOG_FORMAT=text"}, env...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	p := &Proc{Addr: addr, URL: "http://" + addr, cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.Signal(syscall.SIGCONT)
		_ = p.Signal(syscall.SIGKILL)
		<-p.done
		if t.Failed() {
			t.Logf("output of %s on %s:\n%s", filepath.Base(bin), addr, p.Output())
		}
	})
	return p
}

// WaitHealthy polls /healthz until it answers 200 or timeout passes.
func (p *Proc) WaitHealthy(timeout time.Duration) error {
	return p.WaitPath("/healthz", timeout)
}

// WaitReady polls /readyz until it answers 200 or timeout passes.
func (p *Proc) WaitReady(timeout time.Duration) error {
	return p.WaitPath("/readyz", timeout)
}

// WaitPath polls path until it answers 200 or timeout passes.
func (p *Proc) WaitPath(path string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-p.done:
			return fmt.Errorf("exited: %v", p.err)
		default:
		}
		resp, err := client.Get(p.URL + path)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not 200 after %s (last error %v)", path, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Signal sends sig to the process.
func (p *Proc) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait waits up to timeout for the process to end and returns its exit status, or an error
// if it is still running.
func (p *Proc) Wait(timeout time.Duration) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	select {
	case <-p.done:
	case <-ctx.Done():
		return 0, fmt.Errorf("still running after %s", timeout)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return ee.ExitCode(), nil
	}
	if p.err != nil {
		return 0, p.err
	}
	return 0, nil
}

// Output returns what the process has printed so far.
func (p *Proc) Output() string { return p.out.String() }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(b)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
