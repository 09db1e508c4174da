package pinger

import (
	"context"
	_ "embed"
	"fmt"
	"html/template"
	"maps"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"chaossuite.dev/shared/web"
)

// TargetReport is one target's verdict material, over the report's window.
type TargetReport struct {
	TargetInfo
	Timeline []Bucket `json:"timeline"`
	Impact   Impact   `json:"impact"`
	// LatencyHistogram is the window's latency histogram (HdrHistogram V2, base64), from which
	// several probes' percentiles are computed exactly.
	LatencyHistogram string `json:"latency_histogram"`
}

// Report is what /report.json answers and /report draws. It covers one window, the pingers'
// last run (from their start to their stop, or to now while they run): every figure, the
// timelines, the events and the impact table alike.
type Report struct {
	GeneratedAt time.Time      `json:"generated_at"`
	Running     bool           `json:"running"`
	From        time.Time      `json:"from"`
	To          time.Time      `json:"to"`
	Targets     []TargetReport `json:"targets"`
	Events      []Event        `json:"events"`
	EventErrors []string       `json:"event_errors,omitempty"`
}

// Report gathers the figures, the timelines and the chaos events of the last run, and
// attributes each target's failures to the events.
func (p *Pinger) Report(ctx context.Context) Report {
	info := p.Info(ctx)
	now := p.clock.Now()
	rep := Report{GeneratedAt: now.UTC(), Running: info.Running}
	targets := p.probes()
	for _, t := range targets {
		from, to := t.recorder.Window(now)
		if from.IsZero() {
			continue
		}
		if rep.From.IsZero() || from.Before(rep.From) {
			rep.From = from
		}
		if to.After(rep.To) {
			rep.To = to
		}
	}
	if rep.From.IsZero() {
		rep.From, rep.To = now, now
	}
	rep.Events, rep.EventErrors = p.Events(ctx, rep.From, rep.To)
	for i, t := range info.Targets {
		if i >= len(targets) || targets[i].target.Name != t.Name {
			continue // the targets were replaced meanwhile
		}
		rec := targets[i].recorder
		from, to := rec.Window(now)
		failures, lost := rec.Failures(from, to)
		imp := Attribute(failures, rep.Events, rec.ReplicaNodes(), rec.P99, to)
		imp.FailuresLost = lost
		rep.Targets = append(rep.Targets, TargetReport{TargetInfo: t, Timeline: rec.Timeline(from, to), Impact: imp,
			LatencyHistogram: rec.encodedHistogram()})
	}
	rep.From, rep.To = rep.From.UTC(), rep.To.UTC()
	return rep
}

func handleReportJSON(p *Pinger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		web.Encode(w, http.StatusOK, p.Report(r.Context()))
	})
}

func handleReport(p *Pinger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page, err := RenderHTML(p.Report(r.Context()))
		if err != nil {
			web.Error(w, http.StatusInternalServerError, err.Error())
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page)
	})
}

// Chart is an SVG line chart over the report's window with the events marked.
type Chart struct {
	Title         string
	Width, Height int
	Lines         []ChartLine
	Marks         []ChartMark
	Ticks         []ChartTick
	From, To      string
}

// ChartLine is one series, one point per timeline bucket.
type ChartLine struct {
	Name   string
	Points string // SVG polyline points
	Count  int
	Colour string
	Dash   string
}

// ChartMark is a vertical line at a kill or an upgrade, with its name.
type ChartMark struct {
	X      float64
	Kind   string
	Label  string
	Title  string
	Colour string
}

// ChartTick is a labelled value on the vertical axis.
type ChartTick struct {
	Y     float64
	Label string
}

type point struct {
	at time.Time
	v  float64
}

var lineColours = []string{"#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#17becf", "#e377c2", "#bcbd22", "#7f7f7f"}

// newChart lays out series over [from, to]; scale maps a value to 0 (bottom) .. 1 (top).
func newChart(title string, from, to time.Time, scale func(float64) float64, ticks map[float64]string, series []ChartLine, points [][]point, events []Event) Chart {
	c := Chart{Title: title, Width: 900, Height: 220}
	if !to.After(from) {
		to = from.Add(time.Second)
	}
	span := to.Sub(from).Seconds()
	x := func(t time.Time) float64 { return float64(c.Width) * max(0, min(1, t.Sub(from).Seconds()/span)) }
	y := func(v float64) float64 { return float64(c.Height) * (1 - max(0, min(1, scale(v)))) }
	for i, s := range series {
		if len(points[i]) == 0 {
			continue
		}
		var pts []string
		for _, p := range points[i] {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(p.at), y(p.v)))
		}
		s.Points, s.Count = strings.Join(pts, " "), len(pts)
		c.Lines = append(c.Lines, s)
	}
	for _, v := range slices.Sorted(maps.Keys(ticks)) {
		c.Ticks = append(c.Ticks, ChartTick{Y: y(v), Label: ticks[v]})
	}
	for _, e := range events {
		if e.At.Before(from) || e.At.After(to) {
			continue
		}
		colour := "#d62728"
		if e.Kind == "upgrade" {
			colour = "#ff7f0e"
		}
		c.Marks = append(c.Marks, ChartMark{X: x(e.At), Kind: e.Kind, Label: e.What,
			Title: e.At.Format(time.TimeOnly) + " " + e.Kind + ": " + e.What + " (" + e.Result + ")", Colour: colour})
	}
	c.From, c.To = from.Format(time.DateTime), to.Format(time.DateTime)
	return c
}

