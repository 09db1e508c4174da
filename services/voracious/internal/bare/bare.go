// Package bare is the baseline voracious is measured against: a bare net/http handler that
// decodes the same servo body and returns the same JSON, with no router, state or metrics.
package bare

import (
	"encoding/json"
	"net/http"
)

type request struct {
	Event string `json:"event"`
	Param *struct {
		Progress *int64 `json:"progress"`
	} `json:"param"`
}

type answer struct {
	Status  string  `json:"status"`
	Message *string `json:"message"`
}

// Handler answers every POST body that decodes with {"status":"ok","message":null}.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, `{"detail":"bad JSON"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(answer{Status: "ok"})
	})
}
