package receiver

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"chaossuite.dev/shared/auth"
	"chaossuite.dev/shared/chaos"
	"chaossuite.dev/shared/config"
	"chaossuite.dev/shared/httpclient"
	"chaossuite.dev/shared/receiverapi"
	"chaossuite.dev/shared/web"
)

// identity is who answers: the node and its process.
type identity struct {
	node string
	pid  int
}

// Killer has a node killed by method: the receiver's KillForwarder.
type Killer interface {
	Kill(ctx context.Context, method chaos.KillMethod) (*receiverapi.KillAnswer, error)
}

// rootRequest is the optional body of / : which node, if any, to kill.
type rootRequest struct {
	receiverapi.RootRequest
	method chaos.KillMethod
}

// Validate implements web.Validator; no kill_node means spare.
func (r *rootRequest) Validate() error {
	if r.KillNode == "" {
		r.method = chaos.Spare
		return nil
	}
	m, err := chaos.ParseKillMethod(r.KillNode)
	if err != nil {
		return web.Errorf(http.StatusBadRequest, "kill_node: %v", err)
	}
	r.method = m
	return nil
}

func handleRoot(cfg *Config, id identity, killer Killer, token auth.Token, m *Metrics, served *atomic.Int64, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req rootRequest
		// The body is read as JSON whatever its content type says (curl -d sends a form type),
		// and no body at all means spare.
		if err := web.DecodeWith(r, &req, web.DecodeOptions{AllowEmpty: true, AnyContentType: true}); err != nil {
			web.Fail(w, err)
			return
		}
		s := cfg.Load()
		answer := receiverapi.RootAnswer{Message: s.Message, Version: s.Version, Node: id.node, PID: id.pid}
		if req.method != chaos.Spare {
			if r.Method != http.MethodPost {
				// GET and HEAD are safe methods: caches, crawlers and prefetchers send them freely.
				web.Error(w, http.StatusBadRequest, "kill_node needs POST: a "+r.Method+" never kills")
				return
			}
			if !token.Configured() {
				web.Error(w, http.StatusForbidden,
					"kill_node needs a bearer token and none is configured: set AUTH_TOKEN on the receiver, the nodekiller and their callers")
				return
			}
			if !token.Matches(r) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="chaos"`)
				web.Error(w, http.StatusUnauthorized, "missing or wrong bearer token")
				return
			}
			res, err := killer.Kill(r.Context(), req.method)
			m.kills.WithLabelValues(string(req.method), killOutcome(err)).Inc()
			if err != nil {
				log.Warn("kill request failed", "method", req.method, "error", err)
				var se *httpclient.StatusError
				if refusal(err) && errors.As(err, &se) {
					// nodekiller's own refusal goes back as it came.
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(se.Status)
					_, _ = w.Write(se.Body)
					return
				}
				web.Fail(w, err)
				return
			}
			log.Info("kill requested", "method", req.method, "victim", res.Victim)
			answer.Kill = res
		}
		served.Add(1)
		m.requests.WithLabelValues(s.Version).Inc()
		w.Header().Set("X-Receiver-Version", s.Version)
		w.Header().Set("X-Receiver-Node", id.node)
		web.Encode(w, http.StatusOK, answer)
	})
}

func killOutcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case refusal(err):
		return "rejected"
	}
	return "error"
}

type infoAnswer struct {
	Version        string    `json:"version"`
	Message        string    `json:"message"`
	Node           string    `json:"node"`
	PID            int       `json:"pid"`
	Generation     int64     `json:"generation"`
	StartedAt      time.Time `json:"started_at"`
	UptimeSeconds  float64   `json:"uptime_seconds"`
	RequestsServed int64     `json:"requests_served"`
	Nodekiller     string    `json:"nodekiller_url,omitempty"`
}

func handleInfo(cfg *Config, id identity, startedAt time.Time, served *atomic.Int64, nodekillerURL string) http.Handler {
	nodekiller := config.RedactURL(nodekillerURL)
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s := cfg.Load()
		web.Encode(w, http.StatusOK, infoAnswer{
			Version: s.Version, Message: s.Message, Node: id.node, PID: id.pid, Generation: s.Generation,
			StartedAt: startedAt.UTC(), UptimeSeconds: time.Since(startedAt).Seconds(),
			RequestsServed: served.Load(), Nodekiller: nodekiller,
		})
	})
}

func handleGetConfig(cfg *Config, node string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		web.Encode(w, http.StatusOK, answerConfig(cfg.Load(), node))
	})
}

func handlePutConfig(cfg *Config, node string, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req configRequest
		if err := web.Decode(r, &req); err != nil {
			web.Fail(w, err)
			return
		}
		msg := ""
		if req.Message != nil {
			msg = *req.Message
		}
		s := cfg.Swap(*req.Version, msg)
		log.Info("configuration swapped in place", "version", s.Version, "generation", s.Generation)
		web.Encode(w, http.StatusOK, answerConfig(s, node))
	})
}

func answerConfig(s Settings, node string) receiverapi.Config {
	return receiverapi.Config{Version: s.Version, Message: s.Message, Generation: s.Generation, Node: node}
}

// Halter ends the receiver's process: Stop drains first and exits 0, Halt exits at once
// with status 137, dropping in-flight connections.
type Halter interface {
	Stop()
	Halt()
}

type haltRequest struct {
	receiverapi.HaltRequest
}

// Validate implements web.Validator.
func (r haltRequest) Validate() error {
	switch strings.ToLower(r.Method) {
	case "stop", "halt":
		return nil
	}
	return web.Errorf(http.StatusBadRequest, "method %q: want stop or halt", r.Method)
}

func handleHalt(halter Halter, node string, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req haltRequest
		if err := web.Decode(r, &req); err != nil {
			web.Fail(w, err)
			return
		}
		method := strings.ToLower(req.Method)
		log.Warn("halting on request", "method", method)
		// The whole answer, with its length, must be on the wire before the process dies: a
		// chunked answer would lack its last chunk once halt exits.
		body, _ := json.Marshal(receiverapi.HaltAnswer{Node: node, Method: method, Status: "dying"})
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write(body)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		if method == "halt" {
			halter.Halt()
			return
		}
		halter.Stop()
	})
}
