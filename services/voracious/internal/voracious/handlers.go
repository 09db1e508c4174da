package voracious

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
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
	Apps       int    `json:"apps"`
	AppFormat  string `json:"app_format"`
	StateFile  string `json:"state_file,omitempty"`
	Resync     bool   `json:"resync"`
	MaxApps    int    `json:"max_apps"`
	EvictAfter string `json:"evict_after"`
}

// Commands are the encoded answers to WHATS_NEXT, one per command.
type Commands map[servo.Command][]byte

// NewCommands encodes each command's answer once, ADJUST with adjust as its param (in its
// order), MEASURE with the fields the real ServoX client requires, in its model's order.
func NewCommands(adjust json.RawMessage) Commands {
	enc := func(cmd, param string) []byte {
		return []byte(`{"cmd":"` + cmd + `","param":` + param + "}\n")
	}
	return Commands{
		servo.Describe: enc("DESCRIBE", `{}`),
		servo.Measure:  enc("MEASURE", `{"metrics":[],"control":{}}`),
		servo.Adjust:   enc("ADJUST", string(adjust)),
	}
}

var okBody = []byte(`{"status":"ok","message":null}` + "\n")

// jsonContentType is shared by every answer: a header value slice is only read, or replaced.
var jsonContentType = []string{"application/json"}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// handleServo runs one servo event for (account, app).
func handleServo(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		account, app, ok := pathNames(w, r)
		if !ok {
			return
		}
		for _, err := range []error{servo.CheckName("account", account), servo.CheckName("app", app)} {
			if err != nil {
				// Before the body, so that the answer never echoes a name voracious would not hold.
				d.Store.Reject(servo.EventOther)
				web.Error(w, http.StatusBadRequest, fmt.Sprintf("Sequence error for %s: %v", servo.QuoteName(app), err))
				return
			}
		}
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
			var le *servo.LimitError
			if errors.As(err, &le) {
				web.Error(w, http.StatusTooManyRequests, fmt.Sprintf("Sequence error for %s: %v (VORACIOUS_MAX_APPS); "+
					"terminated apps make room once evicted (VORACIOUS_EVICT_AFTER)", app, err))
				return
			}
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

// pathNames returns the account and app of the servo path in their canonical form, or answers
// 404 when there is none (see pathParam).
func pathNames(w http.ResponseWriter, r *http.Request) (account, app string, ok bool) {
	account, okAccount := pathParam(r, "account")
	app, okApp := pathParam(r, "app")
	if !okAccount || !okApp {
		noRoute(w, r)
		return "", "", false
	}
	return account, app, true
}

// pathParam returns a path parameter in its one canonical form: percent-decoded, whatever
// escapes the client chose (%61pp is app). It is false for an empty name or one holding a
// slash (a%2Fb): those match no route of the original, whose answer is 404. The store refuses
// the other names it cannot hold.
func pathParam(r *http.Request, key string) (string, bool) {
	v := chi.URLParam(r, key)
	if r.URL.RawPath != "" {
		// chi routed on the escaped path, so the parameter is still escaped.
		var err error
		if v, err = url.PathUnescape(v); err != nil {
			return "", false
		}
	}
	return v, v != "" && !strings.Contains(v, "/")
}

func noRoute(w http.ResponseWriter, r *http.Request) {
	web.Error(w, http.StatusNotFound, "no route for "+r.Method+" "+r.URL.EscapedPath())
}

// handleSlashRedirect answers a route's path with trailing slashes (the route's pattern plus
// "/*") as FastAPI did: 307, so that the method and body are kept, to the same URL without
// them, absolute, with no body. params are the route's parameters, which must be names.
func handleSlashRedirect(params ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Trim(chi.URLParam(r, "*"), "/") != "" {
			noRoute(w, r)
			return
		}
		for _, p := range params {
			if _, ok := pathParam(r, p); !ok {
				noRoute(w, r)
				return
			}
		}
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		loc := scheme + "://" + r.Host + strings.TrimRight(r.URL.EscapedPath(), "/")
		if r.URL.RawQuery != "" {
			loc += "?" + r.URL.RawQuery
		}
		w.Header().Set("Location", loc)
		w.WriteHeader(http.StatusTemporaryRedirect)
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
		b, _ := WireStats{store.Stats()}.MarshalJSON()
		writeRaw(w, http.StatusOK, append(b, '\n'))
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
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := pathParam(r, "account"); !ok {
			noRoute(w, r)
			return
		}
		writeRaw(w, http.StatusOK, body)
	})
}

// Info is what /info answers.
type Info struct {
	Service string     `json:"service"`
	Uptime  string     `json:"uptime"`
	Apps    AppsInfo   `json:"apps"`
	Stats   WireStats  `json:"stats"`
	Config  ConfigInfo `json:"config"`
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
			Stats:   WireStats{d.Store.Stats()},
			Config:  d.Info,
		})
	})
}
