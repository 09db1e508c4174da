// Package web holds the one JSON encode/decode pair and the one error shape every service uses.
package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// MaxBodyBytes is the largest request body a service reads (1 MiB).
const MaxBodyBytes = 1 << 20

// ErrorBody is the shape of every error answer.
type ErrorBody struct {
	Error  string `json:"error"`
	Detail string `json:"detail,omitempty"`
}

// Encode writes v as JSON with the given status.
func Encode(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client went away: nothing to tell it
}

// Error writes the JSON error shape with status, its standard text as "error" and detail.
func Error(w http.ResponseWriter, status int, detail string) {
	Encode(w, status, ErrorBody{Error: strings.ToLower(http.StatusText(status)), Detail: detail})
}

// StatusError is an error that knows the HTTP status it answers with.
type StatusError struct {
	Status int
	Detail string
}

// Error implements error.
func (e *StatusError) Error() string { return e.Detail }

// Errorf returns a StatusError with a formatted detail.
func Errorf(status int, format string, args ...any) error {
	return &StatusError{Status: status, Detail: fmt.Sprintf(format, args...)}
}

// Fail answers err: a StatusError with its own status, anything else as 500.
func Fail(w http.ResponseWriter, err error) {
	var se *StatusError
	if errors.As(err, &se) {
		Error(w, se.Status, se.Detail)
		return
	}
	Error(w, http.StatusInternalServerError, err.Error())
}

// Validator is implemented by request types that check their own values after decoding.
type Validator interface {
	Validate() error
}

// DecodeOptions tune Decode.
type DecodeOptions struct {
	// AllowEmpty accepts an empty body and leaves v at its zero value.
	AllowEmpty bool
	// AnyContentType reads the body as JSON whatever the Content-Type says.
	AnyContentType bool
	// AllowUnknownFields accepts fields v does not have.
	AllowUnknownFields bool
}

// Decode reads one JSON value from r's body into v, strictly: the body must be JSON (415
// otherwise; no Content-Type is accepted as JSON), fit in MaxBodyBytes (413), hold no unknown
// field and nothing after the value (400), and pass v's Validate (400). The error it returns is
// a *StatusError ready for Fail.
func Decode(r *http.Request, v any) error {
	return DecodeWith(r, v, DecodeOptions{})
}

// DecodeWith is Decode with options.
func DecodeWith(r *http.Request, v any, opts DecodeOptions) error {
	if !opts.AnyContentType {
		if ct := r.Header.Get("Content-Type"); ct != "" {
			mt, _, err := mime.ParseMediaType(ct)
			if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
				return Errorf(http.StatusUnsupportedMediaType, "content type %q is not JSON: send application/json", ct)
			}
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return Errorf(http.StatusRequestEntityTooLarge, "body is over %d bytes", MaxBodyBytes)
		}
		return Errorf(http.StatusBadRequest, "reading body: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if opts.AllowEmpty {
			return validate(v)
		}
		return Errorf(http.StatusBadRequest, "body is empty: send a JSON object")
	}
	if err := Unmarshal(body, v, opts.AllowUnknownFields); err != nil {
		return err
	}
	return validate(v)
}

// Unmarshal decodes exactly one JSON value from body into v, refusing unknown fields unless
// allowUnknown. Its errors are *StatusError with status 400.
func Unmarshal(body []byte, v any, allowUnknown bool) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if !allowUnknown {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return Errorf(http.StatusBadRequest, "bad JSON: %s", DescribeJSONError(err))
	}
	if dec.More() {
		return Errorf(http.StatusBadRequest, "bad JSON: more than one value in the body")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Errorf(http.StatusBadRequest, "bad JSON: trailing data after the value")
	}
	return nil
}

func validate(v any) error {
	if val, ok := v.(Validator); ok {
		if err := val.Validate(); err != nil {
			var se *StatusError
			if errors.As(err, &se) {
				return se
			}
			return Errorf(http.StatusBadRequest, "%v", err)
		}
	}
	return nil
}

// DescribeJSONError says what is wrong with a JSON body in words a client can act on.
func DescribeJSONError(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("syntax error at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		if typ.Field != "" {
			return fmt.Sprintf("field %q wants %s, got %s", typ.Field, typ.Type, typ.Value)
		}
		return fmt.Sprintf("want %s, got %s", typ.Type, typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected end of input"
	}
	// json reports unknown fields as `json: unknown field "x"`.
	return strings.TrimPrefix(err.Error(), "json: ")
}
