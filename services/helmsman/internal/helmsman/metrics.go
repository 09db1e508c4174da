package helmsman

import (
	"github.com/prometheus/client_golang/prometheus"

	"chaossuite.dev/shared/chaos"
)

// Metrics are the helmsman's own metrics.
type Metrics struct {
	status     *prometheus.GaugeVec
	upgrades   *prometheus.CounterVec
	version    *prometheus.GaugeVec
	upgradeTyp *prometheus.GaugeVec
	replicas   *prometheus.GaugeVec
	duration   *prometheus.HistogramVec
	reconciles prometheus.Counter
	running    prometheus.Gauge
}

// upgradeResults are the result label's values: ok, or why the upgrade failed.
var upgradeResults = []string{"ok", chaos.ReasonRefused, chaos.ReasonUnreachable, chaos.ReasonUnverified, chaos.ReasonCanceled, chaos.ReasonOther}

// NewMetrics registers the helmsman's metrics on reg, every known series at zero.
func NewMetrics(reg prometheus.Registerer, versions []string) *Metrics {
	m := &Metrics{
		status: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "helmsman_receiver_status",
			Help: "1 for the receiver's status now (STARTING, RUNNING, UPDATING, UNHEALTHY), 0 for the others.",
		}, []string{"status"}),
		upgrades: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "helmsman_upgrade_requests_total",
			Help: "Upgrades started, by type and result (ok, or the reason it failed: refused, unreachable, unverified, canceled, other).",
		}, []string{"type", "result"}),
		version: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "helmsman_latest_version",
			Help: "1 for the desired version (the latest upgrade's, or the one adopted), 0 for the others.",
		}, []string{"version"}),
		upgradeTyp: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "helmsman_latest_upgrade_type",
			Help: "1 for the latest upgrade's type, 0 for the others.",
		}, []string{"type"}),
		replicas: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "helmsman_replicas",
			Help: "Replicas by state: ready (serving the desired version), updating (serving another, or back from lost and not yet reset), lost.",
		}, []string{"state"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:                        "helmsman_upgrade_duration_seconds",
			Help:                        "Time from an upgrade's start to every replica serving the new version (result ok), or to its failure (result: the reason, as in helmsman_upgrade_requests_total).",
			Buckets:                     []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300},
			NativeHistogramBucketFactor: 1.1,
		}, []string{"result"}),
		reconciles: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "helmsman_reconciles_total",
			Help: "Replicas found at a stale version outside an upgrade and set back to the desired one.",
		}),
		running: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "helmsman_running",
			Help: "1 while the upgrade loop runs (the status watch always does).",
		}),
	}
	reg.MustRegister(m.status, m.upgrades, m.version, m.upgradeTyp, m.replicas, m.duration, m.reconciles, m.running)
	for _, s := range Statuses {
		m.status.WithLabelValues(s)
	}
	for _, r := range upgradeResults {
		m.duration.WithLabelValues(r)
	}
	for _, t := range chaos.UpgradeTypes {
		m.upgradeTyp.WithLabelValues(string(t))
		for _, r := range upgradeResults {
			m.upgrades.WithLabelValues(string(t), r)
		}
	}
	for _, v := range versions {
		m.version.WithLabelValues(v)
	}
	for _, s := range []string{"ready", "updating", "lost"} {
		m.replicas.WithLabelValues(s)
	}
	return m
}

func oneHot(g *prometheus.GaugeVec, values []string, current string) {
	for _, v := range values {
		if v == current {
			g.WithLabelValues(v).Set(1)
		} else {
			g.WithLabelValues(v).Set(0)
		}
	}
}

// SetRunning sets helmsman_running.
func (m *Metrics) SetRunning(running bool) {
	if running {
		m.running.Set(1)
	} else {
		m.running.Set(0)
	}
}
