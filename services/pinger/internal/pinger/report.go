package pinger

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"chaossuite.dev/shared/web"
)

// Event is a chaotic event marked on the report: a kill or an upgrade.
type Event struct {
	At     time.Time `json:"at"`
	Kind   string    `json:"kind"` // kill or upgrade
	What   string    `json:"what"`
	Result string    `json:"result"`
}

// TargetReport is one target's verdict material.
type TargetReport struct {
	TargetInfo
	Timeline []Bucket `json:"timeline"`
}

// Report is what /report.json answers and /report draws.
type Report struct {
	GeneratedAt time.Time      `json:"generated_at"`
	Running     bool           `json:"running"`
	Targets     []TargetReport `json:"targets"`
	Events      []Event        `json:"events"`
	EventErrors []string       `json:"event_errors,omitempty"`
}

// Report gathers the figures, the timelines and the chaotic events from the peers.
func (p *Pinger) Report(ctx context.Context) Report {
	info := p.Info(ctx)
	rep := Report{GeneratedAt: p.clock.Now().UTC(), Running: info.Running}
	for i, t := range info.Targets {
		rep.Targets = append(rep.Targets, TargetReport{TargetInfo: t, Timeline: p.targets[i].recorder.Timeline()})
	}
	if info.Reaper.Error != "" {
		rep.EventErrors = append(rep.EventErrors, info.Reaper.Error)
	} else {
		var r struct {
			LastResults []struct {
				At     time.Time `json:"at"`
				Method string    `json:"method"`
				Result string    `json:"result"`
				Victim string    `json:"victim"`
			} `json:"last_results"`
		}
		if json.Unmarshal(info.Reaper.Answer, &r) == nil {
			for _, k := range r.LastResults {
				rep.Events = append(rep.Events, Event{At: k.At, Kind: "kill", What: strings.TrimSpace(k.Method + " " + k.Victim), Result: k.Result})
			}
		}
	}
	if info.Helmsman.Error != "" {
		rep.EventErrors = append(rep.EventErrors, info.Helmsman.Error)
	} else {
		var h struct {
			History []struct {
				Type      string    `json:"type"`
				Version   string    `json:"version"`
				StartedAt time.Time `json:"started_at"`
				Result    string    `json:"result"`
			} `json:"history"`
		}
		if json.Unmarshal(info.Helmsman.Answer, &h) == nil {
			for _, u := range h.History {
				rep.Events = append(rep.Events, Event{At: u.StartedAt, Kind: "upgrade", What: u.Type + " to " + u.Version, Result: u.Result})
			}
		}
	}
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

// Chart is an SVG of availability over time with the events marked.
type Chart struct {
	Width, Height int
	Lines         []ChartLine
	Marks         []ChartMark
	From, To      string
}

// ChartLine is one target's availability, one point per timeline bucket.
type ChartLine struct {
	Name   string
	Points string // SVG polyline points
	Count  int
	Colour string
}

// ChartMark is a vertical line at a kill or an upgrade.
type ChartMark struct {
	X      float64
	Kind   string
	Title  string
	Colour string
}

var lineColours = []string{"#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#17becf"}

// NewChart lays out the report's timelines: availability from 0.9 (bottom) to 1 (top), since
// what matters lies between three and four nines.
func NewChart(rep Report) Chart {
	c := Chart{Width: 900, Height: 260}
	var from, to time.Time
	for _, t := range rep.Targets {
		for _, b := range t.Timeline {
			if from.IsZero() || b.Start.Before(from) {
				from = b.Start
			}
			if end := b.Start.Add(bucketWidth * time.Second); end.After(to) {
				to = end
			}
		}
	}
	if from.IsZero() {
		return c
	}
	span := to.Sub(from).Seconds()
	x := func(t time.Time) float64 { return float64(c.Width) * t.Sub(from).Seconds() / span }
	y := func(avail float64) float64 {
		v := max(0.9, min(1, avail))
		return float64(c.Height) * (1 - (v-0.9)/0.1)
	}
	for i, t := range rep.Targets {
		var pts []string
		for _, b := range t.Timeline {
			if b.Requests == 0 {
				continue
			}
			mid := b.Start.Add(bucketWidth * time.Second / 2)
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(mid), y(float64(b.Succeeded)/float64(b.Requests))))
		}
		c.Lines = append(c.Lines, ChartLine{Name: t.Name, Points: strings.Join(pts, " "), Count: len(pts), Colour: lineColours[i%len(lineColours)]})
	}
	for _, e := range rep.Events {
		if e.At.Before(from) || e.At.After(to) {
			continue
		}
		colour := "#d62728"
		if e.Kind == "upgrade" {
			colour = "#ff7f0e"
		}
		c.Marks = append(c.Marks, ChartMark{X: x(e.At), Kind: e.Kind, Title: e.At.Format(time.TimeOnly) + " " + e.Kind + ": " + e.What + " (" + e.Result + ")", Colour: colour})
	}
	c.From, c.To = from.Format(time.DateTime), to.Format(time.DateTime)
	return c
}

var reportPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct": func(v *float64) string {
		if v == nil {
			return "–"
		}
		return fmt.Sprintf("%.4f %%", *v*100)
	},
	"keys": sortedKeys[*ErrorClass],
}).Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Chaos test report</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f4f4f4}td:first-child{text-align:left}</style>
</head><body>
<h1>Chaos test report</h1>
<p>Generated {{.Report.GeneratedAt.Format "2006-01-02 15:04:05 MST"}}; pingers {{if .Report.Running}}running{{else}}stopped{{end}}.</p>
<h2>Summary</h2>
<table><tr><th>target</th><th>requests</th><th>succeeded</th><th>failed</th><th>dropped</th><th>availability</th><th>first attempt</th><th>last 1 m</th><th>p50 ms</th><th>p99 ms</th><th>p99.9 ms</th><th>max ms</th><th>mean attempts</th></tr>
{{range .Report.Targets}}<tr><td>{{.Name}}</td><td>{{.Lifetime.Requests}}</td><td>{{.Lifetime.Succeeded}}</td><td>{{.Lifetime.Failed}}</td><td>{{.Lifetime.Dropped}}</td><td>{{pct .SuccessRate.Lifetime}}</td><td>{{pct .FirstAttemptRate.Lifetime}}</td><td>{{pct .SuccessRate.Last1m}}</td><td>{{.LifetimeLatencyMs.P50}}</td><td>{{.LifetimeLatencyMs.P99}}</td><td>{{.LifetimeLatencyMs.P999}}</td><td>{{.LifetimeLatencyMs.Max}}</td><td>{{printf "%.3f" .MeanAttempts}}</td></tr>
{{end}}</table>
<h2>Availability over time</h2>
<p>Per {{.BucketSeconds}} s bucket, from 90 % (bottom) to 100 % (top); red lines are kills, orange lines upgrades. {{.Chart.From}} to {{.Chart.To}}.</p>
<svg xmlns="http://www.w3.org/2000/svg" width="{{.Chart.Width}}" height="{{.Chart.Height}}" viewBox="0 0 {{.Chart.Width}} {{.Chart.Height}}" style="border:1px solid #ccc">
{{range .Chart.Marks}}<line class="mark {{.Kind}}" x1="{{printf "%.1f" .X}}" x2="{{printf "%.1f" .X}}" y1="0" y2="{{$.Chart.Height}}" stroke="{{.Colour}}" stroke-dasharray="4 3"><title>{{.Title}}</title></line>
{{end}}{{range .Chart.Lines}}<polyline class="availability" data-target="{{.Name}}" data-points="{{.Count}}" fill="none" stroke="{{.Colour}}" stroke-width="1.5" points="{{.Points}}"/>
{{end}}</svg>
<p>{{range .Chart.Lines}}<span style="color:{{.Colour}}">&#9632; {{.Name}}</span> {{end}}</p>
{{range .Report.EventErrors}}<p>Events unavailable: {{.}}</p>{{end}}
<h2>Errors</h2>
{{range .Report.Targets}}{{$t := .}}{{if .Errors}}<h3>{{.Name}}</h3><table><tr><th>class</th><th>count</th><th>reasons</th></tr>
{{range keys .Errors}}{{$e := index $t.Errors .}}<tr><td>{{.}}</td><td>{{$e.Count}}</td><td style="text-align:left">{{range $r, $n := $e.Reasons}}{{$n}} × {{$r}}<br>{{end}}</td></tr>
{{end}}</table>{{end}}{{end}}
<h2>Chaotic events</h2>
<table><tr><th>at</th><th>kind</th><th>what</th><th>result</th></tr>
{{range .Report.Events}}<tr><td>{{.At.Format "15:04:05"}}</td><td>{{.Kind}}</td><td>{{.What}}</td><td>{{.Result}}</td></tr>
{{end}}</table>
</body></html>
`))

// RenderHTML draws the report page.
func RenderHTML(rep Report) ([]byte, error) {
	var b strings.Builder
	err := reportPage.Execute(&b, struct {
		Report        Report
		Chart         Chart
		BucketSeconds int
	}{rep, NewChart(rep), bucketWidth})
	return []byte(b.String()), err
}
