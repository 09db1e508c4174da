package pinger

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/shared/httpclient"
)

// replicas serves one port on three loopback addresses, as three replicas behind one name;
// each counts what it served (the ground truth) and may be told to fail.
type replicas struct {
	port    string
	ips     []string
	served  [3]atomic.Int64
	failing [3]atomic.Bool
}

func newReplicas(t *testing.T) *replicas {
	t.Helper()
	r := &replicas{ips: []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}}
	for attempt := 0; attempt < 20; attempt++ {
		first, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		port := strconv.Itoa(first.Addr().(*net.TCPAddr).Port)
		lns := []net.Listener{first}
		for _, ip := range r.ips[1:] {
			ln, err := net.Listen("tcp", ip+":"+port)
			if err != nil {
				break
			}
			lns = append(lns, ln)
		}
		if len(lns) < 3 {
			for _, ln := range lns {
				ln.Close()
			}
			continue
		}
		r.port = port
		for i, ln := range lns {
			srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("X-Receiver-Node", "node-"+strconv.Itoa(i+1))
				if r.failing[i].Load() {
					w.WriteHeader(http.StatusServiceUnavailable)
					return
				}
				r.served[i].Add(1)
			})}}
			srv.Start()
			t.Cleanup(srv.Close)
		}
		return r
	}
	t.Skip("no port free on 127.0.0.1, .2 and .3 at once")
	return nil
}

