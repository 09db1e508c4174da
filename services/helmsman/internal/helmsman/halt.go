package helmsman

import (
	"context"
	"fmt"
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

// settings are what the helmsman can be told at run time: the safety lever, and the upgrade
// types and interval a phase of an experiment asks for, the configured ones otherwise. The
// lever stops upgrades only: the watch, the resets of lost replicas and the reconciles go on,
// as they repair.
type settings struct {
	types    []chaos.UpgradeType
	interval time.Duration
	lever    *lever.Lever
	changed  chan struct{}
}

func newSettings(o Options) settings {
	return settings{types: slices.Clone(o.Planner.Types), interval: o.UpgradeInterval, lever: o.Lever,
		changed: make(chan struct{}, 1)}
}

// sleep waits for d; ok is false when ctx ended first, changed true when new settings came.
func (s *settings) sleep(ctx context.Context, d time.Duration) (ok, changed bool) {
	if d <= 0 {
		return ctx.Err() == nil, false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false, false
	case <-s.changed:
		return true, true
	case <-t.C:
		return true, false
	}
}

// SettingsRequest is the body of PUT /settings; a field left out takes its configured value.
type SettingsRequest struct {
	Types    []string `json:"types,omitempty"`
	Interval string   `json:"interval,omitempty"`

	types    []chaos.UpgradeType
	interval time.Duration
}

// Validate implements web.Validator.
func (r *SettingsRequest) Validate() error {
	if len(r.Types) > 16 {
		return web.Errorf(http.StatusBadRequest, "types: at most 16")
	}
	r.types = nil
	for _, s := range r.Types {
		t, err := chaos.ParseUpgradeType(s)
		if err != nil {
			return web.Errorf(http.StatusBadRequest, "types: %v", err)
		}
		r.types = append(r.types, t)
	}
	if r.Interval != "" {
		d, err := time.ParseDuration(r.Interval)
		if err != nil || d < time.Second || d > 24*time.Hour {
			return web.Errorf(http.StatusBadRequest, "interval %q: want a duration from 1s to 24h, such as 45s", r.Interval)
		}
		r.interval = d
	}
	return nil
}

// SetSchedule replaces the upgrade types and interval (nil and 0: the configured ones). An
// upgrade due is scheduled again by the new settings; one under way goes on.
func (h *Helmsman) SetSchedule(types []chaos.UpgradeType, interval time.Duration) {
	h.mu.Lock()
	if len(types) == 0 {
		types = h.settings.types
	}
	if interval <= 0 {
		interval = h.settings.interval
	}
	h.o.Planner.Types = slices.Clone(types)
	h.o.UpgradeInterval = interval
	h.mu.Unlock()
	select {
	case h.settings.changed <- struct{}{}:
	default:
	}
}

func typeNames(ts []chaos.UpgradeType) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = string(t)
	}
	return out
}

// mountSettings adds /halt (which stops the upgrade loop, waiting for an upgrade under way),
// /resume and PUT /settings.
func (h *Helmsman) mountSettings(r chi.Router, loop *control.Loop, token auth.Token) {
	lever.Mount(r, h.settings.lever, token, func(context.Context) { loop.Stop() })
	r.With(auth.Destructive(token)).Method(http.MethodPut, "/settings", handleSettings(h))
}

func handleSettings(h *Helmsman) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body SettingsRequest
		if err := web.DecodeWith(r, &body, web.DecodeOptions{AllowEmpty: true}); err != nil {
			web.Fail(w, err)
			return
		}
		for _, t := range body.types {
			if why, ok := h.o.Refused[t]; ok {
				web.Error(w, http.StatusBadRequest, fmt.Sprintf("types: %s is refused: %s", t, why))
				return
			}
		}
		h.SetSchedule(body.types, body.interval)
		info := h.Info()
		web.Encode(w, http.StatusOK, map[string]any{"upgrade_interval": info.UpgradeInterval, "upgrade_types": info.UpgradeTypes,
			"next_upgrade": info.Next, "message": fmt.Sprintf("upgrades %v every %s", info.UpgradeTypes, info.UpgradeInterval)})
	})
}
