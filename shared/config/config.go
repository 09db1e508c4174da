// Package config loads a service's settings from its environment through caarlos0/env and
// turns every bad value into one clear line naming the variable, the value and what is allowed.
package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/caarlos0/env/v10"
)

// Error is a configuration error. Mains exit with status 2 on it.
type Error struct {
	Var     string // the environment variable
	Value   string // what it was set to (hidden for secrets)
	Allowed string // what is allowed, in words
}

// Error implements error as one line.
func (e *Error) Error() string {
	return fmt.Sprintf("invalid %s=%q: want %s", e.Var, shown(e.Var, e.Value), e.Allowed)
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
	if err := env.ParseWithOptions(&cfg, env.Options{Environment: environment}); err != nil {
		return cfg, explain(err, keysByField(reflect.TypeOf(cfg), ""), environment)
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

// shown hides the values of secrets so that they never reach a log.
func shown(name, value string) string {
	upper := strings.ToUpper(name)
	for _, s := range []string{"TOKEN", "SECRET", "PASSWORD", "KEY"} {
		if strings.Contains(upper, s) && value != "" {
			return "<redacted>"
		}
	}
	return value
}
