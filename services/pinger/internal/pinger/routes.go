package pinger

import (
	"net/http"
	"os"

	"github.com/go-chi/chi/v5"

	"chaossuite.dev/shared/auth"
	"chaossuite.dev/shared/control"
	"chaossuite.dev/shared/web"
)

// Routes lists every route of the pinger. Every /start and /stop is a destructive action (it
// starts or stops the kills and the upgrades, or the probes that judge them): it needs the
// token, 403 without one configured, and takes no body but {}.
func Routes(p *Pinger, token auth.Token) func(r chi.Router) {
	return func(r chi.Router) {
		r.Use(p.refuseChaosWhenHalted)
		planRoutes(r, p)
		r.Method(http.MethodGet, "/", handleSelf())
		r.Method(http.MethodPost, "/", handleSelf())
		r.Method(http.MethodGet, "/info", handleInfo(p))
		r.Method(http.MethodGet, "/report", handleReport(p))
		r.Method(http.MethodGet, "/report.json", handleReportJSON(p))
		guarded := r.With(auth.Destructive(token), web.NoInput)
		guarded.Method(http.MethodPost, "/start", handleControl(p, turnOn, wholeSuite))
		guarded.Method(http.MethodPost, "/stop", handleControl(p, turnOff, wholeSuite))
		guarded.Method(http.MethodPost, "/start-pingers", control.StartHandler(p.loop))
		guarded.Method(http.MethodPost, "/stop-pingers", control.StopHandler(p.loop))
		guarded.Method(http.MethodPost, "/start-reaper", handleControl(p, turnOn, reaperOnly))
		guarded.Method(http.MethodPost, "/stop-reaper", handleControl(p, turnOff, reaperOnly))
		guarded.Method(http.MethodPost, "/start-helmsman", handleControl(p, turnOn, helmsmanOnly))
		guarded.Method(http.MethodPost, "/stop-helmsman", handleControl(p, turnOff, helmsmanOnly))
	}
}

// handleSelf is what the pinger's own target probes, as the original pinged its own service.
func handleSelf() http.Handler {
	pid := os.Getpid()
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		web.Encode(w, http.StatusOK, map[string]any{"message": "Pinger running!", "pid": pid})
	})
}

func handleInfo(p *Pinger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		web.Encode(w, http.StatusOK, p.Info(r.Context()))
	})
}

// controlAnswer is what /start and /stop answer: each part's outcome.
type controlAnswer struct {
	Pingers  *control.State `json:"pingers,omitempty"`
	Reaper   *PeerState     `json:"reaper,omitempty"`
	Helmsman *PeerState     `json:"helmsman,omitempty"`
}

// switchTo is which way a control route turns its parts: the path each peer is sent.
type switchTo string

// The two ways.
const (
	turnOn  switchTo = "/start"
	turnOff switchTo = "/stop"
)

// suiteParts are the parts of the suite a control route turns.
type suiteParts struct{ pingers, reaper, helmsman bool }

// The parts the control routes turn.
var (
	wholeSuite   = suiteParts{pingers: true, reaper: true, helmsman: true}
	reaperOnly   = suiteParts{reaper: true}
	helmsmanOnly = suiteParts{helmsman: true}
)

// handleControl turns the parts on or off: the pingers first, then the reaper and the
// helmsman, each told with the token. A peer that fails makes the answer 502, listing it.
func handleControl(p *Pinger, to switchTo, parts suiteParts) http.Handler {
	path := string(to)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var out controlAnswer
		if parts.pingers {
			st := control.Switch(p.loop, to == turnOn)
			out.Pingers = &st
		}
		status := http.StatusOK
		if parts.reaper {
			st := p.reaper.Post(r.Context(), path)
			out.Reaper = &st
			if st.Error != "" && p.reaper.URL != "" {
				status = http.StatusBadGateway
			}
		}
		if parts.helmsman {
			st := p.helmsman.Post(r.Context(), path)
			out.Helmsman = &st
			if st.Error != "" && p.helmsman.URL != "" {
				status = http.StatusBadGateway
			}
		}
		web.Encode(w, status, out)
	})
}