// lookup resolves "replicas.test" to the three addresses, in a fixed order as Go's dialer would
// try them.
func (r *replicas) lookup(_ context.Context, host string) ([]string, error) {
	if host != "replicas.test" {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return r.ips, nil
}

func (r *replicas) url() string { return "http://replicas.test:" + r.port + "/" }

// sendN sends n requests through a sender of mode, one after the other.
func (r *replicas) sendN(t *testing.T, mode ConnectionMode, policy httpclient.Policy, n int) (*Sender, *Recorder) {
	t.Helper()
	tg := Target{Name: "t", URL: r.url(), QPS: 100, Method: http.MethodGet, Connection: mode}
	require.NoError(t, tg.Validate())
	s := NewSender(tg, "", policy, time.Second, RealClock{}, 8, Network{Lookup: r.lookup})
	s.conn.resolve(context.Background())
	rec := newRecorder(NewMetrics(prometheus.NewRegistry()).forTarget("t"))
	rec.Start(time.Now())
	for i := range n {
		rec.Record(s.Send(context.Background(), uint64(i), time.Now()))
	}
	return s, rec
}

func TestSpreadReachesEveryReplica(t *testing.T) {
	r := newReplicas(t)
	_, rec := r.sendN(t, Spread, noRetry(), 300)
	for i := range r.served {
		assert.EqualValues(t, 100, r.served[i].Load(), "replica %d served a third, by its own count", i+1)
	}
	st := rec.Stats(time.Now(), false)
	require.Len(t, st.Replicas, 3)
	for i, rs := range st.Replicas {
		assert.Equal(t, r.ips[i]+":"+r.port, rs.Replica)
		assert.EqualValues(t, 100, rs.Requests)
		assert.InDelta(t, 1.0/3, rs.Share, 0.001)
		assert.Equal(t, []string{"node-" + strconv.Itoa(i+1)}, rs.Nodes, "the node named by X-Receiver-Node")
	}
}

func TestKeepAliveRidesOneReplica(t *testing.T) {
	r := newReplicas(t)
	_, rec := r.sendN(t, KeepAlive, noRetry(), 60)
	// Go's dialer tries the name's addresses in order: one long-lived client reaches one
	// replica, which is why spread is the default.
	st := rec.Stats(time.Now(), false)
	require.Len(t, st.Replicas, 1)
	assert.EqualValues(t, 60, st.Replicas[0].Requests)
	assert.EqualValues(t, 60, r.served[0].Load()+r.served[1].Load()+r.served[2].Load())
	assert.EqualValues(t, 60, max(r.served[0].Load(), r.served[1].Load(), r.served[2].Load()))
}

func TestNewConnectionSpreadsWithoutReuse(t *testing.T) {
	r := newReplicas(t)
	var dials atomic.Int64
	tg := Target{Name: "t", URL: r.url(), QPS: 100, Method: http.MethodGet, Connection: NewConnection}
	require.NoError(t, tg.Validate())
	s := NewSender(tg, "", noRetry(), time.Second, RealClock{}, 8, Network{Lookup: r.lookup})
	s.conn.transport.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	s.conn.resolve(context.Background())
	for i := range 30 {
		require.True(t, s.Send(context.Background(), uint64(i), time.Now()).OK)
	}
	assert.EqualValues(t, 30, dials.Load(), "a connection per request")
	for i := range r.served {
		assert.EqualValues(t, 10, r.served[i].Load())
	}
}

func TestFailureIsAttributedToItsReplica(t *testing.T) {
	r := newReplicas(t)
	r.failing[1].Store(true) // the second replica answers 503
	policy := httpclient.Policy{MaxAttempts: 3, Base: time.Millisecond, Max: time.Millisecond}
	s, rec := r.sendN(t, Spread, policy, 90)
	st := rec.Stats(time.Now(), false)
	require.Len(t, st.Replicas, 3)
	bad := r.ips[1] + ":" + r.port
	for _, rs := range st.Replicas {
		if rs.Replica == bad {
			assert.EqualValues(t, 30, rs.FirstAttemptFailed, "every first attempt on the failing replica")
			assert.Equal(t, []string{"node-2"}, rs.Nodes, "named by its 503s too")
		} else {
			assert.Zero(t, rs.FirstAttemptFailed)
		}
		assert.Zero(t, rs.Failed, "the retry went to the next replica and succeeded")
	}
	assert.EqualValues(t, 30, st.SinceStart.FirstAttemptFailed)
	assert.Zero(t, st.SinceStart.Failed)
	assert.EqualValues(t, 30, st.FirstAttemptErrors["http_503"].Count, "first-attempt failures are explained by class")
	assert.Empty(t, st.Errors, "nothing failed after retries")
	assert.EqualValues(t, 90, r.served[0].Load()+r.served[2].Load(), "ground truth: the healthy replicas served all")

	failures, _ := rec.Failures(time.Now().Add(-time.Minute), time.Now())
	require.Len(t, failures, 30)
	for _, f := range failures {
		assert.Equal(t, bad, f.Replica)
		assert.False(t, f.Final)
	}
	_ = s
	assert.InDelta(t, 30, testutil.ToFloat64(rec.metrics.m.replicaFirstFailed.WithLabelValues("t", bad)), 0)
	assert.InDelta(t, 30, testutil.ToFloat64(rec.metrics.m.firstErrors.WithLabelValues("t", "http_503")), 0)
}

func TestSpreadFollowsTheName(t *testing.T) {
	// On synctest's fake clock the name is resolved every 5 ms exactly; each look below falls
	// between two resolutions.
	synctest.Test(t, func(t *testing.T) {
		var ips atomic.Pointer[[]string]
		ips.Store(&[]string{"127.0.0.1", "127.0.0.2"})
		lookup := func(context.Context, string) ([]string, error) { return *ips.Load(), nil }
		tg := Target{Name: "t", URL: "http://replicas.test:8000/", QPS: 100, Method: http.MethodGet}
		require.NoError(t, tg.Validate())
		s := NewSender(tg, "", noRetry(), time.Second, RealClock{}, 8, Network{Lookup: lookup, ResolveEvery: 5 * time.Millisecond})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); s.conn.run(ctx) }()
		defer func() { cancel(); <-done }()
		after := func(d time.Duration) {
			time.Sleep(d)
			synctest.Wait()
		}
		after(7 * time.Millisecond) // resolved once, at 5 ms
		assert.Len(t, s.conn.Addresses(), 2)
		ips.Store(&[]string{"127.0.0.3", "127.0.0.2", "127.0.0.1"})
		after(5 * time.Millisecond)
		assert.Len(t, s.conn.Addresses(), 3, "a new replica joins")
		ips.Store(&[]string{})
		after(20 * time.Millisecond) // four more resolutions
		assert.Len(t, s.conn.Addresses(), 3, "an empty answer keeps the addresses known")
		assert.True(t, strings.HasPrefix(s.conn.Addresses()[0], "127.0.0.1:"), "sorted, whatever order the resolver gives")
	})
}
