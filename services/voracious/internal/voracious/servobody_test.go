package voracious

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// parseServoBodyRef is parseServoBody's reading through encoding/json: maps keep the exact
// keys and the last of a repeated key, as the original's dicts do.
func parseServoBodyRef(body []byte) (ServoRequest, error) {
	var req ServoRequest
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return req, err
	}
	if ev, ok := top["event"]; ok && string(ev) != "null" {
		if err := json.Unmarshal(ev, &req.Event); err != nil {
			return req, err
		}
	}
	if raw, ok := top["param"]; ok && string(raw) != "null" {
		var param map[string]json.RawMessage
		if err := json.Unmarshal(raw, &param); err != nil {
			return req, err
		}
		req.Param = &ServoParam{}
		if pr, ok := param["progress"]; ok {
			if v, ok := pyIntJSON(pr); ok {
				req.Param.Progress = Progress{Set: true, Value: v}
			}
		}
	}
	return req, nil
}

func checkSameReading(t *testing.T, body []byte) {
	t.Helper()
	got, gotErr := parseServoBody(body)
	want, wantErr := parseServoBodyRef(body)
	if (gotErr != nil) != (wantErr != nil) {
		t.Fatalf("%q: parseServoBody says %v, encoding/json says %v", body, gotErr, wantErr)
	}
	if gotErr == nil && (got.Event != want.Event || (got.Param == nil) != (want.Param == nil) ||
		(got.Param != nil && got.Param.Progress != want.Param.Progress)) {
		t.Fatalf("%q: parseServoBody reads %+v %+v, encoding/json %+v %+v", body, got, got.Param, want, want.Param)
	}
}

var servoBodies = []string{
	`{ "event" : "MEASUREMENT", "param": { "progress": 10 } }`,
	`{"event":"HELLO"}`, `{"event":"WHATS_NEXT","param":null}`, `null`, ` null `, `nul`, `{}`, `[]`, `"x"`, `5`, `true`,
	`{"event":"HELLO","event":"GOODBYE"}`, `{"event":"HELLO","event":null}`, `{"EVENT":"HELLO"}`, `{"\u0065vent":"HEL\u004cO"}`,
	`{"event":7}`, `{"event":["HELLO"]}`, `{"event":"a\u00"}`, `{"event":"\ud800"}`, "{\"event\":\"\xff\"}", "{\"event\":\"a\tb\"}",
	`{"event":"X","param":{"progress":12.5}}`, `{"event":"X","param":{"progress":"12"}}`, `{"event":"X","param":{"Progress":3}}`,
	`{"event":"X","param":{"progress":3,"progress":null}}`, `{"event":"X","param":{"progress":3},"param":{}}`,
	`{"event":"X","param":{"progress":3},"param":null}`, `{"event":"X","param":5}`, `{"event":"X","param":[1]}`,
	`{"event":"X","param":{"a":{"b":[1,2,{"c":null}]},"progress":-0.0e+1}}`, `{"event":"X","param":{"progress":01}}`,
	`{"event":"X","param":{"progress":1.}}`, `{"event":"X","param":{"progress":.5}}`, `{"event":"X","param":{"progress":-}}`,
	`{"event":"X","param":{"progress":1e}}`, `{"event":"X","param":{"progress":NaN}}`, `{"event":"X",}`, `{"event":"X"`,
	`{"event":"X"}}`, `{"event":"X"} x`, `{"event" "X"}`, `{event:"X"}`, `{"event":"X","param":{"p":tru}}`, "\ufeff{}",
	`{"a":[1,2,]}`, `{"a":[,]}`, `{"a":"\/\b\f\n\r\t\"\\"}`, `{"a":"\x"}`, `{"a":1 2}`,
}

func TestParseServoBodyMatchesEncodingJSON(t *testing.T) {
	for _, b := range servoBodies {
		checkSameReading(t, []byte(b))
	}
	for _, depth := range []int{maxJSONDepth - 2, maxJSONDepth - 1, maxJSONDepth, maxJSONDepth + 1} {
		// The servo body's object and param's object, then arrays to depth containers in all.
		b := `{"event":"X","param":{"a":` + strings.Repeat("[", depth-2) + strings.Repeat("]", depth-2) + `}}`
		checkSameReading(t, []byte(b))
	}
	req, err := parseServoBody([]byte(`{"event":"MEASUREMENT","param":{"progress":50.0,"message":"x"}}`))
	assert.NoError(t, err)
	assert.Equal(t, "MEASUREMENT", req.Event)
	assert.Equal(t, Progress{Set: true, Value: 50}, req.Param.Progress)
}

// FuzzParseServoBody holds the request path's decoder to encoding/json's reading.
func FuzzParseServoBody(f *testing.F) {
	for _, b := range servoBodies {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkSameReading(t, body) })
}
