package pinger

import (
	"context"
	"encoding/json"
	"strings"
	"time"
)

// Events gathers the chaos events within [from, to] from the peers: kills from the nodekiller's
// record (the reaper's when no nodekiller is configured), upgrades from the helmsman's history.
// A peer that cannot be reached adds its error; the events of the others still come.
func (p *Pinger) Events(ctx context.Context, from, to time.Time) (events []Event, errs []string) {
	var kills bool
	if p.nodekiller.configured() {
		st := p.nodekiller.Info(ctx)
		if st.Error != "" {
			errs = append(errs, st.Error)
		} else {
			events = append(events, nodekillerEvents(st.Answer)...)
			kills = true
		}
	}
	if !kills && p.reaper.configured() {
		st := p.reaper.Info(ctx)
		if st.Error != "" {
			errs = append(errs, st.Error)
		} else {
			events = append(events, reaperEvents(st.Answer)...)
		}
	}
	if p.helmsman.configured() {
		st := p.helmsman.Info(ctx)
		if st.Error != "" {
			errs = append(errs, st.Error)
		} else {
			events = append(events, helmsmanEvents(st.Answer)...)
		}
	}
	var out []Event
	for _, e := range events {
		if !e.At.Before(from.Add(-eventLead)) && !e.At.After(to) {
			out = append(out, e)
		}
	}
	return out, errs
}

// nodekillerEvents reads the kills the nodekiller carried out (or tried to: an error may
// still have killed) from its /info.
func nodekillerEvents(answer json.RawMessage) []Event {
	var nk struct {
		Kills []struct {
			At              time.Time `json:"at"`
			Victim          string    `json:"victim"`
			Address         string    `json:"address"`
			Method          string    `json:"method"`
			Result          string    `json:"result"`
			RecoverySeconds *float64  `json:"recovery_seconds"`
			GoneSeconds     *float64  `json:"gone_seconds"` // replaced before it served again
		} `json:"kills"`
	}
	if json.Unmarshal(answer, &nk) != nil {
		return nil
	}
	var out []Event
	for _, k := range nk.Kills {
		if k.Result != "ok" && k.Result != "error" {
			continue // refused or dry run: nobody died
		}
		// A victim an upgrade replaced ends its kill there: what fails at its address after
		// that is the upgrade's.
		seconds := k.RecoverySeconds
		if seconds == nil {
			seconds = k.GoneSeconds
		}
		out = append(out, Event{At: k.At, Kind: "kill", Type: k.Method, What: strings.TrimSpace(k.Method + " " + k.Victim),
			Result: k.Result, Victim: k.Victim, Address: k.Address, Seconds: seconds, Source: "nodekiller"})
	}
	return out
}

// reaperEvents reads the kills the reaper asked for; it may have lost the answer (and so the
// victim) when the kill hit the receiver that relayed it.
func reaperEvents(answer json.RawMessage) []Event {
	var r struct {
		LastResults []struct {
			At     time.Time `json:"at"`
			Method string    `json:"method"`
			Result string    `json:"result"`
			Victim string    `json:"victim"`
		} `json:"last_results"`
	}
	if json.Unmarshal(answer, &r) != nil {
		return nil
	}
	var out []Event
	for _, k := range r.LastResults {
		out = append(out, Event{At: k.At, Kind: "kill", Type: k.Method, What: strings.TrimSpace(k.Method + " " + k.Victim),
			Result: k.Result, Victim: k.Victim, Source: "reaper"})
	}
	return out
}

// helmsmanEvents reads the upgrades of the helmsman's history and the one under way.
func helmsmanEvents(answer json.RawMessage) []Event {
	type upgrade struct {
		Type            string    `json:"type"`
		Version         string    `json:"version"`
		From            string    `json:"from_version"`
		StartedAt       time.Time `json:"started_at"`
		DurationSeconds float64   `json:"duration_seconds"`
		Result          string    `json:"result"`
	}
	var h struct {
		History   []upgrade `json:"history"`
		Upgrading *upgrade  `json:"upgrading"`
	}
	if json.Unmarshal(answer, &h) != nil {
		return nil
	}
	event := func(u upgrade, done bool) Event {
		what := u.Type + " to " + u.Version
		if u.From != "" {
			what = u.Type + " " + u.From + " to " + u.Version
		}
		e := Event{At: u.StartedAt, Kind: "upgrade", Type: u.Type, What: what, Result: u.Result, Source: "helmsman"}
		if done {
			s := u.DurationSeconds
			e.Seconds = &s
		} else {
			e.Result = "under way"
		}
		return e
	}
	var out []Event
	for _, u := range h.History {
		out = append(out, event(u, true))
	}
	if h.Upgrading != nil && !h.Upgrading.StartedAt.IsZero() {
		out = append(out, event(*h.Upgrading, false))
	}
	return out
}
