package helmsman

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/shared/chaos"
)

// TestUpgradeDurationByResult: every upgrade's duration is observed, a failed one under its
// reason, so that slow failures show beside slow successes.
func TestUpgradeDurationByResult(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		result string
	}{
		{"converged", nil, "ok"},
		{"refused", &chaos.UpgradeError{Replica: "b", Reason: chaos.ReasonRefused, Err: errors.New("answered 400")}, chaos.ReasonRefused},
		{"unverified", &chaos.UpgradeError{Replica: "c", Reason: chaos.ReasonUnverified, Err: errors.New("still alpha")}, chaos.ReasonUnverified},
		{"plain error", errors.New("boom"), chaos.ReasonOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, up, _, m := runningHelmsman(t)
			up.upgrade = tc.err
			h.upgradeOnce(context.Background())

			reg := prometheus.NewRegistry()
			reg.MustRegister(m.duration)
			rec := httptest.NewRecorder()
			promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
			require.Equal(t, http.StatusOK, rec.Code)
			text := rec.Body.String()
			for _, r := range upgradeResults {
				want := "0"
				if r == tc.result {
					want = "1"
				}
				assert.Contains(t, text, `helmsman_upgrade_duration_seconds_count{result="`+r+`"} `+want+"\n", "result %s", r)
			}
		})
	}
}
