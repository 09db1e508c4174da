package reaper

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/go-chi/chi/v5"

	"chaossuite.dev/shared/auth"
	"chaossuite.dev/shared/chaos"
	"chaossuite.dev/shared/control"
	"chaossuite.dev/shared/lever"
	"chaossuite.dev/shared/web"
)

// settings are what the reaper can be told at run time: the safety lever, and the schedule
// a phase of an experiment asks for (its methods and interval), the configured one otherwise.
type settings struct {
	configured Schedule
	lever      *lever.Lever
	changed    chan struct{} // wakes the loop to schedule by new settings
}

func newSettings(s Schedule, l *lever.Lever) settings {
	return settings{configured: s, lever: l, changed: make(chan struct{}, 1)}
}

// SettingsRequest is the body of PUT /settings; a field left out takes its configured value.
type SettingsRequest struct {
	Methods  []string `json:"methods,omitempty"`
	Interval string   `json:"interval,omitempty"`

	methods  []chaos.KillMethod
	interval time.Duration
}

// maxInterval bounds the interval a caller may set.
const maxInterval = 24 * time.Hour

// Validate implements web.Validator.
func (s *SettingsRequest) Validate() error {
	if len(s.Methods) > 16 {
		return web.Errorf(http.StatusBadRequest, "methods: at most 16")
	}
	for _, m := range s.Methods {
		km, err := chaos.ParseKillMethod(m)
		if err != nil {
			return web.Errorf(http.StatusBadRequest, "methods: %v", err)
		}
		s.methods = append(s.methods, km)
	}
	if s.Interval != "" {
		d, err := time.ParseDuration(s.Interval)
		if err != nil || d < time.Second || d > maxInterval {
			return web.Errorf(http.StatusBadRequest, "interval %q: want a duration from 1s to 24h, such as 20s", s.Interval)
		}
		s.interval = d
	}
	return nil
}

// SetSchedule replaces the methods and the interval (nil and 0: the configured ones); the
// jitter keeps its share of the interval. A kill due is scheduled again by the new settings.
func (r *Reaper) SetSchedule(methods []chaos.KillMethod, interval time.Duration) {
	r.mu.Lock()
	c := r.settings.configured
	s := Schedule{Interval: c.Interval, Jitter: c.Jitter, Methods: c.Methods, Rand: c.Rand}
	if len(methods) > 0 {
		s.Methods = methods
	}
	if interval > 0 {
		s.Interval = interval
		s.Jitter = time.Duration(float64(c.Jitter) * float64(interval) / float64(c.Interval))
	}
	r.schedule = s
	r.mu.Unlock()
	select {
	case r.settings.changed <- struct{}{}:
	default:
	}
}

// mountSettings adds /halt, /resume (which stop the kill loop first) and PUT /settings.
func (r *Reaper) mountSettings(m chi.Router, loop *control.Loop, token auth.Token) {
	lever.Mount(m, r.settings.lever, token, func(context.Context) { loop.Stop() })
	m.With(auth.Destructive(token)).Method(http.MethodPut, "/settings", handleSettings(r))
}

func handleSettings(r *Reaper) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var body SettingsRequest
		if err := web.DecodeWith(req, &body, web.DecodeOptions{AllowEmpty: true}); err != nil {
			web.Fail(w, err)
			return
		}
		if r.via == ViaNodekiller && slices.Contains(body.methods, chaos.Spare) {
			web.Error(w, http.StatusBadRequest, "methods: spare kills nothing and the nodekiller, which kills go to straight (KILL_VIA=nodekiller), refuses it")
			return
		}
		r.SetSchedule(body.methods, body.interval)
		web.Encode(w, http.StatusOK, r.Info())
	})
}
