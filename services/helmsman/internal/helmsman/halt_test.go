package helmsman

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/shared/auth"
	"chaossuite.dev/shared/chaos"
	"chaossuite.dev/shared/control"
)

// While halted no upgrade starts (the loop stopped, /start 409, a due upgrade skipped); the
// lever and the settings need the token; /resume lifts it.
func TestHaltRefusesUpgrades(t *testing.T) {
	h, up, _, _ := runningHelmsman(t)
	tok := auth.NewToken("tok")
	loop := control.New(context.Background(), "helmsman", func(ctx context.Context) { <-ctx.Done() }, nil)
	t.Cleanup(func() { loop.Stop() })
	r := chi.NewRouter()
	Routes(h, loop, tok)(r)
	call := func(method, path, bearer, body string) int {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		auth.SetBearer(req, bearer)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		return w.Code
	}
	require.Equal(t, http.StatusOK, call(http.MethodPost, "/start", "tok", ""))
	assert.Equal(t, http.StatusUnauthorized, call(http.MethodPost, "/halt", "wrong", ""))
	require.Equal(t, http.StatusOK, call(http.MethodPost, "/halt", "tok", ""))
	running, _ := loop.Running()
	assert.False(t, running, "the halt stopped the upgrade loop")
	assert.Equal(t, http.StatusConflict, call(http.MethodPost, "/start", "tok", ""))
	h.upgradeOnce(context.Background())
	assert.Empty(t, h.Info().History, "a due upgrade is skipped while halted")
	assert.Equal(t, "alpha", up.replicas[0].Version)
	assert.True(t, h.Info().Halt.Halted)

	assert.Equal(t, http.StatusUnauthorized, call(http.MethodPut, "/settings", "", `{}`))
	assert.Equal(t, http.StatusBadRequest, call(http.MethodPut, "/settings", "tok", `{"types":["SIDEWAYS"]}`))
	require.Equal(t, http.StatusOK, call(http.MethodPut, "/settings", "tok", `{"types":["IN_PLACE","MAX_SURGE"],"interval":"5s"}`))
	info := h.Info()
	assert.Equal(t, []string{"IN_PLACE", "MAX_SURGE"}, info.UpgradeTypes)
	assert.Equal(t, "5s", info.UpgradeInterval)
	assert.Equal(t, chaos.InPlace, info.Next.Type)

	require.Equal(t, http.StatusOK, call(http.MethodPost, "/resume", "tok", ""))
	h.upgradeOnce(context.Background())
	require.Len(t, h.Info().History, 1)
	assert.Equal(t, chaos.InPlace, h.Info().History[0].Type, "the phase's type")
	require.Equal(t, http.StatusOK, call(http.MethodPut, "/settings", "tok", `{}`))
	assert.Equal(t, []string{"ROLLOUT"}, h.Info().UpgradeTypes, "{} puts the configured ones back")
	assert.Equal(t, time.Minute.String(), h.Info().UpgradeInterval)
}

// Whatever PUT /settings is sent, it answers 200 or 400 and leaves upgrades that can run.
func FuzzSettings(f *testing.F) {
	f.Add(`{"types":["ROLLOUT","IN_PLACE"],"interval":"45s"}`)
	f.Add(`{}`)
	f.Add(`{"types":["rollout"],"interval":"1h"}`)
	h, _, _, _ := newTestHelmsman(f, "alpha")
	tok := auth.NewToken("tok")
	loop := control.New(context.Background(), "helmsman", func(ctx context.Context) { <-ctx.Done() }, nil)
	r := chi.NewRouter()
	Routes(h, loop, tok)(r)
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPut, "/settings", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		auth.SetBearer(req, "tok")
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if w.Code != http.StatusOK && w.Code != http.StatusBadRequest {
			t.Fatalf("%q answered %d", body, w.Code)
		}
		info := h.Info()
		if len(info.UpgradeTypes) == 0 || info.UpgradeInterval == "" || info.UpgradeInterval == "0s" {
			t.Fatalf("%q left %v every %s", body, info.UpgradeTypes, info.UpgradeInterval)
		}
	})
}

// A type the target cannot take (IN_PLACE when versions are images) is refused with 400 and
// changes nothing.
func TestSettingsRefuseATypeTheTargetCannotTake(t *testing.T) {
	h, _, _, _ := runningHelmsman(t)
	h.o.Refused = map[chaos.UpgradeType]string{chaos.InPlace: "not by image"}
	before := h.Info().UpgradeTypes
	tok := auth.NewToken("tok")
	loop := control.New(context.Background(), "helmsman", func(ctx context.Context) { <-ctx.Done() }, nil)
	t.Cleanup(func() { loop.Stop() })
	r := chi.NewRouter()
	Routes(h, loop, tok)(r)
	req := httptest.NewRequest(http.MethodPut, "/settings", strings.NewReader(`{"types":["ROLLOUT","IN_PLACE"]}`))
	req.Header.Set("Content-Type", "application/json")
	auth.SetBearer(req, "tok")
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	assert.Equal(t, http.StatusBadRequest, w.Code)
	assert.Contains(t, w.Body.String(), "IN_PLACE is refused: not by image")
	assert.Equal(t, before, h.Info().UpgradeTypes, "nothing changed")
}
