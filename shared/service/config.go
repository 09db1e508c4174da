// Package service is the bootstrap every chaos suite service shares: common settings, logging,
// the chi router with its middleware and built-in routes, graceful serving, and main.
package service

import (
	"log/slog"
	"strings"
	"time"

	"chaossuite.dev/shared/auth"
	"chaossuite.dev/shared/config"
)

// Common holds the settings every service reads. Each service embeds it in its own Config
// beside its LISTEN_ADDR, whose default differs per service.
type Common struct {
	LogLevel        LogLevel      `env:"LOG_LEVEL" envDefault:"info"`
	LogFormat       LogFormat     `env:"LOG_FORMAT" envDefault:"json"`
	AuthToken       string        `env:"AUTH_TOKEN"`
	ShutdownDelay   time.Duration `env:"SHUTDOWN_DELAY" envDefault:"0s"`
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"10s"`
	// How long a client may take to send a request's headers, then its body, and how long
	// an idle keep-alive connection is kept; and how many connections are served at once.
	ReadHeaderTimeout time.Duration `env:"READ_HEADER_TIMEOUT" envDefault:"10s"`
	BodyTimeout       time.Duration `env:"BODY_TIMEOUT" envDefault:"30s"`
	IdleTimeout       time.Duration `env:"IDLE_TIMEOUT" envDefault:"90s"`
	MaxConnections    int           `env:"MAX_CONNECTIONS" envDefault:"1024"`
}

// The bounds of the common settings.
const (
	maxShutdown    = 10 * time.Minute
	maxClientWait  = 10 * time.Minute
	minConnections = 8
	maxConnections = 1 << 20
)

// Validate checks the values env cannot.
func (c Common) Validate() error {
	if c.ShutdownDelay < 0 || c.ShutdownDelay > maxShutdown {
		return config.Invalid("SHUTDOWN_DELAY", c.ShutdownDelay.String(), "a duration of 0 or more, at most "+maxShutdown.String())
	}
	if c.ShutdownTimeout <= 0 || c.ShutdownTimeout > maxShutdown {
		return config.Invalid("SHUTDOWN_TIMEOUT", c.ShutdownTimeout.String(), "a positive duration, at most "+maxShutdown.String())
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"READ_HEADER_TIMEOUT", c.ReadHeaderTimeout}, {"BODY_TIMEOUT", c.BodyTimeout}, {"IDLE_TIMEOUT", c.IdleTimeout}} {
		if err := config.DurationIn(d.name, d.v, time.Millisecond, maxClientWait, "a positive duration, at most "+maxClientWait.String()); err != nil {
			return err
		}
	}
	return config.IntIn("MAX_CONNECTIONS", c.MaxConnections, minConnections, maxConnections)
}

// Token returns the shared bearer token.
func (c Common) Token() auth.Token { return auth.NewToken(c.AuthToken) }

// LogLevel is LOG_LEVEL: debug, info, warn or error.
type LogLevel slog.Level

// UnmarshalText parses a level by name.
func (l *LogLevel) UnmarshalText(b []byte) error {
	switch strings.ToLower(string(b)) {
	case "debug":
		*l = LogLevel(slog.LevelDebug)
	case "info":
		*l = LogLevel(slog.LevelInfo)
	case "warn", "warning":
		*l = LogLevel(slog.LevelWarn)
	case "error":
		*l = LogLevel(slog.LevelError)
	default:
		return config.Invalid("LOG_LEVEL", string(b), "debug, info, warn or error")
	}
	return nil
}

// LogFormat is LOG_FORMAT: json or text.
type LogFormat string

// UnmarshalText checks the format by name.
func (f *LogFormat) UnmarshalText(b []byte) error {
	switch s := strings.ToLower(string(b)); s {
	case "json", "text":
		*f = LogFormat(s)
	default:
		return config.Invalid("LOG_FORMAT", string(b), "json or text")
	}
	return nil
}
