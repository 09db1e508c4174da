package pinger

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the pinger's series; the dashboards and the e2e checks rely on their names.
type Metrics struct {
	requests, succeeded, failed, dropped, firstFailed  *prometheus.CounterVec
	httpErrors, requestErrors, responses               *prometheus.CounterVec
	firstErrors                                        *prometheus.CounterVec
	replicaRequests, replicaFirstFailed, replicaFailed *prometheus.CounterVec
	eventFailures                                      *prometheus.GaugeVec
	duration, attempts                                 *prometheus.HistogramVec
	pending                                            *prometheus.GaugeVec
	running                                            prometheus.Gauge
}

// NewMetrics registers the pinger's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pinger_requests_total",
			Help: "Requests sent, by target.",
		}, []string{"target"}),
		succeeded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pinger_requests_succeeded_total",
			Help: "Requests whose final answer was a 2xx, retries included.",
		}, []string{"target"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pinger_requests_failed_total",
			Help: "Requests that failed after every retry.",
		}, []string{"target"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pinger_requests_dropped_total",
			Help: "Requests not sent because the pending cap was reached.",
		}, []string{"target"}),
		firstFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pinger_first_attempt_failed_total",
			Help: "Requests whose first attempt failed, whatever the retries did.",
		}, []string{"target"}),
		httpErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pinger_http_errors_total",
			Help: "Failed requests by the final HTTP status code.",
		}, []string{"target", "code"}),
		requestErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pinger_request_errors_total",
			Help: "Failed requests that got no answer, by kind (timeout, refused, reset, other).",
		}, []string{"target", "kind"}),
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pinger_responses_total",
			Help: "Successful answers by the version that served them.",
		}, []string{"target", "version"}),
		firstErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pinger_first_attempt_errors_total",
			Help: "Requests whose first attempt failed, by class (http_<code>, timeout, refused, reset, other), retried or not.",
		}, []string{"target", "class"}),
		replicaRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pinger_replica_requests_total",
			Help: "Requests by the replica (host:port) their first attempt went to; a replica gone for 5 min drops out.",
		}, []string{"target", "replica"}),
		replicaFirstFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pinger_replica_first_attempt_failed_total",
			Help: "Requests whose first attempt failed, by the replica it went to.",
		}, []string{"target", "replica"}),
		replicaFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pinger_replica_failed_total",
			Help: "Requests that failed after every retry, by the replica their first attempt went to.",
		}, []string{"target", "replica"}),
		eventFailures: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "pinger_event_failures",
			Help: "First-attempt failures since the pingers started, attributed to chaos events by type (kill_<method>, upgrade_<type>, unexplained).",
		}, []string{"target", "event"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:                        "pinger_request_duration_seconds",
			Help:                        "Time from a request's scheduled send to its final answer, retries included.",
			Buckets:                     []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
			NativeHistogramBucketFactor: 1.1,
		}, []string{"target"}),
		attempts: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pinger_request_attempts",
			Help:    "Attempts a request took.",
			Buckets: []float64{1, 2, 3, 4, 5, 6, 8, 10},
		}, []string{"target"}),
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "pinger_pending_requests", Help: "Requests in flight.",
		}, []string{"target"}),
		running: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pinger_running", Help: "1 while the pingers run.",
		}),
	}
	reg.MustRegister(m.requests, m.succeeded, m.failed, m.dropped, m.firstFailed, m.httpErrors,
		m.requestErrors, m.responses, m.firstErrors, m.replicaRequests, m.replicaFirstFailed, m.replicaFailed,
		m.eventFailures, m.duration, m.attempts, m.pending, m.running)
	return m
}

// targetMetrics are one target's series, resolved once so that the hot path does no lookup.
type targetMetrics struct {
	m                                                 *Metrics
	name                                              string
	requests, succeeded, failed, dropped, firstFailed prometheus.Counter
	duration, attempts                                prometheus.Observer
	pending                                           prometheus.Gauge
}

func (m *Metrics) forTarget(name string) *targetMetrics {
	return &targetMetrics{
		m: m, name: name,
		requests: m.requests.WithLabelValues(name), succeeded: m.succeeded.WithLabelValues(name),
		failed: m.failed.WithLabelValues(name), dropped: m.dropped.WithLabelValues(name),
		firstFailed: m.firstFailed.WithLabelValues(name),
		duration:    m.duration.WithLabelValues(name), attempts: m.attempts.WithLabelValues(name),
		pending: m.pending.WithLabelValues(name),
	}
}

// record counts one result; replica and version are the recorder's bounded labels for it
// (empty when none).
func (t *targetMetrics) record(r Result, replica, version string) {
	if r.Dropped {
		t.dropped.Inc()
		return
	}
	t.requests.Inc()
	t.duration.Observe(r.Latency.Seconds())
	t.attempts.Observe(float64(r.Attempts))
	if replica != "" {
		t.m.replicaRequests.WithLabelValues(t.name, replica).Inc()
	}
	if !r.FirstOK {
		t.firstFailed.Inc()
		t.m.firstErrors.WithLabelValues(t.name, r.firstClass()).Inc()
		if replica != "" {
			t.m.replicaFirstFailed.WithLabelValues(t.name, replica).Inc()
		}
	}
	if r.OK {
		t.succeeded.Inc()
		if version != "" {
			t.m.responses.WithLabelValues(t.name, version).Inc()
		}
		return
	}
	t.failed.Inc()
	if replica != "" {
		t.m.replicaFailed.WithLabelValues(t.name, replica).Inc()
	}
	if r.Code != 0 {
		t.m.httpErrors.WithLabelValues(t.name, strconv.Itoa(r.Code)).Inc()
	} else {
		t.m.requestErrors.WithLabelValues(t.name, r.Kind).Inc()
	}
}

// forgetReplica drops a gone replica's series.
func (t *targetMetrics) forgetReplica(replica string) {
	for _, v := range []*prometheus.CounterVec{t.m.replicaRequests, t.m.replicaFirstFailed, t.m.replicaFailed} {
		v.DeleteLabelValues(t.name, replica)
	}
}
