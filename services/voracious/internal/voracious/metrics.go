package voracious

import (
	"github.com/prometheus/client_golang/prometheus"

	"chaossuite.dev/voracious/internal/servo"
)

// Metrics are voracious's own series. Counters are resolved once so that an event costs one
// atomic add; apps by state are read from the store at scrape time.
type Metrics struct {
	events [][2]prometheus.Counter // [event][0 ok, 1 rejected]
	cycles prometheus.Counter
}

// NewMetrics registers voracious_events_total, voracious_apps and voracious_cycles_total.
func NewMetrics(reg prometheus.Registerer, apps func(servo.State) int64) *Metrics {
	ev := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "voracious_events_total",
		Help: "Servo events received, by event and result (ok, rejected).",
	}, []string{"event", "result"})
	m := &Metrics{
		cycles: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "voracious_cycles_total",
			Help: "Measure/adjust cycles completed over all apps.",
		}),
	}
	for _, e := range servo.Events() {
		m.events = append(m.events, [2]prometheus.Counter{
			ev.WithLabelValues(e.String(), "ok"), ev.WithLabelValues(e.String(), "rejected"),
		})
	}
	reg.MustRegister(ev, m.cycles)
	for _, s := range servo.States() {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "voracious_apps",
			Help:        "Known apps, by protocol state.",
			ConstLabels: prometheus.Labels{"state": s.String()},
		}, func() float64 { return float64(apps(s)) }))
	}
	return m
}

// Observe counts one event; the store calls it after every event.
func (m *Metrics) Observe(e servo.Event, res servo.Result, err error) {
	if int(e) >= len(m.events) {
		e = servo.EventOther
	}
	if err != nil {
		m.events[e][1].Inc()
		return
	}
	m.events[e][0].Inc()
	if res.Cycle {
		m.cycles.Inc()
	}
}
