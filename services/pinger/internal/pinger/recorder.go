package pinger

import (
	"maps"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

const (
	windowSeconds = 3600     // per-second slots kept for the 1 m / 5 m / 1 h rates and the impact table
	bucketWidth   = 10       // seconds per bucket of the report's timeline
	maxTimeline   = 6 * 1440 // timeline buckets kept: a day
	maxReasons    = 10       // distinct reasons kept per error class
	maxVersions   = 32       // distinct versions kept; later ones count as "other"
	maxFailures   = 20000    // first-attempt failures kept for the impact table
)

// Counts are request totals.
type Counts struct {
	Requests           uint64 `json:"requests"`
	Succeeded          uint64 `json:"succeeded"`
	Failed             uint64 `json:"failed"`
	Dropped            uint64 `json:"dropped"`
	FirstAttemptFailed uint64 `json:"first_attempt_failed"`
	Attempts           uint64 `json:"attempts"`
}

func (c *Counts) add(r Result) {
	if r.Dropped {
		c.Dropped++
		return
	}
	c.Requests++
	c.Attempts += uint64(r.Attempts)
	if r.OK {
		c.Succeeded++
	} else {
		c.Failed++
	}
	if !r.FirstOK {
		c.FirstAttemptFailed++
	}
}

type second struct {
	at              int64 // unix second this slot holds
	total, ok, fail uint64
	firstFailed     uint64
	latency         coarseHist
}

// ErrorClass is one kind of failure with a few of its reasons.
type ErrorClass struct {
	Count   uint64            `json:"count"`
	Reasons map[string]uint64 `json:"reasons"`
}

// errorClasses counts failures by class, keeping a few reasons each.
type errorClasses map[string]*ErrorClass

func (e errorClasses) add(class, reason string) {
	ec := e[class]
	if ec == nil {
		ec = &ErrorClass{Reasons: map[string]uint64{}}
		e[class] = ec
	}
	ec.Count++
	if _, ok := ec.Reasons[reason]; ok || len(ec.Reasons) < maxReasons {
		ec.Reasons[reason]++
	}
}

func (e errorClasses) clone() map[string]*ErrorClass {
	out := make(map[string]*ErrorClass, len(e))
	for k, v := range e {
		reasons := make(map[string]uint64, len(v.Reasons))
		for rk, rv := range v.Reasons {
			reasons[rk] = rv
		}
		out[k] = &ErrorClass{Count: v.Count, Reasons: reasons}
	}
	return out
}

// errorClass names a failure: http_<code> when an answer came, else its kind.
func errorClass(code int, kind string) string {
	if code != 0 {
		return "http_" + strconv.Itoa(code)
	}
	return kind
}

// Bucket is one step of the availability timeline.
type Bucket struct {
	Start        time.Time `json:"start"`
	Requests     uint64    `json:"requests"`
	Succeeded    uint64    `json:"succeeded"`
	FirstAttempt uint64    `json:"first_attempt_succeeded"`
	// P99Ms is the bucket's p99 latency, within 10 %; nil without requests.
	P99Ms *float64 `json:"p99_ms"`
	// Replicas counts the bucket's requests by the replica their first attempt went to.
	Replicas map[string]uint64 `json:"replicas"`
	latency  coarseHist
	run      uint64 // the run it belongs to
}

// Failure is one request whose first attempt failed, as the impact table attributes it.
type Failure struct {
	At        time.Time `json:"at"` // when the first attempt failed
	Replica   string    `json:"replica"`
	Class     string    `json:"class"`
	Final     bool      `json:"final"` // every retry failed too
	LatencyMs float64   `json:"latency_ms"`
}

// Recorder aggregates one target's results. It is safe for concurrent use.
type Recorder struct {
	metrics *targetMetrics

	mu           sync.Mutex
	lifetime     Counts
	current      Counts // since the last start
	startedAt    time.Time
	stoppedAt    time.Time               // zero while running
	hist         *hdrhistogram.Histogram // since the last start, microseconds
	lifeHist     *hdrhistogram.Histogram
	seconds      [windowSeconds]second
	errors       errorClasses // final failures, lifetime
	firstErrors  errorClasses // first-attempt failures, lifetime
	curErrors    errorClasses // final failures since the last start
	curFirst     errorClasses // first-attempt failures since the last start
	versions     map[string]uint64
	timeline     []Bucket
	replicas     *replicaTable
	failures     []Failure // ring of the latest maxFailures
	failureNext  int
	failuresLost uint64 // since the last start, failures that no longer fit the ring
	run          uint64 // counts the starts
}

func newRecorder(m *targetMetrics) *Recorder {
	return &Recorder{
		metrics:     m,
		hist:        newHist(),
		lifeHist:    newHist(),
		errors:      errorClasses{},
		firstErrors: errorClasses{},
		curErrors:   errorClasses{},
		curFirst:    errorClasses{},
		versions:    map[string]uint64{},
		replicas:    newReplicaTable(m),
	}
}

// 1 us to 1 h at 3 significant figures: exact enough for any percentile a user reads.
func newHist() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 3)
}

