package receiver

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"chaossuite.dev/shared/auth"
)

// Deps are what the receiver's handlers need.
type Deps struct {
	Config    *Config
	Metrics   *Metrics
	Killer    *KillForwarder
	Halter    Halter
	Token     auth.Token
	Logger    *slog.Logger
	Node      string
	PID       int
	StartedAt time.Time
	served    counter
}

// Routes lists every route of the receiver.
func Routes(d *Deps) func(r chi.Router) {
	return func(r chi.Router) {
		r.Method(http.MethodGet, "/", handleRoot(d))
		r.Method(http.MethodPost, "/", handleRoot(d))
		r.Method(http.MethodGet, "/info", handleInfo(d))
		r.Method(http.MethodGet, "/admin/config", handleGetConfig(d))
		r.With(auth.Destructive(d.Token)).Method(http.MethodPut, "/admin/config", handlePutConfig(d))
		r.With(auth.Destructive(d.Token)).Method(http.MethodPost, "/admin/halt", handleHalt(d))
	}
}
