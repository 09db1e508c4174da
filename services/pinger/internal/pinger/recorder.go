package pinger

import (
	"math"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

const (
	windowSeconds = 3600     // per-second buckets kept for the 1 m / 5 m / 1 h rates
	bucketWidth   = 10       // seconds per bucket of the report's timeline
	maxTimeline   = 6 * 8640 // timeline buckets kept: a week
	maxReasons    = 10       // distinct reasons kept per error class
	maxVersions   = 32       // distinct versions kept; later ones count as "other"
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
	at              int64 // unix second this bucket holds
	total, ok, fail uint64
	firstFailed     uint64
}

// ErrorClass is one kind of failure with a few of its reasons.
type ErrorClass struct {
	Count   uint64            `json:"count"`
	Reasons map[string]uint64 `json:"reasons"`
}

// Bucket is one step of the availability timeline.
type Bucket struct {
	Start     time.Time `json:"start"`
	Requests  uint64    `json:"requests"`
	Succeeded uint64    `json:"succeeded"`
}

// Recorder aggregates one target's results. It is safe for concurrent use.
type Recorder struct {
	metrics *targetMetrics

	mu        sync.Mutex
	lifetime  Counts
	current   Counts // since the last start
	startedAt time.Time
	hist      *hdrhistogram.Histogram // since the last start, microseconds
	lifeHist  *hdrhistogram.Histogram
	seconds   [windowSeconds]second
	errors    map[string]*ErrorClass
	versions  map[string]uint64
	timeline  []Bucket
}

func newRecorder(m *targetMetrics) *Recorder {
	return &Recorder{
		metrics:  m,
		hist:     newHist(),
		lifeHist: newHist(),
		errors:   map[string]*ErrorClass{},
		versions: map[string]uint64{},
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
	r.startedAt = now
	r.hist.Reset()
}

// Record adds one result.
func (r *Recorder) Record(res Result) {
	r.metrics.record(res)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lifetime.add(res)
	r.current.add(res)
	if res.Dropped {
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

	start := time.Unix(sec-sec%bucketWidth, 0).UTC()
	if n := len(r.timeline); n == 0 || r.timeline[n-1].Start.Before(start) {
		r.timeline = append(r.timeline, Bucket{Start: start})
		if len(r.timeline) > maxTimeline {
			r.timeline = r.timeline[len(r.timeline)-maxTimeline:]
		}
	}
	for i := len(r.timeline) - 1; i >= 0; i-- { // late results land in their own bucket
		if !r.timeline[i].Start.After(start) {
			if r.timeline[i].Start.Equal(start) {
				r.timeline[i].Requests++
				if res.OK {
					r.timeline[i].Succeeded++
				}
			}
			break
		}
	}

	if res.OK {
		v := res.Version
		if v != "" {
			if _, ok := r.versions[v]; !ok && len(r.versions) >= maxVersions {
				v = "other"
			}
			r.versions[v]++
		}
		return
	}
	class := res.Kind
	if res.Code != 0 {
		class = "http_" + strconv.Itoa(res.Code)
	}
	ec := r.errors[class]
	if ec == nil {
		ec = &ErrorClass{Reasons: map[string]uint64{}}
		r.errors[class] = ec
	}
	ec.Count++
	if _, ok := ec.Reasons[res.Reason]; ok || len(ec.Reasons) < maxReasons {
		ec.Reasons[res.Reason]++
	}
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
	Lifetime          Counts                 `json:"lifetime"`
	SinceStart        Counts                 `json:"since_start"`
	StartedAt         *time.Time             `json:"started_at,omitempty"`
	SuccessRate       Rates                  `json:"success_rate"`
	FirstAttemptRate  Rates                  `json:"first_attempt_success_rate"`
	AchievedQPS       float64                `json:"achieved_qps"`
	LatencyMs         Latency                `json:"latency_ms"`
	LifetimeLatencyMs Latency                `json:"lifetime_latency_ms"`
	MeanAttempts      float64                `json:"mean_attempts"`
	Errors            map[string]*ErrorClass `json:"errors"`
	Versions          map[string]uint64      `json:"versions"`
}

// Stats computes the aggregate at now.
func (r *Recorder) Stats(now time.Time, running bool) Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Stats{Lifetime: r.lifetime, SinceStart: r.current, Errors: map[string]*ErrorClass{}, Versions: map[string]uint64{}}
	if !r.startedAt.IsZero() {
		t := r.startedAt.UTC()
		s.StartedAt = &t
		if el := now.Sub(r.startedAt).Seconds(); running && el > 0 {
			s.AchievedQPS = float64(r.current.Requests+r.current.Dropped) / el
		}
	}
	s.SuccessRate.Lifetime = Ratio(r.lifetime.Succeeded, r.lifetime.Requests)
	s.FirstAttemptRate.Lifetime = Ratio(r.lifetime.Requests-r.lifetime.FirstAttemptFailed, r.lifetime.Requests)
	for _, span := range []struct {
		secs       int64
		rate, frst **float64
	}{{60, &s.SuccessRate.Last1m, &s.FirstAttemptRate.Last1m}, {300, &s.SuccessRate.Last5m, &s.FirstAttemptRate.Last5m}, {3600, &s.SuccessRate.Last1h, &s.FirstAttemptRate.Last1h}} {
		var total, ok, firstFailed uint64
		from := now.Unix() - span.secs
		for _, b := range r.seconds {
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
	for k, v := range r.errors {
		reasons := make(map[string]uint64, len(v.Reasons))
		for rk, rv := range v.Reasons {
			reasons[rk] = rv
		}
		s.Errors[k] = &ErrorClass{Count: v.Count, Reasons: reasons}
	}
	for k, v := range r.versions {
		s.Versions[k] = v
	}
	return s
}

// Timeline returns the availability buckets, oldest first.
func (r *Recorder) Timeline() []Bucket {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Bucket(nil), r.timeline...)
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

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
