package nodekiller

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"chaossuite.dev/shared/auth"
	"chaossuite.dev/shared/lever"
	"chaossuite.dev/shared/web"
)

// Routes lists every route of the nodekiller.
func Routes(n *Nodekiller, token auth.Token) func(r chi.Router) {
	return func(r chi.Router) {
		r.With(auth.Destructive(token)).Method(http.MethodPost, "/kill", handleKill(n))
		r.Method(http.MethodGet, "/info", handleInfo(n))
		lever.Mount(r, n.lever, token, n.awaitKill)
	}
}

func handleKill(n *Nodekiller) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req Request
		if err := web.Decode(r, &req); err != nil {
			web.Fail(w, err)
			return
		}
		answer, err := n.Kill(r.Context(), &req)
		if err != nil {
			web.Fail(w, err)
			return
		}
		web.Encode(w, http.StatusOK, answer)
	})
}

func handleInfo(n *Nodekiller) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		web.Encode(w, http.StatusOK, n.Info(r.Context()))
	})
}