// Start begins a new "since start" period at now.
func (r *Recorder) Start(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.current = Counts{}
	r.startedAt, r.stoppedAt = now, time.Time{}
	r.run++
	r.hist.Reset()
	r.curErrors, r.curFirst = errorClasses{}, errorClasses{}
	r.failuresLost = 0
	r.replicas.start(now)
}

// Stop ends the "since start" period at now.
func (r *Recorder) Stop(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stoppedAt = now
}

// Window is the since-start period: from the last start to the stop, or to now while running.
func (r *Recorder) Window(now time.Time) (from, to time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	to = now
	if !r.stoppedAt.IsZero() {
		to = r.stoppedAt
	}
	return r.startedAt, to
}

// Record adds one result.
func (r *Recorder) Record(res Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lifetime.add(res)
	r.current.add(res)
	if res.Dropped {
		r.metrics.record(res, "", "")
		return
	}
	us := max(res.Latency.Microseconds(), 1)
	_ = r.hist.RecordValue(us)
	_ = r.lifeHist.RecordValue(us)

	sec := res.Scheduled.Unix()
	b := &r.seconds[sec%windowSeconds]
	if b.at != sec {
		*b = second{at: sec}
	}
	b.total++
	if res.OK {
		b.ok++
	} else {
		b.fail++
	}
	if !res.FirstOK {
		b.firstFailed++
	}
	b.latency.add(res.Latency)

	replica := r.replicas.record(res)
	r.recordTimeline(res, replica)

	version := ""
	if res.OK && res.Version != "" {
		version = res.Version
		if _, ok := r.versions[version]; !ok && len(r.versions) >= maxVersions {
			version = "other"
		}
		r.versions[version]++
	}
	r.metrics.record(res, replica, version)
	if !res.FirstOK {
		class, reason := res.firstClass(), res.FirstReason
		if reason == "" {
			reason = res.Reason
		}
		r.firstErrors.add(class, reason)
		r.curFirst.add(class, reason)
		at := res.FirstFailedAt
		if at.IsZero() {
			at = res.Scheduled.Add(res.FirstAttemptLatency)
		}
		r.recordFailure(Failure{At: at, Replica: replica, Class: class, Final: !res.OK,
			LatencyMs: float64(res.Latency.Microseconds()) / 1000})
	}
	if !res.OK {
		class := errorClass(res.Code, res.Kind)
		r.errors.add(class, res.Reason)
		r.curErrors.add(class, res.Reason)
	}
}

