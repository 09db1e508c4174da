// Package lever is the suite's safety lever: POST /halt stops a service's chaos and makes it
// refuse any new kill or upgrade with 409 "halted" until POST /resume. Every service that
// causes chaos holds one; the pinger's fans out to all of them.
package lever

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"chaossuite.dev/shared/auth"
	"chaossuite.dev/shared/web"
)

// Lever is one service's halt state. It is safe for concurrent use.
type Lever struct {
	gauge prometheus.Gauge

	mu     sync.Mutex
	halted bool
	since  time.Time
	by     string
}

// New returns a Lever, not halted, registering chaos_halted on reg.
func New(reg prometheus.Registerer) *Lever {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "chaos_halted",
		Help: "1 while the safety lever is pulled: this service refuses new kills and upgrades until POST /resume.",
	})
	reg.MustRegister(g)
	return &Lever{gauge: g}
}

// State is the lever as /info and GET /halt show it.
type State struct {
	Halted bool       `json:"halted"`
	Since  *time.Time `json:"since,omitempty"`
	By     string     `json:"by,omitempty"` // the caller's address
}

// State reports the lever now.
func (l *Lever) State() State {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := State{Halted: l.halted, By: l.by}
	if l.halted {
		t := l.since.UTC()
		s.Since = &t
	}
	return s
}

// Halted reports whether the lever is pulled.
func (l *Lever) Halted() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.halted
}

// Halt pulls the lever and reports whether it changed.
func (l *Lever) Halt(by string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.halted {
		return false
	}
	l.halted, l.since, l.by = true, time.Now(), by
	l.gauge.Set(1)
	return true
}

// Resume lifts the lever and reports whether it changed.
func (l *Lever) Resume() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.halted {
		return false
	}
	l.halted, l.since, l.by = false, time.Time{}, ""
	l.gauge.Set(0)
	return true
}

// ErrHalted is the error a halted service refuses chaos with.
func ErrHalted(what string) error {
	return web.Errorf(http.StatusConflict, "halted: %s refused until POST /resume", what)
}

// Refuse answers 409 "halted" when the lever is pulled and reports whether it did.
func (l *Lever) Refuse(w http.ResponseWriter, what string) bool {
	if !l.Halted() {
		return false
	}
	web.Fail(w, ErrHalted(what))
	return true
}

// Answer is what POST /halt and /resume answer.
type Answer struct {
	State
	Changed bool `json:"changed"`
}

// RefuseStart is middleware that answers POST /start with 409 while l is pulled: a halted
// chaos loop must not be started again. what names what is refused ("kills are").
func RefuseStart(l *Lever, what string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && r.URL.Path == "/start" && l.Refuse(w, what) {
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// Mount adds POST /halt and POST /resume, both behind the token whatever the service's other
// routes need (403 with none configured, 401 with a wrong one), and GET /halt. stop, when not
// nil, stops the service's chaos once the lever is pulled; /halt answers when it has, so that
// nothing is under way then.
func Mount(r chi.Router, l *Lever, token auth.Token, stop func(ctx context.Context)) {
	r.With(auth.Destructive(token)).Method(http.MethodPost, "/halt", HaltHandler(l, stop))
	r.With(auth.Destructive(token)).Method(http.MethodPost, "/resume", ResumeHandler(l))
	r.Method(http.MethodGet, "/halt", StateHandler(l))
}

// HaltHandler answers POST /halt: pull the lever, then stop (may be nil).
func HaltHandler(l *Lever, stop func(ctx context.Context)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		changed := l.Halt(r.RemoteAddr)
		if stop != nil {
			stop(r.Context())
		}
		web.Encode(w, http.StatusOK, Answer{State: l.State(), Changed: changed})
	})
}

// ResumeHandler answers POST /resume: lift the lever. The chaos loops stay stopped until
// started again.
func ResumeHandler(l *Lever) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		changed := l.Resume()
		web.Encode(w, http.StatusOK, Answer{State: l.State(), Changed: changed})
	})
}

// StateHandler answers GET /halt.
func StateHandler(l *Lever) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		web.Encode(w, http.StatusOK, l.State())
	})
}

// Gauge is chaos_halted, for tests.
func (l *Lever) Gauge() prometheus.Gauge { return l.gauge }
