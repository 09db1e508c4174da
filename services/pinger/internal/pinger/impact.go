package pinger

import (
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Event is a chaos event: a kill (from the nodekiller's own record, which knows the victim even
// when the reaper lost the answer) or an upgrade (from the helmsman's history).
type Event struct {
	At      time.Time `json:"at"`
	Kind    string    `json:"kind"` // kill or upgrade
	Type    string    `json:"type"` // the kill method or the upgrade type
	What    string    `json:"what"`
	Result  string    `json:"result"`
	Victim  string    `json:"victim,omitempty"`
	Address string    `json:"address,omitempty"` // where the victim served
	// Seconds is how long the event lasted: a kill until the node served again (or was
	// replaced by an upgrade before it did), an upgrade
	// until it converged; nil when unknown (not yet recovered, still upgrading).
	Seconds *float64 `json:"seconds,omitempty"`
	Source  string   `json:"source"` // nodekiller, reaper or helmsman
}

// How far around an event its failures are looked for: a request in flight when the kill
// landed fails just after it; one that reached the node as it came back, shortly after.
const (
	eventLead       = 1 * time.Second
	eventTail       = 5 * time.Second
	unknownDuration = time.Minute // a kill whose recovery was never seen
	maxUnexplained  = 50          // unexplained failures listed one by one
)

// EventImpact is what one chaos event cost a target.
type EventImpact struct {
	Event
	FirstAttemptFailures uint64 `json:"first_attempt_failures"`
	Failures             uint64 `json:"failures"` // after every retry
	// The outage window: the first to the last failure attributed to the event.
	OutageFrom    *time.Time `json:"outage_from,omitempty"`
	OutageTo      *time.Time `json:"outage_to,omitempty"`
	OutageSeconds float64    `json:"outage_seconds"`
	// P99Ms is the target's p99 over the outage window, within 10 %.
	P99Ms *float64 `json:"p99_ms,omitempty"`
}

// ImpactSummary sums the events of one kind and type.
type ImpactSummary struct {
	Kind                 string   `json:"kind"`
	Type                 string   `json:"type"`
	Events               int      `json:"events"`
	FirstAttemptFailures uint64   `json:"first_attempt_failures"`
	Failures             uint64   `json:"failures"`
	PerEventMean         float64  `json:"first_attempt_failures_per_event_mean"`
	PerEventMax          uint64   `json:"first_attempt_failures_per_event_max"`
	SecondsMean          *float64 `json:"seconds_mean,omitempty"`
	SecondsMax           *float64 `json:"seconds_max,omitempty"`
}

// Unexplained are the failures no event accounts for: the interesting ones.
type Unexplained struct {
	FirstAttemptFailures uint64            `json:"first_attempt_failures"`
	Failures             uint64            `json:"failures"`
	ByReplica            map[string]uint64 `json:"by_replica"`
	ByClass              map[string]uint64 `json:"by_class"`
	Latest               []Failure         `json:"latest"` // up to 50, newest last
}

// Impact attributes a target's first-attempt failures to the chaos events.
type Impact struct {
	Events      []EventImpact   `json:"events"`
	Summary     []ImpactSummary `json:"summary"`
	Unexplained Unexplained     `json:"unexplained"`
	// FailuresLost counts the window's failures too many to keep one by one; they are in the
	// totals but attributed to nothing.
	FailuresLost uint64 `json:"failures_lost,omitempty"`
}

// Attribute builds the impact table. A failure belongs to the latest kill whose victim is the
// replica it went to (same address, or a node name that replica answered with) and whose
// window [at-1s, at+recovery+5s] holds it; else to the latest upgrade whose window holds it
// (an upgrade touches every replica); else it is unexplained. nodes maps a replica to the
// node names it answered with; p99 gives the latency over a window.
func Attribute(failures []Failure, events []Event, nodes map[string][]string, p99 func(from, to time.Time) *float64, now time.Time) Impact {
	imp := Impact{Unexplained: Unexplained{ByReplica: map[string]uint64{}, ByClass: map[string]uint64{}}}
	evs := slices.Clone(events)
	slices.SortStableFunc(evs, func(a, b Event) int { return a.At.Compare(b.At) })
	for _, e := range evs {
		imp.Events = append(imp.Events, EventImpact{Event: e})
	}
	for _, f := range failures {
		i := attribute(f, imp.Events, nodes, now)
		if i < 0 {
			u := &imp.Unexplained
			u.FirstAttemptFailures++
			if f.Final {
				u.Failures++
			}
			u.ByReplica[f.Replica]++
			u.ByClass[f.Class]++
			u.Latest = append(u.Latest, f)
			if len(u.Latest) > maxUnexplained {
				u.Latest = u.Latest[1:]
			}
			continue
		}
		ei := &imp.Events[i]
		ei.FirstAttemptFailures++
		if f.Final {
			ei.Failures++
		}
		if ei.OutageFrom == nil || f.At.Before(*ei.OutageFrom) {
			t := f.At
			ei.OutageFrom = &t
		}
		if ei.OutageTo == nil || f.At.After(*ei.OutageTo) {
			t := f.At
			ei.OutageTo = &t
		}
	}
	for i := range imp.Events {
		ei := &imp.Events[i]
		if ei.OutageFrom != nil {
			ei.OutageSeconds = ei.OutageTo.Sub(*ei.OutageFrom).Seconds()
			if p99 != nil {
				ei.P99Ms = p99(*ei.OutageFrom, *ei.OutageTo)
			}
		}
	}
	imp.Summary = summarize(imp.Events)
	return imp
}

// attribute returns the index of the event f belongs to, or -1.
func attribute(f Failure, evs []EventImpact, nodes map[string][]string, now time.Time) int {
	upgrade := -1
	for i := len(evs) - 1; i >= 0; i-- {
		e := evs[i].Event
		if f.At.Before(e.At.Add(-eventLead)) {
			continue
		}
		end := now
		if e.Seconds != nil {
			end = e.At.Add(time.Duration(*e.Seconds * float64(time.Second)))
		} else if e.Kind == "kill" {
			end = e.At.Add(unknownDuration)
		}
		if f.At.After(end.Add(eventTail)) {
			continue
		}
		switch e.Kind {
		case "kill":
			if isVictim(f.Replica, e, nodes) {
				return i
			}
		case "upgrade":
			if upgrade < 0 {
				upgrade = i
			}
		}
	}
	return upgrade
}

// isVictim reports whether replica is where the kill's victim served.
func isVictim(replica string, e Event, nodes map[string][]string) bool {
	if e.Address != "" && replica != "" && hostOf(e.Address) == hostOf(replica) {
		return true
	}
	return e.Victim != "" && slices.Contains(nodes[replica], e.Victim)
}

// hostOf is the host of a base URL or a host:port.
func hostOf(s string) string {
	if strings.Contains(s, "://") {
		if u, err := url.Parse(s); err == nil {
			return u.Hostname()
		}
	}
	if h, _, err := net.SplitHostPort(s); err == nil {
		return h
	}
	return s
}

func summarize(evs []EventImpact) []ImpactSummary {
	var out []ImpactSummary
	index := map[[2]string]int{}
	secs := map[int][]float64{}
	for _, e := range evs {
		key := [2]string{e.Kind, e.Type}
		i, ok := index[key]
		if !ok {
			i = len(out)
			index[key] = i
			out = append(out, ImpactSummary{Kind: e.Kind, Type: e.Type})
		}
		s := &out[i]
		s.Events++
		s.FirstAttemptFailures += e.FirstAttemptFailures
		s.Failures += e.Failures
		s.PerEventMax = max(s.PerEventMax, e.FirstAttemptFailures)
		if e.Seconds != nil {
			secs[i] = append(secs[i], *e.Seconds)
		}
	}
	for i := range out {
		s := &out[i]
		s.PerEventMean = float64(s.FirstAttemptFailures) / float64(s.Events)
		if v := secs[i]; len(v) > 0 {
			var sum float64
			for _, x := range v {
				sum += x
			}
			mean, top := sum/float64(len(v)), slices.Max(v)
			s.SecondsMean, s.SecondsMax = &mean, &top
		}
	}
	slices.SortFunc(out, func(a, b ImpactSummary) int {
		return strings.Compare(a.Kind+"/"+a.Type, b.Kind+"/"+b.Type)
	})
	return out
}

// eventLabel is an event type's bounded metric label.
func eventLabel(kind, typ string) string {
	known := map[string][]string{
		"kill":    {"stop", "halt", "pause", "partition"},
		"upgrade": {"IN_PLACE", "ROLLOUT", "MAX_SURGE"},
	}
	if slices.Contains(known[kind], typ) {
		return kind + "_" + typ
	}
	return kind + "_other"
}
