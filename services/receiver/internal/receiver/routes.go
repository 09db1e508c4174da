package receiver

import (
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"

	"chaossuite.dev/shared/auth"
)

// Deps are what the receiver's routes are built from; each handler takes only its part.
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
}

// Routes lists every route of the receiver.
func Routes(d *Deps) func(r chi.Router) {
	id := identity{node: d.Node, pid: d.PID}
	served := new(atomic.Int64) // requests answered on /, for /info
	killer := d.Killer
	if killer == nil {
		killer = &KillForwarder{} // kills cannot be forwarded
	}
	root := handleRoot(d.Config, id, killer, d.Token, d.Metrics, served, d.Logger)
	return func(r chi.Router) {
		r.Method(http.MethodGet, "/", root)
		r.Method(http.MethodPost, "/", root)
		r.Method(http.MethodGet, "/info", handleInfo(d.Config, id, d.StartedAt, served, killer.URL))
		r.Method(http.MethodGet, "/admin/config", handleGetConfig(d.Config, d.Node))
		r.With(auth.Destructive(d.Token)).Method(http.MethodPut, "/admin/config", handlePutConfig(d.Config, d.Node, d.Logger))
		r.With(auth.Destructive(d.Token)).Method(http.MethodPost, "/admin/halt", handleHalt(d.Halter, d.Node, d.Logger))
	}
}
