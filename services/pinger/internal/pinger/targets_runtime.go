package pinger

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"chaossuite.dev/shared/web"
)

// maxPlanTargets bounds the targets a plan may set at once.
const maxPlanTargets = 32

// probes is the target list now.
func (p *Pinger) probes() []*probe {
	p.targetsMu.RLock()
	defer p.targetsMu.RUnlock()
	return p.targets
}

// newProbe builds a target's sender, pacer and recorder.
func (p *Pinger) newProbe(t Target) *probe {
	o := p.opts
	rec := newRecorder(o.Metrics.forTarget(t.Name))
	limit := max(1, int(o.PendingFactor*t.QPS))
	return &probe{
		target:   t,
		recorder: rec,
		attacker: &Attacker{
			Sender:   NewSender(t, o.Token, o.Policy, o.Timeout, o.Clock, limit, o.Network),
			Pacer:    NewShapedPacer(t.QPS, o.PendingFactor),
			Cap:      limit,
			Recorder: rec,
			Clock:    o.Clock,
		},
	}
}

// errRunning refuses a target change while the pingers run.
var errRunning = web.Errorf(http.StatusConflict, "the pingers are running: POST /stop-pingers first")

// SetTargets replaces the targets (a plan's), only while the pingers are stopped; nil puts the
// configured ones back. The series of targets that leave are dropped.
func (p *Pinger) SetTargets(ts []Target) error {
	p.targetsMu.Lock()
	defer p.targetsMu.Unlock()
	if running, _ := p.loop.Running(); running {
		return errRunning
	}
	if ts == nil {
		ts = p.opts.Targets
	}
	keep := map[string]bool{}
	for _, t := range ts {
		keep[t.Name] = true
	}
	for _, old := range p.targets {
		if !keep[old.target.Name] {
			p.metrics.forget(old.target.Name)
		}
	}
	next := make([]*probe, 0, len(ts))
	for _, t := range ts {
		next = append(next, p.newProbe(t))
	}
	p.targets = next
	return nil
}

func handleSetTargets(p *Pinger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, web.MaxBodyBytes))
		if err != nil {
			web.Error(w, http.StatusRequestEntityTooLarge, "the list is too large")
			return
		}
		ts, err := ParseTargets(string(data))
		if err == nil && (len(ts) == 0 || len(ts) > maxPlanTargets) {
			err = fmt.Errorf("want 1 to %d targets", maxPlanTargets)
		}
		if err != nil {
			web.Error(w, http.StatusBadRequest, err.Error())
			return
		}
		if err := p.SetTargets(ts); err != nil {
			web.Fail(w, err)
			return
		}
		p.log.Info("targets set", "targets", len(ts))
		web.Encode(w, http.StatusOK, targetNames(p))
	})
}

func handleResetTargets(p *Pinger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if err := p.SetTargets(nil); err != nil {
			web.Fail(w, err)
			return
		}
		web.Encode(w, http.StatusOK, targetNames(p))
	})
}

func targetNames(p *Pinger) json.RawMessage {
	var names []string
	for _, t := range p.probes() {
		names = append(names, t.target.Name)
	}
	data, _ := json.Marshal(map[string]any{"targets": names})
	return data
}

// forget drops every series of a target that is no longer probed.
func (m *Metrics) forget(target string) {
	l := prometheus.Labels{"target": target}
	for _, v := range []*prometheus.CounterVec{m.requests, m.succeeded, m.failed, m.dropped, m.firstFailed, m.httpErrors,
		m.requestErrors, m.responses, m.firstErrors, m.replicaRequests, m.replicaFirstFailed, m.replicaFailed} {
		v.DeletePartialMatch(l)
	}
	for _, v := range []*prometheus.HistogramVec{m.duration, m.attempts} {
		v.DeletePartialMatch(l)
	}
	m.pending.DeletePartialMatch(l)
	m.eventFailures.DeletePartialMatch(l)
}
