package voracious

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"chaossuite.dev/shared/web"
	"chaossuite.dev/voracious/internal/servo"
)

// Deps are what the routes need.
type Deps struct {
	Store  *servo.Store
	Logger *slog.Logger
	// Commands holds WHATS_NEXT's answers, encoded once.
	Commands Commands
	// Apps are the names application-overrides lists.
	Apps []string
	// Info is the configuration /info shows.
	Info      ConfigInfo
	StartedAt time.Time
}

// ConfigInfo is the configuration part of /info.
type ConfigInfo struct {
	Apps      int    `json:"apps"`
	AppFormat string `json:"app_format"`
	StateFile string `json:"state_file,omitempty"`
	Resync    bool   `json:"resync"`
}

// Commands are the encoded answers to WHATS_NEXT, one per command.
type Commands map[servo.Command][]byte

// NewCommands encodes each command's answer once, ADJUST with adjust as its param.
func NewCommands(adjust json.RawMessage) Commands {
	enc := func(cmd string, param any) []byte {
		b, err := json.Marshal(map[string]any{"cmd": cmd, "param": param})
		if err != nil {
			panic(err) // static values: cannot fail
		}
		return append(b, '\n')
	}
	return Commands{
		servo.Describe: enc("DESCRIBE", map[string]any{}),
		servo.Measure:  enc("MEASURE", map[string]any{"metrics": []string{}, "control": map[string]any{}}),
		servo.Adjust:   enc("ADJUST", adjust),
	}
}

var okBody = []byte(`{"status":"ok","message":null}` + "\n")

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// handleServo runs one servo event for (account, app).
func handleServo(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		account, app := chi.URLParam(r, "account"), chi.URLParam(r, "app")
		req, err := DecodeServo(r)
		if err != nil {
			var se *web.StatusError
			if errors.As(err, &se) && se.Status != http.StatusBadRequest {
				web.Fail(w, err)
				return
			}
			d.Store.Reject(servo.ParseEvent(req.Event))
			sequenceError(w, app, err)
			return
		}
		in := req.Input()
		res, err := d.Store.Apply(account, app, in)
		if err != nil {
			d.Logger.Debug("rejected", "account", account, "app", app, "event", req.Event, "reason", err.Error())
			sequenceError(w, app, err)
			return
		}
		if d.Logger.Enabled(r.Context(), slog.LevelDebug) {
			d.Logger.Debug("transition", "account", account, "app", app, "event", in.Event.String(),
				"from", res.From.String(), "to", res.To.String(), "cmd", res.Command.String())
		}
		if in.Event == servo.WhatsNext {
			writeRaw(w, http.StatusOK, d.Commands[res.Command])
			return
		}
		writeRaw(w, http.StatusOK, okBody)
	})
}

// sequenceError answers 400 with the detail servo emulators parse.
func sequenceError(w http.ResponseWriter, app string, err error) {
	msg := err.Error()
	var se *web.StatusError
	if errors.As(err, &se) {
		msg = se.Detail
	}
	web.Error(w, http.StatusBadRequest, fmt.Sprintf("Sequence error for %s: %s", app, msg))
}

// handleStats answers the cycle statistics over every known app.
func handleStats(store *servo.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		web.Encode(w, http.StatusOK, store.Stats())
	})
}

// handleOverrides lists the configured apps, each active, as OCO's application-overrides does.
func handleOverrides(apps []string) http.Handler {
	var b strings.Builder
	b.WriteByte('{')
	for i, a := range apps {
		if i > 0 {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(a)
		b.Write(name)
		b.WriteString(`:{"mode":null,"mode_limit":null,"state":"active"}`)
	}
	b.WriteString("}\n")
	body := []byte(b.String())
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeRaw(w, http.StatusOK, body)
	})
}

// Info is what /info answers.
type Info struct {
	Service string      `json:"service"`
	Uptime  string      `json:"uptime"`
	Apps    AppsInfo    `json:"apps"`
	Stats   servo.Stats `json:"stats"`
	Config  ConfigInfo  `json:"config"`
}

// AppsInfo counts the known apps, in all and by state.
type AppsInfo struct {
	Known   int64            `json:"known"`
	ByState map[string]int64 `json:"by_state"`
}

func handleInfo(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		by := map[string]int64{}
		for _, s := range servo.States() {
			by[s.String()] = d.Store.Count(s)
		}
		web.Encode(w, http.StatusOK, Info{
			Service: "voracious",
			Uptime:  time.Since(d.StartedAt).Round(time.Second).String(),
			Apps:    AppsInfo{Known: d.Store.Known(), ByState: by},
			Stats:   d.Store.Stats(),
			Config:  d.Info,
		})
	})
}
