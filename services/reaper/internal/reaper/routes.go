package reaper

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"chaossuite.dev/shared/auth"
	"chaossuite.dev/shared/control"
	"chaossuite.dev/shared/lever"
	"chaossuite.dev/shared/web"
)

// Routes lists every route of the reaper. /start and /stop are destructive actions (they
// start and stop the kills): they need the token, 403 without one configured, and take no
// body but {}.
func Routes(r *Reaper, loop *control.Loop, token auth.Token) func(chi.Router) {
	return func(m chi.Router) {
		m.Use(lever.RefuseStart(r.settings.lever, "kills are"))
		r.mountSettings(m, loop, token)
		m.Method(http.MethodGet, "/info", handleInfo(r))
		guarded := m.With(auth.Destructive(token), web.NoInput)
		guarded.Method(http.MethodPost, "/start", control.StartHandler(loop))
		guarded.Method(http.MethodPost, "/stop", control.StopHandler(loop))
	}
}

func handleInfo(r *Reaper) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		web.Encode(w, http.StatusOK, r.Info())
	})
}
