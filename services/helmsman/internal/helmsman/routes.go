package helmsman

import (
	"fmt"
	"math"
	"net/http"

	"github.com/go-chi/chi/v5"

	"chaossuite.dev/shared/auth"
	"chaossuite.dev/shared/control"
	"chaossuite.dev/shared/lever"
	"chaossuite.dev/shared/web"
)

// Routes lists every route of the helmsman. /start and /stop switch the upgrade loop only;
// they are destructive actions (upgrades replace nodes): they need the token, 403 without one
// configured, and take no body but {}.
func Routes(h *Helmsman, loop *control.Loop, token auth.Token) func(chi.Router) {
	return func(r chi.Router) {
		r.Use(lever.RefuseStart(h.settings.lever, "upgrades are"))
		h.mountSettings(r, loop, token)
		r.Method(http.MethodGet, "/info", handleInfo(h))
		guarded := r.With(auth.Destructive(token), web.NoInput)
		guarded.Method(http.MethodPost, "/start", handleStart(h, control.StartHandler(loop)))
		guarded.Method(http.MethodPost, "/stop", control.StopHandler(loop))
	}
}

func handleInfo(h *Helmsman) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		web.Encode(w, http.StatusOK, h.Info())
	})
}

// handleStart refuses to start upgrades during the grace period, saying when to come back.
func handleStart(h *Helmsman, start http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if in, left := h.InGrace(); in {
			secs := int(math.Ceil(left.Seconds()))
			w.Header().Set("Retry-After", fmt.Sprint(max(secs, 1)))
			web.Error(w, http.StatusServiceUnavailable,
				fmt.Sprintf("starting: learning the replicas for %s more before any upgrade (GRACE_PERIOD)", left.Round(1e6)))
			return
		}
		start.ServeHTTP(w, r)
	})
}
