// Package servo is the OCO servo protocol's state machine as voracious enforces it: one state
// per (account, app), the strict transition table, progress rules, pending commands and cycle
// counts, safe under any concurrency with a lock per app.
package servo

import (
	"fmt"
)

// State is where an app stands in the servo protocol.
type State uint8

// The states of the servo protocol, in protocol order.
const (
	Initial State = iota
	HelloReceived
	StartMeasure
	InMeasure
	StartAdjust
	InAdjust
	Terminated
	numStates
)

var stateNames = [numStates]string{"initial", "hello-received", "start-measure", "in-measure", "start-adjust", "in-adjust", "terminated"}

// States lists every state in protocol order.
func States() []State {
	s := make([]State, numStates)
	for i := range s {
		s[i] = State(i)
	}
	return s
}

// String names the state as /info and the metrics show it.
func (s State) String() string {
	if s < numStates {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// ParseState reads a state by name.
func ParseState(name string) (State, bool) {
	for i, n := range stateNames {
		if n == name {
			return State(i), true
		}
	}
	return 0, false
}

// Event is what a servo reports or asks.
type Event uint8

// The servo events. EventOther stands for any name the protocol lacks.
const (
	EventOther Event = iota
	Hello
	Description
	Measurement
	Adjustment
	Goodbye
	WhatsNext
	numEvents
)

var eventNames = [numEvents]string{"other", "HELLO", "DESCRIPTION", "MEASUREMENT", "ADJUSTMENT", "GOODBYE", "WHATS_NEXT"}

// Events lists every event, EventOther first.
func Events() []Event {
	e := make([]Event, numEvents)
	for i := range e {
		e[i] = Event(i)
	}
	return e
}

// String is the event's wire name ("other" for EventOther).
func (e Event) String() string {
	if e < numEvents {
		return eventNames[e]
	}
	return "other"
}

// ParseEvent reads an event by its wire name; unknown names give EventOther.
func ParseEvent(name string) Event {
	for i := 1; i < int(numEvents); i++ {
		if eventNames[i] == name {
			return Event(i)
		}
	}
	return EventOther
}

// Command is what WHATS_NEXT answers.
type Command uint8

// The commands; NoCommand means none is pending.
const (
	NoCommand Command = iota
	Describe
	Measure
	Adjust
	numCommands
)

var commandNames = [numCommands]string{"", "DESCRIBE", "MEASURE", "ADJUST"}

// String is the command's wire name ("" for NoCommand).
func (c Command) String() string {
	if c < numCommands {
		return commandNames[c]
	}
	return ""
}

// ParseCommand reads a command by wire name ("" is NoCommand).
func ParseCommand(name string) (Command, bool) {
	for i, n := range commandNames {
		if n == name {
			return Command(i), true
		}
	}
	return 0, false
}

// Input is one servo event with its progress, if it carries one.
type Input struct {
	Event       Event
	HasProgress bool
	Progress    int64
}

// Status is an app's whole state, as persisted and reported.
type Status struct {
	State    State
	Pending  Command
	Progress int64 // last progress within the current command; 0 when none yet
	Cycles   uint64
}

// rule is one row of the transition table.
type rule struct {
	next    State
	pending Command // the command left pending after it (NoCommand: none)
	cycle   bool
}

type key struct {
	from     State
	event    Event
	progress bool
}

// table is the protocol's transition table, row by row. WHATS_NEXT is handled apart: it never
// changes the state.
var table = map[key]rule{
	{Initial, Hello, false}:             {HelloReceived, Describe, false},
	{HelloReceived, Description, false}: {StartMeasure, Measure, false},
	{StartMeasure, Measurement, true}:   {InMeasure, NoCommand, false},
	{InMeasure, Measurement, true}:      {InMeasure, NoCommand, false},
	{InMeasure, Measurement, false}:     {StartAdjust, Adjust, true},
	{StartAdjust, Adjustment, true}:     {InAdjust, NoCommand, false},
	{InAdjust, Adjustment, true}:        {InAdjust, NoCommand, false},
	{InAdjust, Adjustment, false}:       {StartMeasure, Measure, false},
	{HelloReceived, Goodbye, false}:     {Terminated, NoCommand, false},
	{StartMeasure, Goodbye, false}:      {Terminated, NoCommand, false},
	{InMeasure, Goodbye, false}:         {Terminated, NoCommand, false},
	{StartAdjust, Goodbye, false}:       {Terminated, NoCommand, false},
	{InAdjust, Goodbye, false}:          {Terminated, NoCommand, false},
	{Terminated, Hello, false}:          {HelloReceived, Describe, false},
}

// SequenceError is an event the protocol does not allow where the app stands. It changes nothing.
type SequenceError struct{ Reason string }

// Error implements error.
func (e *SequenceError) Error() string { return e.Reason }

func seqErr(format string, args ...any) error {
	return &SequenceError{Reason: fmt.Sprintf(format, args...)}
}

// Result is what one accepted event did.
type Result struct {
	From, To State
	// Command is the command a WHATS_NEXT answered (NoCommand for other events).
	Command Command
	// Cycle is true when the event completed a measure/adjust cycle.
	Cycle bool
}

// Step applies in to st and returns the new status, or a *SequenceError leaving st as it was.
// It is pure: the caller holds the app's lock.
func Step(st Status, in Input) (Status, Result, error) {
	res := Result{From: st.State, To: st.State}
	if in.Event == WhatsNext {
		// The original reads no param on WHATS_NEXT: a progress there changes nothing.
		if st.Pending == NoCommand {
			return st, res, seqErr("WHATS_NEXT with no command pending (state %s)", st.State)
		}
		res.Command = st.Pending
		st.Pending = NoCommand
		return st, res, nil
	}
	r, ok := table[key{st.State, in.Event, in.HasProgress}]
	if !ok {
		with := "without progress"
		if in.HasProgress {
			with = "with progress"
		}
		return st, res, seqErr("event %s %s is not allowed in state %s", in.Event, with, st.State)
	}
	// Progress may not go backwards within one command; a new command starts from nothing.
	continuing := st.State == r.next && (st.State == InMeasure || st.State == InAdjust)
	if in.HasProgress && continuing && in.Progress < st.Progress {
		return st, res, seqErr("%s progress went backwards from %d to %d", in.Event, st.Progress, in.Progress)
	}
	next := st
	next.State = r.next
	next.Pending = r.pending
	if in.HasProgress {
		next.Progress = in.Progress
	} else {
		next.Progress = 0
	}
	if r.cycle {
		next.Cycles++
		res.Cycle = true
	}
	res.To = next.State
	return next, res, nil
}

// Implied is the status an unknown app adopts from its first event under resync: the state
// the event implies the servo was in before voracious lost track of it. HELLO needs no resync.
func Implied(in Input) (Status, bool) {
	switch in.Event {
	case Description:
		return Status{State: HelloReceived}, !in.HasProgress
	case Measurement:
		if in.HasProgress {
			return Status{State: StartMeasure}, true
		}
		return Status{State: InMeasure}, true
	case Adjustment:
		if in.HasProgress {
			return Status{State: StartAdjust}, true
		}
		return Status{State: InAdjust}, true
	case Goodbye:
		return Status{State: HelloReceived}, !in.HasProgress
	case WhatsNext:
		// A servo asking what to do next after a restart starts over from DESCRIBE.
		return Status{State: HelloReceived, Pending: Describe}, true
	}
	return Status{}, false
}
