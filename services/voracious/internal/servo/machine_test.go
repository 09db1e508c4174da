package servo

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStepTable(t *testing.T) {
	tests := []struct {
		name    string
		from    State
		in      Input
		to      State
		pending Command
		cycle   bool
	}{
		{"hello from initial", Initial, Input{Event: Hello}, HelloReceived, Describe, false},
		{"description", HelloReceived, Input{Event: Description}, StartMeasure, Measure, false},
		{"first measurement progress", StartMeasure, Input{Event: Measurement, HasProgress: true, Progress: 10}, InMeasure, NoCommand, false},
		{"more measurement progress", InMeasure, Input{Event: Measurement, HasProgress: true, Progress: 50}, InMeasure, NoCommand, false},
		{"measurement done", InMeasure, Input{Event: Measurement}, StartAdjust, Adjust, true},
		{"first adjustment progress", StartAdjust, Input{Event: Adjustment, HasProgress: true, Progress: 10}, InAdjust, NoCommand, false},
		{"more adjustment progress", InAdjust, Input{Event: Adjustment, HasProgress: true, Progress: 90}, InAdjust, NoCommand, false},
		{"adjustment done", InAdjust, Input{Event: Adjustment}, StartMeasure, Measure, false},
		{"goodbye from hello-received", HelloReceived, Input{Event: Goodbye}, Terminated, NoCommand, false},
		{"goodbye from start-measure", StartMeasure, Input{Event: Goodbye}, Terminated, NoCommand, false},
		{"goodbye from in-measure", InMeasure, Input{Event: Goodbye}, Terminated, NoCommand, false},
		{"goodbye from start-adjust", StartAdjust, Input{Event: Goodbye}, Terminated, NoCommand, false},
		{"goodbye from in-adjust", InAdjust, Input{Event: Goodbye}, Terminated, NoCommand, false},
		{"hello after goodbye", Terminated, Input{Event: Hello}, HelloReceived, Describe, false},
	}
	require.Len(t, tests, len(table), "one case per row of the table")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := Status{State: tt.from, Progress: 5, Cycles: 7}
			next, res, err := Step(before, tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.to, next.State)
			assert.Equal(t, tt.pending, next.Pending)
			assert.Equal(t, tt.cycle, res.Cycle)
			want := uint64(7)
			if tt.cycle {
				want = 8
			}
			assert.Equal(t, want, next.Cycles)
			if tt.in.HasProgress {
				assert.Equal(t, tt.in.Progress, next.Progress)
			} else {
				assert.Zero(t, next.Progress, "progress resets when a command completes")
			}
		})
	}
}

// TestStepRejects tries every (state, event, progress) the table lacks: each is a sequence
// error that leaves the status as it was.
func TestStepRejects(t *testing.T) {
	var rejected int
	for _, s := range States() {
		for _, e := range Events() {
			if e == WhatsNext {
				continue
			}
			for _, p := range []bool{false, true} {
				if _, ok := table[key{s, e, p}]; ok {
					continue
				}
				rejected++
				before := Status{State: s, Pending: Measure, Progress: 3, Cycles: 2}
				next, _, err := Step(before, Input{Event: e, HasProgress: p, Progress: 4})
				var se *SequenceError
				require.True(t, errors.As(err, &se), "%s %s progress=%v: want a sequence error, got %v", s, e, p, err)
				assert.Equal(t, before, next)
			}
		}
	}
	assert.Equal(t, int(numStates)*int(numEvents-1)*2-len(table), rejected)
}

func TestWhatsNext(t *testing.T) {
	for _, cmd := range []Command{Describe, Measure, Adjust} {
		st := Status{State: StartMeasure, Pending: cmd}
		next, res, err := Step(st, Input{Event: WhatsNext})
		require.NoError(t, err)
		assert.Equal(t, cmd, res.Command)
		assert.Equal(t, NoCommand, next.Pending, "answering clears the pending command")
		assert.Equal(t, st.State, next.State)
		_, _, err = Step(next, Input{Event: WhatsNext})
		assert.Error(t, err, "none pending is a sequence error")
	}
	_, _, err := Step(Status{State: Initial}, Input{Event: WhatsNext})
	assert.Error(t, err)
	// The original reads no param on WHATS_NEXT: a progress there is ignored.
	next, res, err := Step(Status{State: StartMeasure, Pending: Measure, Progress: 7}, Input{Event: WhatsNext, HasProgress: true, Progress: 3})
	require.NoError(t, err)
	assert.Equal(t, Measure, res.Command)
	assert.Equal(t, Status{State: StartMeasure, Progress: 7}, next)
}

func TestProgressRules(t *testing.T) {
	st := Status{State: StartMeasure}
	steps := []struct {
		in Input
		ok bool
	}{
		{Input{Event: Measurement, HasProgress: true, Progress: 20}, true},
		{Input{Event: Measurement, HasProgress: true, Progress: 20}, true},
		{Input{Event: Measurement, HasProgress: true, Progress: 10}, false},
		{Input{Event: Measurement, HasProgress: true, Progress: 80}, true},
		{Input{Event: Measurement}, true},
		// A new command starts from nothing: lower than the last measure's progress is fine.
		{Input{Event: Adjustment, HasProgress: true, Progress: 5}, true},
		{Input{Event: Adjustment, HasProgress: true, Progress: 4}, false},
		{Input{Event: Adjustment}, true},
		{Input{Event: Measurement, HasProgress: true, Progress: 0}, true},
	}
	for i, s := range steps {
		next, _, err := Step(st, s.in)
		if s.ok {
			require.NoError(t, err, "step %d", i)
		} else {
			require.Error(t, err, "step %d", i)
			assert.Equal(t, st, next)
		}
		st = next
	}
	assert.Equal(t, uint64(1), st.Cycles)
}

func TestParse(t *testing.T) {
	for _, e := range Events()[1:] {
		assert.Equal(t, e, ParseEvent(e.String()))
	}
	assert.Equal(t, EventOther, ParseEvent("hello"))
	for _, s := range States() {
		got, ok := ParseState(s.String())
		assert.True(t, ok)
		assert.Equal(t, s, got)
	}
	_, ok := ParseState("nope")
	assert.False(t, ok)
}
