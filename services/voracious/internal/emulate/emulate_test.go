package emulate

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/shared/service"
	"chaossuite.dev/voracious/internal/servo"
	"chaossuite.dev/voracious/internal/voracious"
)

func newVoracious(t *testing.T) (*httptest.Server, *servo.Store) {
	t.Helper()
	store := servo.NewStore(servo.Options{})
	adjust, err := voracious.LoadAdjustPayload("")
	require.NoError(t, err)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	d := &voracious.Deps{Store: store, Logger: log, Commands: voracious.NewCommands(adjust), StartedAt: time.Now()}
	h := service.NewRouter(service.Deps{Name: "voracious", Logger: log, Registry: prometheus.NewRegistry()}, voracious.Routes(d))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, store
}

// TestEmulateEvenAndClean runs 200 servos against an in-process voracious for a few seconds:
// no error, and every app made the same number of cycles, as the backend counts them too.
func TestEmulateEvenAndClean(t *testing.T) {
	srv, store := newVoracious(t)
	var stdout, stderr bytes.Buffer
	// Bounded by count, so that a busy machine changes how long it takes, not what it checks;
	// the duration only bounds it.
	args := []string{"--url", srv.URL, "--apps", "200", "--cycles", "3", "--duration", "2m", "--progress-steps", "2",
		"--concurrency", "16", "--report-every", "10ms"}
	require.NoError(t, Main(context.Background(), args, &stdout, &stderr), stderr.String()+stdout.String())

	st := store.Stats()
	require.Equal(t, 200, st.N)
	require.NotNil(t, st.Average)
	assert.Equal(t, uint64(3), *st.Min, "every app completed its 3 cycles, by the backend's count")
	assert.Equal(t, uint64(3), *st.Max, "and no app more: the apps take turns")
	assert.Contains(t, stdout.String(), "errors   0")
	assert.Contains(t, stdout.String(), "backend statistics (GET /): n 200, min 3, average 3.00, max 3")
	assert.Contains(t, stderr.String(), "requests", "a progress line while running")

	// A second run against the same backend resumes apps left mid-cycle.
	stdout.Reset()
	args[5] = "1"
	require.NoError(t, Main(context.Background(), args, &stdout, &stderr), stdout.String())
	st = store.Stats()
	assert.Equal(t, uint64(4), *st.Min, "one more cycle each")
}

func TestEmulateCountsErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"detail":"no"}`, http.StatusBadRequest)
	}))
	t.Cleanup(srv.Close)
	var stdout, stderr bytes.Buffer
	err := Main(context.Background(), []string{"--url", srv.URL, "--apps", "3", "--duration", "200ms", "--concurrency", "2"}, &stdout, &stderr)
	var ee *service.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 1, ee.Code)
	assert.Contains(t, stdout.String(), "first error")
}

func TestParseRejects(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--url", "localhost:8080"},
		{"--url", "http://x", "--apps", "0"},
		{"--url", "http://x", "--duration", "0s"},
		{"--url", "http://x", "--progress-steps", "-1"},
		{"--url", "http://x", "--concurrency", "0"},
		{"--url", "http://x", "--app-format", "app"},
		{"--url", "http://x", "extra"},
		{"--nope"},
	} {
		_, err := Parse(args, io.Discard)
		var ue *service.UsageError
		assert.ErrorAs(t, err, &ue, strings.Join(args, " "))
	}
	o, err := Parse([]string{"--url", "http://127.0.0.1:1/"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:1", o.URL)
	assert.Equal(t, 5000, o.Apps)
}

func TestSchedulerFinishesTheRound(t *testing.T) {
	s := &scheduler{n: 5}
	counts := make([]int, 5)
	for range 7 {
		i, ok := s.take()
		require.True(t, ok)
		counts[i]++
	}
	s.stop()
	for {
		i, ok := s.take()
		if !ok {
			break
		}
		counts[i]++
	}
	assert.Equal(t, []int{2, 2, 2, 2, 2}, counts)
}
