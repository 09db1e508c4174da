// Package voracious is the OCO backend emulator's HTTP side: the statistics, the application
// list, the servo protocol endpoint, /info, /docs and /openapi.json.
package voracious

import (
	"net/http"

	"github.com/go-chi/chi/v5"
)

// Routes lists every route of voracious; the shared router adds /healthz, /readyz and /metrics.
func Routes(d *Deps) func(r chi.Router) {
	return func(r chi.Router) {
		r.Method(http.MethodGet, "/", handleStats(d.Store))
		r.Method(http.MethodGet, "/info", handleInfo(d))
		r.Method(http.MethodGet, "/accounts/{account}/application-overrides", handleOverrides(d.Apps))
		r.Handle("/accounts/{account}/application-overrides/*", handleSlashRedirect("account"))
		r.Method(http.MethodPost, "/accounts/{account}/applications/{app}/servo", handleServo(d))
		r.Handle("/accounts/{account}/applications/{app}/servo/*", handleSlashRedirect("account", "app"))
		r.Method(http.MethodGet, "/openapi.json", handleOpenAPI())
		r.Method(http.MethodGet, "/docs", handleDocsIndex())
		r.Method(http.MethodGet, "/docs/*", handleDocsAssets())
	}
}
