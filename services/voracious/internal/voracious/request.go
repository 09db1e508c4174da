package voracious

import (
	"bytes"
	"errors"
	"net/http"
	"sync"

	"chaossuite.dev/shared/web"
	"chaossuite.dev/voracious/internal/servo"
)

// ServoRequest is the body a servo posts: {"event": E, "param": {...}|null}.
type ServoRequest struct {
	Event string      `json:"event"`
	Param *ServoParam `json:"param"`
}

// ServoParam is the part of param voracious reads; other fields (descriptions, measurements)
// are accepted and ignored, as the original did.
type ServoParam struct {
	Progress Progress `json:"progress"`
}

// Validate implements web.Validator.
func (r *ServoRequest) Validate() error {
	if r.Event == "" {
		return errors.New("event is missing: want one of HELLO, DESCRIPTION, MEASUREMENT, ADJUSTMENT, GOODBYE, WHATS_NEXT")
	}
	return nil
}

// Input turns a validated request into the state machine's input.
func (r *ServoRequest) Input() servo.Input {
	in := servo.Input{Event: servo.ParseEvent(r.Event)}
	if r.Param != nil && r.Param.Progress.Set {
		in.HasProgress, in.Progress = true, r.Param.Progress.Value
	}
	return in
}

var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// DecodeServo reads a servo request as web.DecodeWith does with AnyContentType and
// AllowUnknownFields (JSON whatever the content type says, since curl -d sends a form's;
// unknown fields ignored; one value only; 413 over the body limit), with a pooled buffer and
// parseServoBody's single pass: this is the hot path measured against a bare handler.
func DecodeServo(r *http.Request) (ServoRequest, error) {
	var req ServoRequest
	buf := bodyBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 64<<10 {
			bodyBuffers.Put(buf)
		}
	}()
	if _, err := buf.ReadFrom(http.MaxBytesReader(nil, r.Body, web.MaxBodyBytes)); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return req, web.Errorf(http.StatusRequestEntityTooLarge, "body is over %d bytes", web.MaxBodyBytes)
		}
		return req, web.Errorf(http.StatusBadRequest, "reading body: %v", err)
	}
	body := buf.Bytes()
	if len(bytes.TrimSpace(body)) == 0 {
		return req, web.Errorf(http.StatusBadRequest, "body is empty: send a JSON object")
	}
	req, err := parseServoBody(body)
	if err != nil {
		return req, web.Errorf(http.StatusBadRequest, "bad JSON: %v", err)
	}
	if err := req.Validate(); err != nil {
		return req, web.Errorf(http.StatusBadRequest, "%v", err)
	}
	return req, nil
}
