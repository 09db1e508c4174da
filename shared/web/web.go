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
	"os"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
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
// The detail is cut at MaxDetailBytes: it may repeat what a client sent.
func Error(w http.ResponseWriter, status int, detail string) {
	Encode(w, status, ErrorBody{Error: strings.ToLower(http.StatusText(status)), Detail: Truncate(detail, MaxDetailBytes)})
}

// MaxDetailBytes bounds an error answer's detail.
const MaxDetailBytes = 2048

// maxDecodeDetail bounds what a decoding error repeats of the body (a field name, a value).
const maxDecodeDetail = 512

// Truncate bounds s, as an answer or a log line repeats it, to about n bytes: a longer s is
// cut at a character boundary and says how long it was.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "...(" + strconv.Itoa(len(s)) + " bytes)"
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
// otherwise; no Content-Type is accepted as JSON), fit in MaxBodyBytes (413), arrive before
// the server's body deadline (408), hold no unknown field, no key twice, no key that differs
// from a field's name only in case, no NUL and no invalid UTF-8 in a string, and nothing
// after the value (400), and pass v's Validate (400). The error it returns is a
// *StatusError ready for Fail.
func Decode(r *http.Request, v any) error {
	return DecodeWith(r, v, DecodeOptions{})
}

// DecodeWith is Decode with options.
func DecodeWith(r *http.Request, v any, opts DecodeOptions) error {
	// No body at all is no content of any type: curl -X POST -d '' sends a form type.
	knownEmpty := r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0
	if !opts.AnyContentType && !(opts.AllowEmpty && knownEmpty) {
		if ct := r.Header.Get("Content-Type"); ct != "" {
			mt, _, err := mime.ParseMediaType(ct)
			if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
				return Errorf(http.StatusUnsupportedMediaType, "content type %q is not JSON: send application/json", Truncate(ct, 64))
			}
		}
	}
	var body []byte
	if r.Body != nil {
		var err error
		body, err = io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBodyBytes))
		if err != nil {
			var mbe *http.MaxBytesError
			switch {
			case errors.As(err, &mbe):
				return Errorf(http.StatusRequestEntityTooLarge, "body is over %d bytes", MaxBodyBytes)
			case errors.Is(err, os.ErrDeadlineExceeded):
				return Errorf(http.StatusRequestTimeout, "the body did not arrive in time (BODY_TIMEOUT)")
			}
			return Errorf(http.StatusBadRequest, "reading body: %v", err)
		}
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

// Unmarshal decodes exactly one JSON value from body into v, strictly as Decode says,
// refusing unknown fields unless allowUnknown. Its errors are *StatusError with status 400.
// On an error v may have been partly filled: decode into a fresh value.
func Unmarshal(body []byte, v any, allowUnknown bool) error {
	if err := checkStrict(body, reflect.TypeOf(v)); err != nil {
		return Errorf(http.StatusBadRequest, "bad JSON: %s", err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if !allowUnknown {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return Errorf(http.StatusBadRequest, "bad JSON: %s", Truncate(DescribeJSONError(err), maxDecodeDetail))
	}
	if dec.More() {
		return Errorf(http.StatusBadRequest, "bad JSON: more than one value in the body")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Errorf(http.StatusBadRequest, "bad JSON: trailing data after the value")
	}
	return nil
}

// validate runs v's Validate; its error, which may repeat a value of the body, is cut at
// maxDecodeDetail.
func validate(v any) error {
	if val, ok := v.(Validator); ok {
		if err := val.Validate(); err != nil {
			var se *StatusError
			if errors.As(err, &se) {
				return &StatusError{Status: se.Status, Detail: Truncate(se.Detail, maxDecodeDetail)}
			}
			return Errorf(http.StatusBadRequest, "%s", Truncate(err.Error(), maxDecodeDetail))
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
			return fmt.Sprintf("field %q wants %s, got %s", typ.Field, jsonKind(typ.Type), jsonValue(typ.Value))
		}
		return fmt.Sprintf("want %s, got %s", jsonKind(typ.Type), jsonValue(typ.Value))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected end of input"
	}
	// json reports unknown fields as `json: unknown field "x"`.
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if strings.HasPrefix(msg, "cannot unmarshal") {
		// A custom type's own error names Go types; say it without them.
		return "a value of the wrong type"
	}
	return msg
}

// jsonKind names what a Go type takes, in JSON's words, never the Go type's own name.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a string"
		}
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number, 0 or more"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "a value"
}

// jsonValue names what encoding/json found, in JSON's words ("number 1e400" is a number).
func jsonValue(v string) string {
	kind, _, _ := strings.Cut(v, " ")
	switch kind {
	case "object":
		return "an object"
	case "array":
		return "an array"
	case "string":
		return "a string"
	case "number":
		return "a number"
	case "bool":
		return "true or false"
	}
	return v
}

// NoInput guards an action that takes no input, such as POST /start: the request may carry no
// body or an empty JSON object ({}); anything else is refused before the action runs, with
// 415 for a body that is not JSON and 400 for any other.
func NoInput(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var none struct{}
		if err := DecodeWith(r, &none, DecodeOptions{AllowEmpty: true}); err != nil {
			Fail(w, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}
