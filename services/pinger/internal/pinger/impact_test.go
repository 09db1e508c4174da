package pinger

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func secs(v float64) *float64 { return &v }

// A recorded timeline: three replicas, a halt of r2 at 10 s that recovered in 6 s, a pause of r3
// at 40 s whose recovery was never seen, a ROLLOUT from 60 s to 75 s, and stray failures.
func TestAttributeFromATimeline(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	r1, r2, r3 := "10.0.0.1:8000", "10.0.0.2:8000", "10.0.0.3:8000"
	failures := []Failure{
		{At: at(9.5), Replica: r2, Class: "reset"},                 // in flight as the halt landed (1 s lead)
		{At: at(10.2), Replica: r2, Class: "refused"},              // the node is down
		{At: at(15.9), Replica: r2, Class: "refused", Final: true}, // failed on every retry too
		{At: at(20.5), Replica: r2, Class: "refused"},              // 6 s recovery + 5 s tail = 21 s: still the halt
		{At: at(12), Replica: r1, Class: "timeout"},                // another replica: not the halt's
		{At: at(41), Replica: r3, Class: "timeout"},                // the pause: named by node, not address
		{At: at(62), Replica: r1, Class: "http_503"},               // the rollout touches every replica
		{At: at(79), Replica: r1, Class: "http_503"},               // 75 s + 5 s tail
		{At: at(120), Replica: r1, Class: "reset"},                 // nothing under way
	}
	events := []Event{
		{At: at(60), Kind: "upgrade", Type: "ROLLOUT", What: "ROLLOUT alpha to beta", Seconds: secs(15)},
		{At: at(10), Kind: "kill", Type: "halt", Victim: "proj-receiver-2-1", Address: "http://10.0.0.2:8000", Seconds: secs(6)},
		{At: at(40), Kind: "kill", Type: "pause", Victim: "receiver-3"},
	}
	nodes := map[string][]string{r3: {"receiver-3"}}
	var asked [][2]time.Time
	p99 := func(from, to time.Time) *float64 { asked = append(asked, [2]time.Time{from, to}); return secs(1500) }
	imp := Attribute(failures, events, nodes, p99, at(130))

	require.Len(t, imp.Events, 3)
	halt, pause, rollout := imp.Events[0], imp.Events[1], imp.Events[2]
	assert.Equal(t, "halt", halt.Type, "events in time order")
	assert.EqualValues(t, 4, halt.FirstAttemptFailures)
	assert.EqualValues(t, 1, halt.Failures)
	assert.Equal(t, at(9.5), *halt.OutageFrom)
	assert.Equal(t, at(20.5), *halt.OutageTo)
	assert.InDelta(t, 11, halt.OutageSeconds, 1e-9)
	assert.Equal(t, 1500.0, *halt.P99Ms)
	assert.Contains(t, asked, [2]time.Time{at(9.5), at(20.5)}, "p99 over the outage window")

	assert.EqualValues(t, 1, pause.FirstAttemptFailures, "an unknown recovery still gets a window")
	assert.EqualValues(t, 2, rollout.FirstAttemptFailures)
	assert.InDelta(t, 17, rollout.OutageSeconds, 1e-9)

	assert.EqualValues(t, 2, imp.Unexplained.FirstAttemptFailures)
	assert.EqualValues(t, map[string]uint64{r1: 2}, imp.Unexplained.ByReplica)
	assert.EqualValues(t, map[string]uint64{"timeout": 1, "reset": 1}, imp.Unexplained.ByClass)

	require.Len(t, imp.Summary, 3)
	assert.Equal(t, ImpactSummary{Kind: "kill", Type: "halt", Events: 1, FirstAttemptFailures: 4, Failures: 1,
		PerEventMean: 4, PerEventMax: 4, SecondsMean: secs(6), SecondsMax: secs(6)}, imp.Summary[0])
	assert.Nil(t, imp.Summary[1].SecondsMean, "the pause never recovered in view")
	assert.Equal(t, "upgrade", imp.Summary[2].Kind)
}

