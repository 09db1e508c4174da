package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"chaossuite.dev/shared/config"
)

// RunFunc is a service's whole program, called by main and by tests alike.
type RunFunc func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error

// UsageError is a bad command line: main exits with status 2 on it.
type UsageError struct{ Msg string }

// Error implements error.
func (e *UsageError) Error() string { return e.Msg }

// Main runs run with the process's arguments and environment, cancelled by SIGTERM or SIGINT,
// and exits: 0 on success, 2 on a configuration or usage error, 1 on anything else. The error
// is printed as one line.
func Main(name string, run RunFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(ExitCode(name, err, os.Stderr))
}

// ExitCode prints err for name on stderr and returns the exit status it stands for.
func ExitCode(name string, err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "%s: %v\n", name, err)
	var ce *config.Error
	var ces *config.Errors
	var ue *UsageError
	if errors.As(err, &ce) || errors.As(err, &ces) || errors.As(err, &ue) {
		return 2
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return 1
}

// ExitError asks main to exit with Code, as when a check fails.
type ExitError struct {
	Code int
	Err  error
}

// Error implements error.
func (e *ExitError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *ExitError) Unwrap() error { return e.Err }

// NewLogger returns the slog logger the settings ask for, writing to w, tagged with the service.
func NewLogger(c Common, name string, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.Level(c.LogLevel)}
	var h slog.Handler
	if c.LogFormat == "text" {
		h = slog.NewTextHandler(w, opts)
	} else {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(h).With("service", name)
}
