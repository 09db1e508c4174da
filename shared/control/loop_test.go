package control_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/shared/control"
)

func TestLoopStartStop(t *testing.T) {
	var runs, drained atomic.Int32
	var gauge atomic.Bool
	l := control.New(context.Background(), "probe", func(ctx context.Context) {
		runs.Add(1)
		<-ctx.Done()
		drained.Add(1)
	}, func(r bool) { gauge.Store(r) })

	assert.True(t, l.Start())
	assert.False(t, l.Start(), "second start: already running")
	running, _ := l.Running()
	assert.True(t, running)
	assert.True(t, gauge.Load())
	assert.True(t, l.Stop())
	assert.EqualValues(t, 1, drained.Load(), "Stop waits for the run to return")
	assert.False(t, l.Stop())
	assert.False(t, gauge.Load())
	assert.True(t, l.Start())
	assert.True(t, l.Stop())
	assert.EqualValues(t, 2, runs.Load())
}

// While a stop drains work under way, Running answers at once (still running), and a Start
// waits for the stop to end and then starts a new run.
func TestStopDrainsWithoutBlockingRunning(t *testing.T) {
	release, canceled := make(chan struct{}), make(chan struct{})
	var runs atomic.Int32
	l := control.New(context.Background(), "upgrades", func(ctx context.Context) {
		<-ctx.Done()
		if runs.Add(1) == 1 {
			close(canceled)
			<-release // an upgrade under way finishes before the run returns
		}
	}, nil)
	require.True(t, l.Start())
	stopped := make(chan bool)
	go func() { stopped <- l.Stop() }()
	<-canceled
	running := make(chan bool)
	go func() { r, _ := l.Running(); running <- r }()
	select {
	case r := <-running:
		assert.True(t, r, "still running while it drains")
	case <-time.After(5 * time.Second):
		t.Fatal("Running blocked behind a stop under way")
	}
	started := make(chan bool)
	go func() { started <- l.Start() }()
	select {
	case <-stopped:
		t.Fatal("Stop returned before the run drained")
	case <-started:
		t.Fatal("Start went ahead of a stop under way")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	assert.True(t, <-stopped)
	assert.True(t, <-started, "the start after the stop starts a new run")
	assert.True(t, l.Stop())
	assert.EqualValues(t, 2, runs.Load())
}

func TestHandlersAreIdempotent(t *testing.T) {
	l := control.New(context.Background(), "reaper", func(ctx context.Context) { <-ctx.Done() }, nil)
	start, stop := control.StartHandler(l), control.StopHandler(l)
	for _, want := range []control.State{
		{Loop: "reaper", Running: true, Changed: true, Message: "started"},
		{Loop: "reaper", Running: true, Changed: false, Message: "already running"},
	} {
		rec := httptest.NewRecorder()
		start.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/start", nil))
		require.Equal(t, 200, rec.Code)
		var got control.State
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
		assert.Equal(t, want, got)
	}
	for _, want := range []string{"stopped", "already stopped"} {
		rec := httptest.NewRecorder()
		stop.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/stop", nil))
		var got control.State
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
		assert.Equal(t, want, got.Message)
	}
}
