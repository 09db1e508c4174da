package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Server is a service's HTTP server with the suite's graceful shutdown.
type Server struct {
	Handler   http.Handler
	Readiness *Readiness
	Logger    *slog.Logger
	Common    Common
}

// Serve listens on addr and serves until ctx is done, then drains: /readyz turns 503, it waits
// ShutdownDelay so that load balancers notice, and finishes in-flight requests within
// ShutdownTimeout. It returns nil after a clean drain.
func (s *Server) Serve(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return s.ServeListener(ctx, ln)
}

// ServeListener is Serve on a listener the caller opened.
func (s *Server) ServeListener(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       90 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.Logger.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.Logger.Info("listening", "addr", ln.Addr().String())
	if s.Readiness != nil {
		s.Readiness.Set(true)
	}

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}

	if s.Readiness != nil {
		s.Readiness.Set(false)
	}
	s.Logger.Info("draining", "shutdown_delay", s.Common.ShutdownDelay, "shutdown_timeout", s.Common.ShutdownTimeout)
	if d := s.Common.ShutdownDelay; d > 0 {
		time.Sleep(d)
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.Common.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	s.Logger.Info("stopped")
	return nil
}

// Healthcheck probes the /readyz of the service listening on listenAddr and fails unless it
// answers 200: images are FROM scratch, so health checks have no curl.
func Healthcheck(ctx context.Context, listenAddr string) error {
	host, port, err := net.SplitHostPort(listenAddr)
	if err != nil {
		return &UsageError{Msg: fmt.Sprintf("healthcheck: bad LISTEN_ADDR %q: %v", listenAddr, err)}
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	url := "http://" + net.JoinHostPort(host, port) + "/readyz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return &ExitError{Code: 1, Err: fmt.Errorf("healthcheck: %w", err)}
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &ExitError{Code: 1, Err: fmt.Errorf("healthcheck: %s answered %s", url, resp.Status)}
	}
	return nil
}
