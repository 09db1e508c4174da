package receiver

import (
	"github.com/prometheus/client_golang/prometheus"

	"chaossuite.dev/shared/chaos"
)

// Metrics are the receiver's own series, named as the dashboards read them.
type Metrics struct {
	requests   *prometheus.CounterVec
	kills      *prometheus.CounterVec
	generation prometheus.Gauge
	info       *prometheus.GaugeVec
	node       string
}

// NewMetrics registers the receiver's metrics on reg.
func NewMetrics(reg prometheus.Registerer, node string) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "receiver_requests_total",
			Help: "Requests answered on /, by the version that answered them.",
		}, []string{"version"}),
		kills: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "receiver_kill_requests_total",
			Help: "Kill requests forwarded to the nodekiller, by method and result.",
		}, []string{"method", "result"}),
		generation: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "receiver_config_generation",
			Help: "Generation of the in-place configuration; each upgrade adds one.",
		}),
		info: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "receiver_info",
			Help: "Always 1, labelled with the version served and the node.",
		}, []string{"version", "node"}),
		node: node,
	}
	// Every series starts at zero, so that a receiver's first kill request shows as an
	// increase (a series born at 1 has none to Prometheus); replacements start fresh often.
	for _, method := range chaos.KillMethods {
		for _, result := range []string{"ok", "rejected", "error"} {
			m.kills.WithLabelValues(string(method), result)
		}
	}
	reg.MustRegister(m.requests, m.kills, m.generation, m.info)
	return m
}

// Swapped records a configuration change.
func (m *Metrics) Swapped(old, next Settings) {
	if old.Version != "" && old.Version != next.Version {
		m.info.DeleteLabelValues(old.Version, m.node)
	}
	m.info.WithLabelValues(next.Version, m.node).Set(1)
	m.generation.Set(float64(next.Generation))
}