func mid(b Bucket) time.Time { return b.Start.Add(bucketWidth * time.Second / 2) }

// availabilityChart draws each target's availability after retries (solid) and at the first
// attempt (dashed), from 90 % (bottom) to 100 % (top): what matters lies between three and four
// nines.
func availabilityChart(rep Report) Chart {
	var series []ChartLine
	var points [][]point
	for i, t := range rep.Targets {
		colour := lineColours[i%len(lineColours)]
		var after, first []point
		for _, b := range t.Timeline {
			if b.Requests == 0 {
				continue
			}
			after = append(after, point{mid(b), float64(b.Succeeded) / float64(b.Requests)})
			first = append(first, point{mid(b), float64(b.FirstAttempt) / float64(b.Requests)})
		}
		series = append(series, ChartLine{Name: t.Name + " after retries", Colour: colour}, ChartLine{Name: t.Name + " first attempt", Colour: colour, Dash: "5 3"})
		points = append(points, after, first)
	}
	scale := func(v float64) float64 { return (v - 0.9) / 0.1 }
	return newChart("Availability", rep.From, rep.To, scale, map[float64]string{1: "100 %", 0.99: "99 %", 0.95: "95 %", 0.9: "≤ 90 %"}, series, points, rep.Events)
}

// latencyChart draws each target's p99 per bucket on a log scale from 1 ms to 10 s.
func latencyChart(rep Report) Chart {
	var series []ChartLine
	var points [][]point
	for i, t := range rep.Targets {
		var pts []point
		for _, b := range t.Timeline {
			if b.P99Ms != nil {
				pts = append(pts, point{mid(b), *b.P99Ms})
			}
		}
		series = append(series, ChartLine{Name: t.Name + " p99", Colour: lineColours[i%len(lineColours)]})
		points = append(points, pts)
	}
	scale := func(ms float64) float64 { return math.Log10(max(ms, 1)) / 4 }
	return newChart("p99 latency", rep.From, rep.To, scale, map[float64]string{1: "1 ms", 10: "10 ms", 100: "100 ms", 1000: "1 s", 10000: "10 s"}, series, points, rep.Events)
}

// replicaChart draws, for the first target spread over several replicas, each replica's
// share of the requests per bucket: a killed replica leaves, a returning one comes back.
func replicaChart(rep Report) (Chart, string) {
	for _, t := range rep.Targets {
		if len(t.Replicas) < 2 {
			continue
		}
		var series []ChartLine
		var points [][]point
		for i, r := range t.Replicas {
			var pts []point
			for _, b := range t.Timeline {
				if b.Requests > 0 {
					pts = append(pts, point{mid(b), float64(b.Replicas[r.Replica]) / float64(b.Requests)})
				}
			}
			name := r.Replica
			if len(r.Nodes) > 0 {
				name += " (" + strings.Join(r.Nodes, ", ") + ")"
			}
			series = append(series, ChartLine{Name: name, Colour: lineColours[i%len(lineColours)]})
			points = append(points, pts)
		}
		return newChart("Traffic by replica", rep.From, rep.To, func(v float64) float64 { return v }, map[float64]string{0: "0 %", 1.0 / 3: "33 %", 0.5: "50 %", 1: "100 %"}, series, points, rep.Events), t.Name
	}
	return Chart{}, ""
}

//go:embed report.tmpl
var reportTemplate string

var reportPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct": func(v *float64) string {
		if v == nil {
			return "–"
		}
		return fmt.Sprintf("%.3f %%", *v*100)
	},
	"share": func(v float64) string { return fmt.Sprintf("%.1f %%", v*100) },
	"num": func(v *float64) string {
		if v == nil {
			return "–"
		}
		return fmt.Sprintf("%.1f", *v)
	},
	"add":     func(a, b int) int { return a + b },
	"avail":   func(c Counts) *float64 { return Ratio(c.Succeeded, c.Requests) },
	"first":   func(c Counts) *float64 { return Ratio(c.Requests-c.FirstAttemptFailed, c.Requests) },
	"classes": errorClassNames,
	"count": func(m map[string]*ErrorClass, k string) uint64 {
		if e := m[k]; e != nil {
			return e.Count
		}
		return 0
	},
	"reasons": func(m map[string]*ErrorClass, k string) map[string]uint64 {
		if e := m[k]; e != nil {
			return e.Reasons
		}
		return nil
	},
	"clock": func(t *time.Time) string {
		if t == nil {
			return "–"
		}
		return t.Format("15:04:05.0")
	},
}).Parse(reportTemplate))

// errorClassNames are the classes of either breakdown, in order.
func errorClassNames(a, b map[string]*ErrorClass) []string {
	names := slices.Collect(maps.Keys(a))
	for k := range b {
		names = append(names, k)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// RenderHTML draws the report page.
func RenderHTML(rep Report) ([]byte, error) {
	replicas, replicaTarget := replicaChart(rep)
	var b strings.Builder
	err := reportPage.Execute(&b, struct {
		Report                        Report
		Availability, Latency, Shares Chart
		SharesTarget                  string
		BucketSeconds                 int
	}{rep, availabilityChart(rep), latencyChart(rep), replicas, replicaTarget, bucketWidth})
	return []byte(b.String()), err
}
