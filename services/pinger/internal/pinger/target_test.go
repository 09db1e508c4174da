package pinger

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValidVersionHeader(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{in: "", want: "X-Receiver-Version"},
		{in: "x-app-version", want: "X-App-Version"},
		{in: "X-Served-By_2", want: "X-Served-By_2"},
		{in: "none", want: NoVersion},
		{in: "NONE", want: NoVersion},
		{in: "X Version", err: `version header "X Version"`},
		{in: "X-Version:", err: "want a header name"},
		{in: "X-Version\n", err: "want a header name"},
		{in: strings.Repeat("a", 65), err: "at most 64"},
	} {
		got, err := ValidVersionHeader(tc.in)
		if tc.err != "" {
			assert.ErrorContains(t, err, tc.err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
}

func TestParseTargetsVersionHeader(t *testing.T) {
	ts, err := ParseTargets(`[{"name":"a","url":"http://x/","qps":1},{"name":"b","url":"http://x/","qps":1,"version_header":"x-app-version"},` +
		`{"name":"c","url":"http://x/","qps":1,"version_header":"none"}]`)
	require.NoError(t, err)
	assert.Equal(t, []string{DefaultVersionHeader, "X-App-Version", NoVersion},
		[]string{ts[0].VersionHeader, ts[1].VersionHeader, ts[2].VersionHeader})
	_, err = ParseTargets(`[{"name":"web","url":"http://x/","qps":1,"version_header":"X Version"}]`)
	assert.ErrorContains(t, err, `target web: version header "X Version"`)
}

// The version of an answer comes from the header the target names, a JSON body's "version"
// standing in when that header is absent; a target with none records no version at all.
func TestVersionFromTheNamedHeader(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Receiver-Version", "receiver-says")
		w.Header().Set("X-App-Version", "app-says")
		_, _ = w.Write([]byte(`{"service":"web","version":"body-says"}`))
	})
	for _, tc := range []struct{ header, want string }{
		{"", "receiver-says"},
		{"X-App-Version", "app-says"},
		{"x-app-version", "app-says"},
		{"X-Absent", "body-says"},
		{"none", ""},
	} {
		synctest.Test(t, func(t *testing.T) {
			tg := Target{Name: "t", URL: memoryURL, Method: "GET", QPS: 20, VersionHeader: tc.header}
			require.NoError(t, tg.Validate())
			res := NewSender(tg, "", noRetry(), time.Second, RealClock{}, 4, inMemory(h)).Send(context.Background(), 0, time.Now())
			require.True(t, res.OK, tc.header)
			assert.Equal(t, tc.want, res.Version, "version_header %q", tc.header)

			st := run(t, tg, h, 10, noRetry(), time.Second, 300*time.Millisecond-time.Millisecond)
			require.NotZero(t, st.Lifetime.Succeeded, tc.header)
			if tc.want == "" {
				assert.Empty(t, st.Versions, "version_header none records no version")
			} else {
				assert.Equal(t, map[string]uint64{tc.want: st.Lifetime.Succeeded}, st.Versions, tc.header)
			}
		})
	}
}
