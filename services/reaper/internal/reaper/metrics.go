package reaper

import (
	"github.com/prometheus/client_golang/prometheus"

	"chaossuite.dev/shared/chaos"
)

// Metrics are the reaper's own metrics.
type Metrics struct {
	kills   *prometheus.CounterVec
	latest  *prometheus.GaugeVec
	running prometheus.Gauge
}

// NewMetrics registers the reaper's metrics on reg, every series of methods at zero.
func NewMetrics(reg prometheus.Registerer, methods []chaos.KillMethod) *Metrics {
	m := &Metrics{
		kills: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reaper_kill_requests_total",
			Help: "Kill requests sent to the receiver, by method and result (ok, rejected, error).",
		}, []string{"method", "result"}),
		latest: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "reaper_latest_kill_method",
			Help: "1 for the method of the latest kill request, 0 for the others.",
		}, []string{"method"}),
		running: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "reaper_running",
			Help: "1 while the kill loop runs.",
		}),
	}
	reg.MustRegister(m.kills, m.latest, m.running)
	for _, meth := range methods {
		m.latest.WithLabelValues(string(meth))
		for _, r := range Results {
			m.kills.WithLabelValues(string(meth), r)
		}
	}
	return m
}

func (m *Metrics) record(r Result, methods []chaos.KillMethod) {
	m.kills.WithLabelValues(r.Method, r.Result).Inc()
	for _, meth := range methods {
		v := 0.0
		if string(meth) == r.Method {
			v = 1
		}
		m.latest.WithLabelValues(string(meth)).Set(v)
	}
}

// SetRunning sets reaper_running.
func (m *Metrics) SetRunning(running bool) {
	if running {
		m.running.Set(1)
	} else {
		m.running.Set(0)
	}
}