// recordTimeline counts res in its bucket of the current run: a run's buckets hold its own
// requests alone, so a chart of the run shows nothing of the one before.
func (r *Recorder) recordTimeline(res Result, replica string) {
	sec := res.Scheduled.Unix()
	start := time.Unix(sec-sec%bucketWidth, 0).UTC()
	if n := len(r.timeline); n == 0 || r.timeline[n-1].run != r.run || r.timeline[n-1].Start.Before(start) {
		r.timeline = append(r.timeline, Bucket{Start: start, run: r.run})
		if len(r.timeline) > maxTimeline {
			r.timeline = r.timeline[len(r.timeline)-maxTimeline:]
		}
	}
	for i := len(r.timeline) - 1; i >= 0; i-- { // late results land in their own bucket
		tb := &r.timeline[i]
		if tb.run == r.run && tb.Start.After(start) {
			continue
		}
		if tb.run == r.run && tb.Start.Equal(start) {
			tb.Requests++
			if res.OK {
				tb.Succeeded++
			}
			if res.FirstOK {
				tb.FirstAttempt++
			}
			tb.latency.add(res.Latency)
			if replica != "" {
				if tb.Replicas == nil {
					tb.Replicas = map[string]uint64{}
				}
				tb.Replicas[replica]++
			}
		}
		break
	}
}

func (r *Recorder) recordFailure(f Failure) {
	if len(r.failures) < maxFailures {
		r.failures = append(r.failures, f)
		return
	}
	r.failures[r.failureNext] = f
	r.failureNext = (r.failureNext + 1) % maxFailures
	r.failuresLost++
}

// Rates are success rates over several spans; nil where no request was made.
type Rates struct {
	Lifetime *float64 `json:"lifetime"`
	Last1m   *float64 `json:"last_1m"`
	Last5m   *float64 `json:"last_5m"`
	Last1h   *float64 `json:"last_1h"`
}

// Latency is the percentiles of the since-start histogram, in milliseconds.
type Latency struct {
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p99_9"`
	Max   float64 `json:"max"`
	Mean  float64 `json:"mean"`
	Count int64   `json:"count"`
}

// Stats is a target's aggregate as /info and the report show it.
type Stats struct {
	Lifetime          Counts     `json:"lifetime"`
	SinceStart        Counts     `json:"since_start"`
	StartedAt         *time.Time `json:"started_at,omitempty"`
	StoppedAt         *time.Time `json:"stopped_at,omitempty"`
	SuccessRate       Rates      `json:"success_rate"`
	FirstAttemptRate  Rates      `json:"first_attempt_success_rate"`
	AchievedQPS       float64    `json:"achieved_qps"`
	LatencyMs         Latency    `json:"latency_ms"`
	LifetimeLatencyMs Latency    `json:"lifetime_latency_ms"`
	MeanAttempts      float64    `json:"mean_attempts"`
	// Errors are the requests that failed after every retry, by class, over the whole life;
	// FirstAttemptErrors the requests whose first attempt failed, retried or not.
	Errors             map[string]*ErrorClass `json:"errors"`
	FirstAttemptErrors map[string]*ErrorClass `json:"first_attempt_errors"`
	// SinceStartErrors and SinceStartFirstErrors are the same since the last start.
	SinceStartErrors      map[string]*ErrorClass `json:"since_start_errors"`
	SinceStartFirstErrors map[string]*ErrorClass `json:"since_start_first_attempt_errors"`
	Versions              map[string]uint64      `json:"versions"`
	// Replicas break the since-start figures down by the replica each request's first attempt
	// went to; Spread are the addresses requests are spread over now.
	Replicas []ReplicaStats `json:"replicas"`
}

