package service

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// The defaults of the settings a Server reads from Common, for a Common built by hand.
const (
	defaultReadHeaderTimeout = 10 * time.Second
	defaultBodyTimeout       = 30 * time.Second
	defaultIdleTimeout       = 90 * time.Second
	defaultMaxConnections    = 1024
	defaultShutdownTimeout   = 10 * time.Second
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
//
// A client cannot hold the server: headers must arrive within READ_HEADER_TIMEOUT and a
// body within BODY_TIMEOUT after them, an idle keep-alive connection closes after
// IDLE_TIMEOUT, and at most MAX_CONNECTIONS connections are served at once (the others wait
// in the listen backlog). At the end of the drain, connections still open after
// SHUTDOWN_TIMEOUT are closed: a client that dawdles never makes a stop fail.
func (s *Server) ServeListener(ctx context.Context, ln net.Listener) error {
	c := s.Common
	limit := fdBound(positive(c.MaxConnections, defaultMaxConnections), s.Logger)
	srv := &http.Server{
		Handler:           bodyDeadline(positive(c.BodyTimeout, defaultBodyTimeout), s.Handler),
		ReadHeaderTimeout: positive(c.ReadHeaderTimeout, defaultReadHeaderTimeout),
		IdleTimeout:       positive(c.IdleTimeout, defaultIdleTimeout),
		ErrorLog:          slog.NewLogLogger(s.Logger.Handler(), slog.LevelDebug),
	}
	ln = newLimitListener(ln, limit, s.Logger)
	// Ready before the first request can be served: the listener is bound already, so a
	// connection that comes now waits in its backlog for Serve.
	if s.Readiness != nil {
		s.Readiness.Set(true)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.Logger.Info("listening", "addr", ln.Addr().String(), "max_connections", limit)

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}

	if s.Readiness != nil {
		s.Readiness.Set(false)
	}
	s.Logger.Info("draining", "shutdown_delay", c.ShutdownDelay, "shutdown_timeout", c.ShutdownTimeout)
	if d := c.ShutdownDelay; d > 0 {
		time.Sleep(d)
	}
	// Shutdown closes the listener and the idle keep-alive connections at once, then each
	// connection as soon as its request is answered.
	sctx, cancel := context.WithTimeout(context.Background(), positive(c.ShutdownTimeout, defaultShutdownTimeout))
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		open := ln.(*limitListener).open()
		s.Logger.Warn("drain timed out: closing the connections still open", "connections", open,
			"shutdown_timeout", c.ShutdownTimeout)
		err = srv.Close()
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	s.Logger.Info("stopped")
	return nil
}

func positive[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// lingerGrace is how long the rest of a body a handler did not read may take to arrive after
// the answer: net/http reads some of it before it closes the connection, so that the client
// reads the answer rather than a reset.
const lingerGrace = time.Second

// bodyDeadline gives a request's body timeout to arrive, from the moment its headers are in,
// and lifts the deadline once the body has been read to its end: a handler may then run as
// long as it needs (a stop that drains an upgrade takes minutes).
//
// An answer given before the body has been read to its end (a 401, a 404, a 413) goes out at
// once with Connection: close. net/http would otherwise read up to 256 KiB of the body
// before answering, to keep the connection, so that a client sending its body a byte at a time
// would hold a 401 back for as long as it likes. The rest then gets lingerGrace to arrive: a
// client without the token holds a connection for a second, not for the body timeout.
func bodyDeadline(timeout time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		// One allocation a request for all of it: this runs on every request with a body.
		g := &bodyGuard{rc: *http.NewResponseController(w)}
		if err := g.rc.SetReadDeadline(time.Now().Add(timeout)); err != nil {
			next.ServeHTTP(w, r)
			return
		}
		// A shallow copy: the server keeps its own body to discard what the handler left.
		g.req = *r
		g.body = deadlineBody{ReadCloser: r.Body, rc: &g.rc}
		g.req.Body = &g.body
		g.w = earlyAnswer{ResponseWriter: w, body: &g.body}
		next.ServeHTTP(&g.w, &g.req)
		if !g.body.lifted {
			_ = g.rc.SetReadDeadline(time.Now().Add(min(timeout, lingerGrace)))
		}
	})
}

// bodyGuard is what bodyDeadline keeps for one request.
type bodyGuard struct {
	rc   http.ResponseController
	req  http.Request
	body deadlineBody
	w    earlyAnswer
}

// earlyAnswer closes the connection after an answer that starts before the request's body
// has been read to its end.
type earlyAnswer struct {
	http.ResponseWriter
	body  *deadlineBody
	wrote bool
}

// WriteHeader implements http.ResponseWriter.
func (w *earlyAnswer) WriteHeader(code int) {
	if !w.wrote && code >= 200 { // 1xx answers are informational: the answer is still to come
		w.wrote = true
		if !w.body.lifted {
			w.Header().Set("Connection", "close")
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (w *earlyAnswer) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

// Flush implements http.Flusher.
func (w *earlyAnswer) Flush() {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack implements http.Hijacker.
func (w *earlyAnswer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// ReadFrom implements io.ReaderFrom, as net/http's own writer does.
func (w *earlyAnswer) ReadFrom(r io.Reader) (int64, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(w.ResponseWriter, r)
}

// Unwrap lets http.ResponseController reach net/http's writer.
func (w *earlyAnswer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// deadlineBody lifts the read deadline when the body reaches its end.
type deadlineBody struct {
	io.ReadCloser
	rc     *http.ResponseController
	lifted bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) && !b.lifted {
		b.lifted = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
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
