package main

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"chaossuite.dev/pinger/internal/pinger"
)

// reportPaths are where a run's report went.
type reportPaths struct {
	json, html, history string
}

// historyDir is the history's folder under --out: one folder per run, named by its start
// and its plan, holding its report.json and its plan.
const historyDir = "history"

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// writeReports writes report.json and report.html under out (the latest run), each phase's
// pinger pages under out/phases, and keeps report.json and the plan in the history. The
// previous run of the same plan is looked up first, so that both the page and the JSON show it
// beside this one.
func writeReports(out string, rep *PlanReport, planText []byte) (reportPaths, error) {
	run := rep.StartedAt.UTC().Format("20060102T150405Z") + "-" + unsafeName.ReplaceAllString(rep.Plan, "_")
	hist := filepath.Join(out, historyDir, run)
	if err := os.MkdirAll(hist, 0o755); err != nil {
		return reportPaths{}, err
	}
	if prev, path := previousRun(filepath.Join(out, historyDir), rep); prev != nil {
		rep.Previous = &PreviousRun{StartedAt: prev.StartedAt, Verdict: prev.Verdict, Path: path}
		for i := range rep.Phases {
			old := findPhase(prev.Phases, rep.Phases[i].Name)
			if old == nil {
				continue
			}
			for j := range rep.Phases[i].Targets {
				if t := findResult(old.Targets, rep.Phases[i].Targets[j].Name); t != nil {
					rep.Phases[i].Targets[j].Previous = delta("previous run", &rep.Phases[i].Targets[j], t)
				}
			}
		}
	}
	pages := filepath.Join(out, "phases")
	if err := os.MkdirAll(pages, 0o755); err != nil {
		return reportPaths{}, err
	}
	links := map[string][]string{}
	for i, ph := range rep.Phases {
		for j, pr := range ph.Reports {
			name := fmt.Sprintf("%02d-%s-probe%d.html", i+1, unsafeName.ReplaceAllString(ph.Name, "_"), j+1)
			page, err := pinger.RenderHTML(pr.Report)
			if err != nil {
				return reportPaths{}, err
			}
			if err := os.WriteFile(filepath.Join(pages, name), page, 0o644); err != nil {
				return reportPaths{}, err
			}
			links[ph.Name] = append(links[ph.Name], "phases/"+name)
		}
	}
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return reportPaths{}, err
	}
	p := reportPaths{json: filepath.Join(out, "report.json"), html: filepath.Join(out, "report.html"), history: hist}
	for _, f := range []struct {
		path string
		data []byte
	}{{p.json, data}, {filepath.Join(hist, "report.json"), data}, {filepath.Join(hist, "plan.yaml"), planText}} {
		if err := os.WriteFile(f.path, f.data, 0o644); err != nil {
			return reportPaths{}, err
		}
	}
	page, err := renderPlanHTML(rep, links)
	if err != nil {
		return reportPaths{}, err
	}
	return p, os.WriteFile(p.html, page, 0o644)
}

// previousRun is the latest run in the history of the same plan that started before rep.
func previousRun(dir string, rep *PlanReport) (*PlanReport, string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, ""
	}
	var best *PlanReport
	var bestPath string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		path := filepath.Join(dir, e.Name(), "report.json")
		old, err := loadReport(path)
		if err != nil || old.Plan != rep.Plan || !old.StartedAt.Before(rep.StartedAt) {
			continue
		}
		if best == nil || old.StartedAt.After(best.StartedAt) {
			best, bestPath = old, path
		}
	}
	return best, bestPath
}

// loadReport reads a run's report.json, or the one in a history folder.
func loadReport(path string) (*PlanReport, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, "report.json")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r PlanReport
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: not a plan report: %w", path, err)
	}
	if r.Verdict == "" {
		return nil, fmt.Errorf("%s: not a plan report (no verdict)", path)
	}
	return &r, nil
}

func findPhase(ps []StepResult, name string) *StepResult {
	for i := range ps {
		if ps[i].Name == name {
			return &ps[i]
		}
	}
	return nil
}

//go:embed plan.tmpl
var planTemplate string

var planPage = template.Must(template.New("plan").Funcs(template.FuncMap{
	"share": shareText,
	"pts":   signed,
	"ms":    func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"dms":   func(v float64) string { return fmt.Sprintf("%+.1f", v) },
	"when":  func(t time.Time) string { return t.Format("2006-01-02 15:04:05 MST") },
	"clock": func(t time.Time) string { return t.Format("15:04:05") },
	"chaos": chaosText,
	"join":  strings.Join,
	"inc":   func(i int) int { return i + 1 },
	"load":  loadText,
}).Parse(planTemplate))

func renderPlanHTML(rep *PlanReport, links map[string][]string) ([]byte, error) {
	var b strings.Builder
	err := planPage.Execute(&b, struct {
		R     *PlanReport
		Links map[string][]string
	}{rep, links})
	return []byte(b.String()), err
}
