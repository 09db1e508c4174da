package reaper

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"chaossuite.dev/shared/control"
	"chaossuite.dev/shared/web"
)

// Routes lists every route of the reaper.
func Routes(r *Reaper, loop *control.Loop) func(chi.Router) {
	return func(m chi.Router) {
		m.Use(r.refuseStartWhenHalted)
		r.mountSettings(m, loop)
		m.Method(http.MethodGet, "/info", handleInfo(r))
		m.Method(http.MethodPost, "/start", control.StartHandler(loop))
		m.Method(http.MethodPost, "/stop", control.StopHandler(loop))
	}
}

func handleInfo(r *Reaper) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		web.Encode(w, http.StatusOK, r.Info())
	})
}