// Stats computes the aggregate at now.
func (r *Recorder) Stats(now time.Time, running bool) Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Stats{Lifetime: r.lifetime, SinceStart: r.current, Versions: map[string]uint64{},
		Errors: r.errors.clone(), FirstAttemptErrors: r.firstErrors.clone(),
		SinceStartErrors: r.curErrors.clone(), SinceStartFirstErrors: r.curFirst.clone()}
	if !r.startedAt.IsZero() {
		t := r.startedAt.UTC()
		s.StartedAt = &t
		if el := now.Sub(r.startedAt).Seconds(); running && el > 0 {
			s.AchievedQPS = float64(r.current.Requests+r.current.Dropped) / el
		}
	}
	if !r.stoppedAt.IsZero() {
		t := r.stoppedAt.UTC()
		s.StoppedAt = &t
	}
	s.SuccessRate.Lifetime = Ratio(r.lifetime.Succeeded, r.lifetime.Requests)
	s.FirstAttemptRate.Lifetime = Ratio(r.lifetime.Requests-r.lifetime.FirstAttemptFailed, r.lifetime.Requests)
	for _, span := range []struct {
		secs       int64
		rate, frst **float64
	}{{60, &s.SuccessRate.Last1m, &s.FirstAttemptRate.Last1m}, {300, &s.SuccessRate.Last5m, &s.FirstAttemptRate.Last5m}, {3600, &s.SuccessRate.Last1h, &s.FirstAttemptRate.Last1h}} {
		var total, ok, firstFailed uint64
		from := now.Unix() - span.secs
		for i := range r.seconds {
			b := &r.seconds[i]
			if b.at > from && b.at <= now.Unix() {
				total += b.total
				ok += b.ok
				firstFailed += b.firstFailed
			}
		}
		*span.rate = Ratio(ok, total)
		*span.frst = Ratio(total-firstFailed, total)
	}
	s.LatencyMs = latency(r.hist)
	s.LifetimeLatencyMs = latency(r.lifeHist)
	if r.lifetime.Requests > 0 {
		s.MeanAttempts = float64(r.lifetime.Attempts) / float64(r.lifetime.Requests)
	}
	for k, v := range r.versions {
		s.Versions[k] = v
	}
	s.Replicas = r.replicas.stats(now)
	return s
}

// Timeline returns the availability buckets of the last run within [from, to], oldest first.
func (r *Recorder) Timeline(from, to time.Time) []Bucket {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Bucket
	for _, b := range r.timeline {
		if b.run != r.run || b.Start.Add(bucketWidth*time.Second).Before(from) || b.Start.After(to) {
			continue
		}
		if p, ok := b.latency.quantile(0.99); ok {
			b.P99Ms = &p
		}
		b.Replicas = maps.Clone(b.Replicas)
		out = append(out, b)
	}
	return out
}

// ReplicaNodes maps each replica to the node names it answered with, for the attribution.
func (r *Recorder) ReplicaNodes() map[string][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string][]string, len(r.replicas.byAddr))
	for addr, rep := range r.replicas.byAddr {
		out[addr] = slices.Clone(rep.nodes)
	}
	return out
}

// Failures returns the first-attempt failures kept within [from, to], oldest first, and how
// many of the period's no longer fit.
func (r *Recorder) Failures(from, to time.Time) (out []Failure, lost uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(r.failures)
	for i := range n {
		f := r.failures[(r.failureNext+i)%n]
		if !f.At.Before(from) && !f.At.After(to) {
			out = append(out, f)
		}
	}
	return out, r.failuresLost
}

// P99 is the p99 latency, within 10 %, of the requests scheduled within [from, to] of the last
// hour; nil when there were none.
func (r *Recorder) P99(from, to time.Time) *float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var h coarseHist
	for sec := from.Unix(); sec <= to.Unix(); sec++ {
		b := &r.seconds[((sec%windowSeconds)+windowSeconds)%windowSeconds]
		if b.at == sec {
			h.merge(&b.latency)
		}
	}
	if p, ok := h.quantile(0.99); ok {
		return &p
	}
	return nil
}

// Ratio is a/b, or nil when b is 0 (nothing was sent).
func Ratio(a, b uint64) *float64 {
	if b == 0 {
		return nil
	}
	v := float64(a) / float64(b)
	return &v
}

func latency(h *hdrhistogram.Histogram) Latency {
	if h.TotalCount() == 0 {
		return Latency{}
	}
	ms := func(us int64) float64 { return math.Round(float64(us)) / 1000 }
	return Latency{
		P50: ms(h.ValueAtQuantile(50)), P90: ms(h.ValueAtQuantile(90)), P99: ms(h.ValueAtQuantile(99)),
		P999: ms(h.ValueAtQuantile(99.9)), Max: ms(h.Max()), Mean: math.Round(h.Mean()) / 1000, Count: h.TotalCount(),
	}
}