func TestAttributePrefersTheLatestKillOfTheReplica(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	events := []Event{
		{At: t0, Kind: "kill", Type: "stop", Address: "http://10.0.0.2:8000", Seconds: secs(30)},
		{At: t0.Add(10 * time.Second), Kind: "kill", Type: "halt", Address: "http://10.0.0.2:8000", Seconds: secs(5)},
	}
	imp := Attribute([]Failure{{At: t0.Add(11 * time.Second), Replica: "10.0.0.2:8000"}}, events, nil, nil, t0.Add(time.Minute))
	assert.Zero(t, imp.Events[0].FirstAttemptFailures)
	assert.EqualValues(t, 1, imp.Events[1].FirstAttemptFailures)
}

// A paused victim that a rollout replaces ends its kill when it is gone: the failures at its
// address after that belong to the rollout, not to a kill that would otherwise last a minute.
func TestAKillEndsWhenAnUpgradeReplacesItsVictim(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	events := nodekillerEvents([]byte(`{"kills":[{"at":"2026-01-01T12:00:00Z","victim":"web-1","address":"http://10.0.0.2:8000",
		"method":"pause","result":"ok","gone_seconds":12}]}`))
	require.Len(t, events, 1)
	require.NotNil(t, events[0].Seconds)
	assert.InDelta(t, 12, *events[0].Seconds, 1e-9, "gone_seconds ends the kill")
	events = append(events, helmsmanEvents([]byte(`{"history":[{"type":"ROLLOUT","version":"b","started_at":"2026-01-01T12:00:05Z",
		"duration_seconds":40,"result":"ok"}]}`))...)
	require.Len(t, events, 2)
	failures := []Failure{
		{At: t0.Add(3 * time.Second), Replica: "10.0.0.2:8000"},  // paused
		{At: t0.Add(30 * time.Second), Replica: "10.0.0.2:8000"}, // the rollout's replacement, same address
	}
	imp := Attribute(failures, events, nil, nil, t0.Add(time.Minute))
	require.Len(t, imp.Events, 2)
	for _, e := range imp.Events {
		assert.EqualValues(t, 1, e.FirstAttemptFailures, "%s %s", e.Event.Kind, e.Event.Type)
	}
	assert.Zero(t, imp.Unexplained.FirstAttemptFailures)
}

