package nodekiller_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/shared/chaos"
	"chaossuite.dev/shared/proctest"
)

// While halted the nodekiller carries out no kill: 409 "halted", recorded as rejected; the
// lever needs the token, and /resume lifts it.
func TestHaltRefusesKills(t *testing.T) {
	f := newFixture(t, token, chaos.RoundRobin, 1, false, "a", "b", "c")
	post := func(path, bearer string) int {
		code, _, err := proctest.TryCall(http.MethodPost, f.srv.URL+path, bearer, "")
		require.NoError(t, err)
		return code
	}
	assert.Equal(t, http.StatusUnauthorized, post("/halt", "wrong"))
	require.Equal(t, http.StatusOK, post("/halt", token))
	code, body := f.kill(t, token, "application/json", `{"method":"stop"}`)
	assert.Equal(t, http.StatusConflict, code)
	assert.Contains(t, body["detail"], "halted")
	assert.Zero(t, f.killer.killCount(), "no kill while halted")
	info := f.nk.Info(context.Background())
	assert.True(t, info.Halt.Halted)
	assert.Equal(t, "halted", info.Kills[0].Error)

	require.Equal(t, http.StatusOK, post("/resume", token))
	code, _ = f.kill(t, token, "application/json", `{"method":"stop"}`)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, 1, f.killer.killCount())
	assert.False(t, f.nk.Info(context.Background()).Halt.Halted)
}

// A halt answers once the kill under way has ended: after it, nothing is being killed.
func TestHaltWaitsForTheKillUnderWay(t *testing.T) {
	f := newFixture(t, token, chaos.RoundRobin, 1, false, "a", "b", "c")
	entered, release := make(chan struct{}), make(chan struct{})
	f.killer.killing = func(context.Context) { close(entered); <-release }
	killed := make(chan int)
	go func() { code, _ := f.kill(t, token, "application/json", `{"method":"halt"}`); killed <- code }()
	<-entered
	halted := make(chan int)
	go func() {
		code, _, _ := proctest.TryCall(http.MethodPost, f.srv.URL+"/halt", token, "")
		halted <- code
	}()
	select {
	case <-halted:
		t.Fatal("the halt answered while a kill was under way")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	assert.Equal(t, http.StatusOK, <-killed)
	assert.Equal(t, http.StatusOK, <-halted)
}
