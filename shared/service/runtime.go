package service

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"chaossuite.dev/shared/telemetry"
)

// Runtime is what every service builds before its own parts: logger, metrics registry,
// telemetry and readiness, for the settings in Common.
type Runtime struct {
	Name      string
	Common    Common
	Logger    *slog.Logger
	Registry  *prometheus.Registry
	Telemetry *telemetry.Telemetry
	Readiness *Readiness
}

// Start handles the healthcheck subcommand every binary has and otherwise builds the Runtime.
// When it returns a nil Runtime, run should return its error: the subcommand ran (or the
// command line was wrong). Close the Runtime when run ends.
func Start(ctx context.Context, name string, args []string, getenv func(string) string, stderr io.Writer,
	common Common, listenAddr string) (*Runtime, error) {
	if len(args) > 1 {
		if args[1] == "healthcheck" {
			return nil, Healthcheck(ctx, listenAddr)
		}
		return nil, &UsageError{Msg: fmt.Sprintf("unknown command %q (usage: %s [healthcheck])", args[1], name)}
	}
	tel, err := telemetry.Setup(ctx, name, getenv)
	if err != nil {
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	return &Runtime{
		Name:      name,
		Common:    common,
		Logger:    NewLogger(common, name, stderr),
		Registry:  NewRegistry(),
		Telemetry: tel,
		Readiness: &Readiness{},
	}, nil
}

// Serve serves routes behind the shared router on listenAddr until ctx ends, then drains.
func (rt *Runtime) Serve(ctx context.Context, listenAddr string, routes func(r chi.Router)) error {
	srv := &Server{
		Handler: NewRouter(Deps{
			Name: rt.Name, Logger: rt.Logger, Registry: rt.Registry, Telemetry: rt.Telemetry,
			Token: rt.Common.Token(), Readiness: rt.Readiness,
		}, routes),
		Readiness: rt.Readiness, Logger: rt.Logger, Common: rt.Common,
	}
	return srv.Serve(ctx, listenAddr)
}

// Close flushes the telemetry.
func (rt *Runtime) Close() { _ = rt.Telemetry.Shutdown(context.Background()) }
