// Package control runs the suite's control loops (the pinger's probes, the reaper's kills, the
// helmsman's upgrades), which POST /start and POST /stop turn on and off.
package control

import (
	"context"
	"net/http"
	"sync"
	"time"

	"chaossuite.dev/shared/web"
)

// Loop is a control loop that can be started and stopped any number of times. Its run function
// goes on until its context is done; Stop cancels it and waits, so that stopping drains what
// is in flight. A Loop is safe for concurrent use.
type Loop struct {
	name   string
	parent context.Context
	run    func(ctx context.Context)

	switching sync.Mutex // serializes Start and Stop; a stop holds it while it drains

	mu        sync.Mutex // guards the fields below; never held while draining
	cancel    context.CancelFunc
	done      chan struct{}
	startedAt time.Time
	onChange  func(running bool)
}

// New returns a stopped loop named name whose runs live at most as long as parent.
// onChange, if not nil, is told each time the loop starts or stops (for a *_running gauge).
func New(parent context.Context, name string, run func(ctx context.Context), onChange func(running bool)) *Loop {
	return &Loop{name: name, parent: parent, run: run, onChange: onChange}
}

// Start starts the loop and reports whether it was stopped before.
func (l *Loop) Start() bool {
	l.switching.Lock()
	defer l.switching.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done != nil {
		return false
	}
	ctx, cancel := context.WithCancel(l.parent)
	done := make(chan struct{})
	l.cancel, l.done, l.startedAt = cancel, done, time.Now()
	go func() {
		defer close(done)
		l.run(ctx)
	}()
	if l.onChange != nil {
		l.onChange(true)
	}
	return true
}

// Stop stops the loop, waits for its run to return, and reports whether it was running.
// Meanwhile Running still says true, without waiting; a Start waits for the stop to end.
func (l *Loop) Stop() bool {
	l.switching.Lock()
	defer l.switching.Unlock()
	l.mu.Lock()
	cancel, done := l.cancel, l.done
	l.mu.Unlock()
	if done == nil {
		return false
	}
	cancel()
	<-done
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cancel, l.done = nil, nil
	if l.onChange != nil {
		l.onChange(false)
	}
	return true
}

// Running reports whether the loop runs, and since when.
func (l *Loop) Running() (bool, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.done != nil, l.startedAt
}

// State is what /start and /stop answer.
type State struct {
	Loop    string `json:"loop"`
	Running bool   `json:"running"`
	Changed bool   `json:"changed"`
	Message string `json:"message"`
}

// Switch starts (on) or stops the loop and says whether that changed it.
func Switch(l *Loop, on bool) State {
	st := State{Loop: l.name, Running: on}
	switch {
	case on:
		st.Changed, st.Message = l.Start(), "already running"
		if st.Changed {
			st.Message = "started"
		}
	default:
		st.Changed, st.Message = l.Stop(), "already stopped"
		if st.Changed {
			st.Message = "stopped"
		}
	}
	return st
}

// StartHandler answers POST /start: 200 whether it started the loop or found it running.
func StartHandler(loops ...*Loop) http.Handler { return switchHandler(loops, true) }

// StopHandler answers POST /stop: 200 whether it stopped the loop or found it stopped. It
// answers once the loop has drained.
func StopHandler(loops ...*Loop) http.Handler { return switchHandler(loops, false) }

func switchHandler(loops []*Loop, on bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		out := make([]State, 0, len(loops))
		for _, l := range loops {
			out = append(out, Switch(l, on))
		}
		web.Encode(w, http.StatusOK, one(out))
	})
}

func one(states []State) any {
	if len(states) == 1 {
		return states[0]
	}
	return states
}