// The report covers the pingers' last run: results and events from before it are left out.
func TestReportCoversOnlyItsWindow(t *testing.T) {
	t0 := time.Now().Add(-10 * time.Minute).Truncate(10 * time.Second)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	nodekiller := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"kills": []map[string]any{
			{"at": at(250), "victim": "r2", "address": "http://10.0.0.2:8000", "method": "halt", "result": "ok", "recovery_seconds": 4},
			{"at": at(30), "victim": "r1", "address": "http://10.0.0.1:8000", "method": "stop", "result": "ok", "recovery_seconds": 4},
			{"at": at(240), "method": "halt", "result": "rejected"},
		}})
	}))
	defer nodekiller.Close()
	helmsman := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"history": []map[string]any{
			{"type": "ROLLOUT", "version": "beta", "from_version": "alpha", "started_at": at(60), "duration_seconds": 10, "result": "ok"},
		}})
	}))
	defer helmsman.Close()
	p := New(context.Background(), Options{
		Targets: []Target{{Name: "receiver", URL: "http://receiver.test/", QPS: 1, Connection: Spread}},
		Metrics: NewMetrics(prometheus.NewRegistry()), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Reaper: &Peer{Name: "reaper"}, Helmsman: &Peer{Name: "helmsman", URL: helmsman.URL, Client: http.DefaultClient},
		Nodekiller: &Peer{Name: "nodekiller", URL: nodekiller.URL, Client: http.DefaultClient},
	})
	rec := p.targets[0].recorder
	result := func(s int, replica string, ok bool) Result {
		r := Result{Target: "receiver", Scheduled: at(s), Latency: 5 * time.Millisecond, Attempts: 1, OK: ok, FirstOK: ok, Replica: replica}
		if !ok {
			r.Code, r.FirstCode, r.Reason, r.FirstFailedAt = 503, 503, "503 draining", at(s)
		}
		return r
	}
	// An earlier run, with a failure of its own during the stop of r1.
	rec.Start(at(0))
	rec.Record(result(31, "10.0.0.1:8000", false))
	rec.Record(result(32, "10.0.0.2:8000", true))
	rec.Stop(at(100))
	// The run the report covers.
	rec.Start(at(200))
	for s := 200; s < 300; s++ {
		rec.Record(result(s, []string{"10.0.0.1:8000", "10.0.0.2:8000"}[s%2], s != 251 && s != 253))
	}
	rec.Stop(at(300))

	rep := p.Report(context.Background())
	assert.Equal(t, at(200).UTC(), rep.From)
	assert.Equal(t, at(300).UTC(), rep.To)
	require.Len(t, rep.Events, 1, "the earlier kill and upgrade and the refused kill are left out")
	assert.Equal(t, "halt r2", rep.Events[0].What)
	tr := rep.Targets[0]
	assert.EqualValues(t, 100, tr.SinceStart.Requests)
	assert.EqualValues(t, 2, tr.SinceStart.FirstAttemptFailed)
	for _, b := range tr.Timeline {
		assert.False(t, b.Start.Before(at(200)), "bucket %s is before the window", b.Start)
	}
	assert.Len(t, tr.Timeline, 10)
	require.Len(t, tr.Impact.Events, 1)
	assert.EqualValues(t, 2, tr.Impact.Events[0].FirstAttemptFailures, "both failures on r2 belong to its halt")
	assert.Zero(t, tr.Impact.Unexplained.FirstAttemptFailures, "the earlier run's failure is not in this one")
	require.Len(t, tr.Replicas, 2)
	assert.InDelta(t, 0.5, tr.Replicas[0].Share, 1e-9)

	page, err := RenderHTML(rep)
	require.NoError(t, err)
	html := string(page)
	assert.Contains(t, html, "halt r2")
	assert.NotContains(t, html, "stop r1")
	assert.NotContains(t, html, "ROLLOUT")
	assert.Equal(t, 1, strings.Count(html, `class="impact"`))
	assert.Contains(t, html, "http_503")
}

// The peers' answers are decoded leniently: whatever they hold, the events decoded from them
// attribute without panicking, and every failure is counted exactly once.
func FuzzPeerEvents(f *testing.F) {
	f.Add([]byte(`{"kills":[{"at":"2026-01-01T12:00:00Z","victim":"r1","address":"http://10.0.0.1:8000","method":"halt","result":"ok","recovery_seconds":4}]}`))
	f.Add([]byte(`{"history":[{"type":"ROLLOUT","version":"b","started_at":"2026-01-01T12:00:00Z","duration_seconds":-5,"result":"ok"}],"upgrading":{"type":"IN_PLACE","started_at":"2026-01-01T12:00:10Z"}}`))
	f.Add([]byte(`{"last_results":[{"at":"2026-01-01T12:00:00Z","method":"stop","result":"error"}]}`))
	f.Add([]byte(`{"kills":[{"address":"::::","recovery_seconds":1e308}]}`))
	f.Add([]byte(`{"kills":[{"at":"2026-01-01T12:00:00Z","address":"http://10.0.0.1:8000","method":"pause","result":"ok","gone_seconds":-1}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var events []Event
		events = append(events, nodekillerEvents(data)...)
		events = append(events, helmsmanEvents(data)...)
		events = append(events, reaperEvents(data)...)
		t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
		failures := []Failure{{At: t0, Replica: "10.0.0.1:8000"}, {At: t0.Add(5 * time.Second), Replica: "[::1]:80", Final: true}, {At: t0.Add(time.Hour)}}
		imp := Attribute(failures, events, nil, func(from, to time.Time) *float64 { return nil }, t0.Add(2*time.Hour))
		n := imp.Unexplained.FirstAttemptFailures
		for _, e := range imp.Events {
			n += e.FirstAttemptFailures
		}
		if n != uint64(len(failures)) {
			t.Fatalf("%d failures attributed, want %d", n, len(failures))
		}
	})
}
