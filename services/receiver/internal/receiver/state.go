// Package receiver is the service under test: it answers a trivial request, forwards kill
// requests to the nodekiller, and swaps its configuration in place when upgraded.
package receiver

import (
	"fmt"
	"net/http"
	"regexp"
	"sync"
	"sync/atomic"

	"chaossuite.dev/shared/chaos"
	"chaossuite.dev/shared/receiverapi"
	"chaossuite.dev/shared/web"
)

// Settings is one generation of the receiver's configuration. A Settings value is never
// changed once published: an upgrade publishes a new one.
type Settings struct {
	Version    string `json:"version"`
	Message    string `json:"message"`
	Generation int64  `json:"generation"`
}

// Config holds the live Settings. Readers never block; writers are serialized, so every
// request sees one whole generation, never a version from one and a message from another.
type Config struct {
	current atomic.Pointer[Settings]
	mu      sync.Mutex // serializes writers
	onSwap  func(old, new Settings)
}

// NewConfig returns a Config at generation 1. onSwap, if not nil, is told of every change
// (for the metrics) while writers are held off.
func NewConfig(version, message string, onSwap func(old, new Settings)) *Config {
	if message == "" {
		message = chaos.DefaultMessage(version)
	}
	c := &Config{onSwap: onSwap}
	s := &Settings{Version: version, Message: message, Generation: 1}
	c.current.Store(s)
	if onSwap != nil {
		onSwap(Settings{}, *s)
	}
	return c
}

// Load returns the current settings.
func (c *Config) Load() Settings { return *c.current.Load() }

// Swap publishes version and message as the next generation and returns it.
func (c *Config) Swap(version, message string) Settings {
	if message == "" {
		message = chaos.DefaultMessage(version)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.current.Load()
	next := &Settings{Version: version, Message: message, Generation: old.Generation + 1}
	c.current.Store(next)
	if c.onSwap != nil {
		c.onSwap(*old, *next)
	}
	return *next
}

var versionPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// ValidVersion checks a version name: 1 to 63 letters, digits, dots, dashes or underscores.
func ValidVersion(v string) error {
	if !versionPattern.MatchString(v) {
		return fmt.Errorf("version %q is not 1 to 63 letters, digits, '.', '-' or '_'", v)
	}
	return nil
}

// configRequest is the body of PUT /admin/config.
type configRequest struct {
	receiverapi.ConfigRequest
}

// Validate implements web.Validator.
func (r configRequest) Validate() error {
	if r.Version == nil {
		return web.Errorf(http.StatusBadRequest, `"version" is required`)
	}
	if err := ValidVersion(*r.Version); err != nil {
		return web.Errorf(http.StatusBadRequest, "%v", err)
	}
	if r.Message != nil && len(*r.Message) > 1024 {
		return web.Errorf(http.StatusBadRequest, `"message" is over 1024 bytes`)
	}
	return nil
}
