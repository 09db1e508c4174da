// Package config loads a service's settings from its environment through caarlos0/env and
// turns every bad value into one clear line naming the variable, the value and what is allowed.
package config

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v10"
)

// Error is a configuration error. Mains exit with status 2 on it.
type Error struct {
	Var     string // the environment variable
	Value   string // what it was set to (hidden for secrets)
	Allowed string // what is allowed, in words
}

// Error implements error as one line. Credentials in URLs never show, in the value or in
// what is allowed (which may repeat the value).
func (e *Error) Error() string {
	return fmt.Sprintf("invalid %s=%q: want %s", e.Var, shown(e.Var, e.Value), RedactURL(e.Allowed))
}

// Invalid returns the configuration error for variable name set to value.
func Invalid(name, value, allowed string) error {
	return &Error{Var: name, Value: value, Allowed: allowed}
}

// Validator is implemented by configurations that check themselves after parsing.
type Validator interface {
	Validate() error
}

// Load parses T from the variables getenv returns, then runs T's Validate if it has one.
// An empty variable counts as unset, so its default applies.
func Load[T any](getenv func(string) string) (T, error) {
	var cfg T
	params, err := env.GetFieldParams(&cfg)
	if err != nil {
		return cfg, fmt.Errorf("config: %w", err)
	}
	environment := make(map[string]string, len(params))
	for _, p := range params {
		if v := getenv(p.Key); v != "" {
			environment[p.Key] = v
		}
	}
	keys := keysByField(reflect.TypeOf(cfg), "")
	if err := env.ParseWithOptions(&cfg, env.Options{Environment: environment}); err != nil {
		return cfg, explain(err, keys, environment)
	}
	if err := finite(reflect.ValueOf(cfg), keys, environment); err != nil {
		return cfg, err
	}
	if v, ok := any(&cfg).(Validator); ok {
		if err := v.Validate(); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

// explain rewrites env's errors, which name Go fields, into lines that name variables.
func explain(err error, keys map[string]string, environment map[string]string) error {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return fmt.Errorf("config: %w", err)
	}
	var lines []string
	for _, e := range agg.Errors {
		var pe env.ParseError
		if errors.As(e, &pe) {
			key := keys[pe.Name]
			lines = append(lines, Invalid(key, environment[key], allowedFor(pe.Type, pe.Err)).Error())
			continue
		}
		lines = append(lines, e.Error())
	}
	return &Errors{Lines: lines}
}

// Errors gathers several configuration errors into one line.
type Errors struct{ Lines []string }

// Error implements error.
func (e *Errors) Error() string { return strings.Join(e.Lines, "; ") }

func allowedFor(t reflect.Type, err error) string {
	var what string
	switch t.Kind() {
	case reflect.Bool:
		what = "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if t.String() == "time.Duration" {
			what = "a duration such as 500ms, 10s or 2m"
		} else {
			what = "a whole number"
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		what = "a whole number, 0 or more"
	case reflect.Float32, reflect.Float64:
		what = "a number"
	case reflect.Slice:
		what = "a comma-separated list"
	default:
		what = "a valid " + t.String()
	}
	// Custom types explain themselves in their error.
	var ce *Error
	if errors.As(err, &ce) {
		return ce.Allowed
	}
	var inner env.ParseValueError
	if errors.As(err, &inner) && inner.Err != nil {
		return what + " (" + inner.Err.Error() + ")"
	}
	if err != nil && t.Kind() != reflect.Bool && !isNumber(t) {
		return what + " (" + err.Error() + ")"
	}
	return what
}

func isNumber(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// keysByField maps each Go field name to its environment key, following envPrefix.
func keysByField(t reflect.Type, prefix string) map[string]string {
	keys := map[string]string{}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Type.Kind() == reflect.Struct && f.Tag.Get("env") == "" {
			for k, v := range keysByField(f.Type, prefix+f.Tag.Get("envPrefix")) {
				keys[k] = v
			}
			continue
		}
		if name, _, _ := strings.Cut(f.Tag.Get("env"), ","); name != "" {
			keys[f.Name] = prefix + name
		}
	}
	return keys
}

// finite refuses NaN and infinities in every float setting: they pass every comparison a
// range check makes (NaN < 0 and NaN > 50000 are both false) and then break whatever uses them.
func finite(v reflect.Value, keys map[string]string, environment map[string]string) error {
	t := v.Type()
	for i := range t.NumField() {
		f, fv := t.Field(i), v.Field(i)
		if !f.IsExported() {
			continue
		}
		if f.Type.Kind() == reflect.Struct && f.Tag.Get("env") == "" {
			if err := finite(fv, keys, environment); err != nil {
				return err
			}
			continue
		}
		key := keys[f.Name]
		if key == "" {
			continue
		}
		bad := false
		switch fv.Kind() {
		case reflect.Float32, reflect.Float64:
			bad = math.IsNaN(fv.Float()) || math.IsInf(fv.Float(), 0)
		case reflect.Slice:
			if k := fv.Type().Elem().Kind(); k == reflect.Float32 || k == reflect.Float64 {
				for j := range fv.Len() {
					bad = bad || math.IsNaN(fv.Index(j).Float()) || math.IsInf(fv.Index(j).Float(), 0)
				}
			}
		}
		if bad {
			return Invalid(key, environment[key], "a finite number (not NaN or infinity)")
		}
	}
	return nil
}

// Finite checks a number a service parsed itself (a percentage, say): NaN and infinities are
// refused with the configuration error for name.
func Finite(name, value string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return Invalid(name, value, "a finite number (not NaN or infinity)")
	}
	return nil
}

// DurationIn checks that d lies between lo and hi, both included. allowed says what is
// allowed when it does not; empty means "a duration from lo to hi".
func DurationIn(name string, d, lo, hi time.Duration, allowed string) error {
	if d >= lo && d <= hi {
		return nil
	}
	if allowed == "" {
		allowed = fmt.Sprintf("a duration from %s to %s", lo, hi)
	}
	return Invalid(name, d.String(), allowed)
}

// IntIn checks that v lies between lo and hi, both included.
func IntIn(name string, v, lo, hi int) error {
	if v >= lo && v <= hi {
		return nil
	}
	return Invalid(name, strconv.Itoa(v), fmt.Sprintf("a whole number from %d to %d", lo, hi))
}

// shown hides the values of secrets so that they never reach a log, and the credentials in
// a URL's user information.
func shown(name, value string) string {
	upper := strings.ToUpper(name)
	for _, s := range []string{"TOKEN", "SECRET", "PASSWORD", "KEY"} {
		if strings.Contains(upper, s) && value != "" {
			return "<redacted>"
		}
	}
	return RedactURLs(value)
}

// RedactURL hides the user information (user name and password) of a URL, so that
// http://user:pw@host:8000/ shows as http://redacted@host:8000/. It works on text too: every
// URL in s loses its user information, and the rest of s comes back as it was.
func RedactURL(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "://")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i+3])
		s = s[i+3:]
		end := strings.IndexAny(s, "/?#\"' \t\r\n,;<>()[]{}")
		if end < 0 {
			end = len(s)
		}
		if at := strings.LastIndex(s[:end], "@"); at >= 0 {
			b.WriteString("redacted")
			s = s[at:]
		}
	}
}

// RedactURLs is RedactURL for a comma-separated list, as TARGETS holds.
func RedactURLs(s string) string { return RedactURL(s) }
