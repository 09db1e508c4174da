package voracious

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConcurrentServos drives many apps and one hot app through the whole router at once, with
// statistics and /info read meanwhile: go test -race finds any unguarded state.
func TestConcurrentServos(t *testing.T) {
	e := newEnv(t, false)
	post := func(app, body string) int {
		resp, err := http.Post(e.srv.URL+"/accounts/a/applications/"+app+"/servo", "", strings.NewReader(body))
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, 200, post("hot", `{"event":"HELLO"}`))
	require.Equal(t, 200, post("hot", `{"event":"DESCRIPTION"}`))
	require.Equal(t, 200, post("hot", `{"event":"MEASUREMENT","param":{"progress":1}}`))

	var wg sync.WaitGroup
	const apps, cycles = 16, 5
	for i := range apps {
		wg.Go(func() {
			app := fmt.Sprintf("app%05d", i)
			for _, b := range []string{`{"event":"HELLO"}`, `{"event":"DESCRIPTION"}`} {
				assert.Equal(t, 200, post(app, b))
			}
			for range cycles {
				for _, b := range []string{`{"event":"MEASUREMENT","param":{"progress":5}}`, `{"event":"MEASUREMENT"}`,
					`{"event":"WHATS_NEXT"}`, `{"event":"ADJUSTMENT","param":{"progress":5}}`, `{"event":"ADJUSTMENT"}`} {
					assert.Equal(t, 200, post(app, b), "%s %s", app, b)
				}
			}
		})
	}
	for range 8 {
		wg.Go(func() {
			for range 20 {
				post("hot", `{"event":"MEASUREMENT","param":{"progress":1}}`)
				for _, path := range []string{"/", "/info"} {
					if resp, err := http.Get(e.srv.URL + path); err == nil {
						resp.Body.Close()
					}
				}
			}
		})
	}
	wg.Wait()
	st := e.store.Stats()
	assert.Equal(t, apps+1, st.N)
	assert.Equal(t, uint64(cycles), *st.Max)
	hot, _ := e.store.Get("a", "hot")
	assert.Equal(t, "in-measure", hot.State.String())
}
