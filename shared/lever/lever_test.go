package lever_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"

	"chaossuite.dev/shared/auth"
	"chaossuite.dev/shared/lever"
)

func TestLever(t *testing.T) {
	reg := prometheus.NewRegistry()
	l := lever.New(reg)
	stopped := 0
	r := chi.NewRouter()
	lever.Mount(r, l, auth.NewToken("tok"), func(context.Context) { stopped++ })
	call := func(method, path, bearer string) int {
		req := httptest.NewRequest(method, path, nil)
		auth.SetBearer(req, bearer)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		return w.Code
	}
	assert.Equal(t, http.StatusUnauthorized, call(http.MethodPost, "/halt", ""))
	assert.False(t, l.Halted())
	assert.Equal(t, http.StatusOK, call(http.MethodPost, "/halt", "tok"))
	assert.True(t, l.Halted())
	assert.Equal(t, 1, stopped, "halting stops the chaos")
	assert.Equal(t, 1.0, testutil.ToFloat64(l.Gauge()))
	assert.NotNil(t, l.State().Since)
	w := httptest.NewRecorder()
	assert.True(t, l.Refuse(w, "kills are"))
	assert.Equal(t, http.StatusConflict, w.Code)
	assert.Contains(t, w.Body.String(), "halted: kills are refused until POST /resume")
	assert.Equal(t, http.StatusOK, call(http.MethodGet, "/halt", ""))
	assert.Equal(t, http.StatusOK, call(http.MethodPost, "/resume", "tok"))
	assert.False(t, l.Halted())
	assert.Equal(t, 0.0, testutil.ToFloat64(l.Gauge()))
	assert.False(t, l.Refuse(httptest.NewRecorder(), "kills are"))

	open := chi.NewRouter()
	lever.Mount(open, lever.New(prometheus.NewRegistry()), auth.Token{}, nil)
	w = httptest.NewRecorder()
	open.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/halt", nil))
	assert.Equal(t, http.StatusForbidden, w.Code, "no token configured: the lever is not open to all")
}
