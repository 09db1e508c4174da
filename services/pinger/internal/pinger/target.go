// Package pinger is the suite's probe and control plane: constant-rate, open-loop requests to
// each target (pacer, sender, recorder, reporter, in the style of vegeta's core), and the
// /start and /stop that drive the reaper and the helmsman.
package pinger

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Target is one endpoint probed at a constant rate.
type Target struct {
	Name   string          `json:"name"`
	URL    string          `json:"url"`
	QPS    float64         `json:"qps"`
	Method string          `json:"method,omitempty"`
	Body   json.RawMessage `json:"body,omitempty"`
	Token  string          `json:"token,omitempty"` // the bearer this target gets; never logged or shown
	// SharedToken sends the suite's AUTH_TOKEN to a target without a token of its own: the
	// suite's own services get it, any other target only when it asks.
	SharedToken bool `json:"shared_token,omitempty"`
	// Connection is how requests reach the replicas behind URL: spread (default), keepalive
	// or new-connection.
	Connection ConnectionMode `json:"connection,omitempty"`
	// VersionHeader is the response header that names the version that answered (default
	// X-Receiver-Version; a JSON body's "version" stands in when the header is absent);
	// NoVersion for a target that reports none: no version is read or recorded.
	VersionHeader string `json:"version_header,omitempty"`
}

// DefaultVersionHeader is where the receiver names its version; NoVersion turns the reading off.
const (
	DefaultVersionHeader = "X-Receiver-Version"
	NoVersion            = "none"
)

// maxHeaderName bounds a version header's name.
const maxHeaderName = 64

// ValidVersionHeader checks a version header setting and returns it canonical: empty gives the
// default, none (in any case) gives NoVersion, anything else must be an HTTP header name.
func ValidVersionHeader(h string) (string, error) {
	switch {
	case h == "":
		return DefaultVersionHeader, nil
	case strings.EqualFold(h, NoVersion):
		return NoVersion, nil
	case len(h) > maxHeaderName || strings.IndexFunc(h, notTokenChar) >= 0:
		return "", fmt.Errorf("version header %q: want a header name (letters, digits, - and the other token characters, at most %d) or none", h, maxHeaderName)
	}
	return http.CanonicalHeaderKey(h), nil
}

// notTokenChar reports a rune an HTTP header name cannot hold (RFC 9110 token).
func notTokenChar(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return false
	}
	return !strings.ContainsRune("!#$%&'*+-.^_`|~", r)
}

// maxQPS bounds a target's rate: beyond it one machine measures itself, not the target.
const maxQPS = 50000

// Validate checks a target and fills its defaults.
func (t *Target) Validate() error {
	if t.Name == "" || len(t.Name) > 64 || strings.ContainsAny(t.Name, " \t\n\"") {
		return fmt.Errorf("target name %q: want 1 to 64 characters without spaces or quotes", t.Name)
	}
	u, err := url.Parse(t.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("target %s: url %q is not an http(s) URL", t.Name, t.URL)
	}
	if t.QPS <= 0 || t.QPS > maxQPS {
		return fmt.Errorf("target %s: qps %v: want more than 0 and at most %d", t.Name, t.QPS, maxQPS)
	}
	if t.Method == "" {
		t.Method = http.MethodPost
	}
	t.Method = strings.ToUpper(t.Method)
	switch t.Method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodHead, http.MethodDelete, http.MethodPatch:
	default:
		return fmt.Errorf("target %s: method %q: want GET, POST, PUT, PATCH, DELETE or HEAD", t.Name, t.Method)
	}
	switch t.Connection {
	case "":
		t.Connection = Spread
	case Spread, KeepAlive, NewConnection:
	default:
		return fmt.Errorf("target %s: connection %q: want spread, keepalive or new-connection", t.Name, t.Connection)
	}
	if len(t.Body) > 0 && !json.Valid(t.Body) {
		return fmt.Errorf("target %s: body is not JSON", t.Name)
	}
	h, err := ValidVersionHeader(t.VersionHeader)
	if err != nil {
		return fmt.Errorf("target %s: %v", t.Name, err)
	}
	t.VersionHeader = h
	return nil
}

// ParseTargets decodes PINGER_TARGETS, a JSON list of targets, strictly.
func ParseTargets(s string) ([]Target, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	var ts []Target
	if err := dec.Decode(&ts); err != nil {
		return nil, fmt.Errorf("not a JSON list of {name, url, qps, method, body, token, shared_token, connection, version_header}: %v", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after the list")
	}
	seen := map[string]bool{}
	for i := range ts {
		if err := ts[i].Validate(); err != nil {
			return nil, err
		}
		if seen[ts[i].Name] {
			return nil, fmt.Errorf("target name %q appears twice", ts[i].Name)
		}
		seen[ts[i].Name] = true
	}
	return ts, nil
}

// RedactURL hides the credentials a URL may carry (http://user:pw@host) before it is shown.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}
