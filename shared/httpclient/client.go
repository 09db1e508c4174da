// Package httpclient is the suite's outgoing HTTP: a client that carries trace context, and a
// retry loop on go-retry for the calls that may be repeated.
package httpclient

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/sethvargo/go-retry"

	"chaossuite.dev/shared/telemetry"
)

// New returns a client whose requests carry the W3C traceparent of their context and a client
// span. Each call sets its own deadline through its context.
func New(tel *telemetry.Telemetry, maxConnsPerHost int) *http.Client {
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.MaxIdleConns = 0
	base.MaxIdleConnsPerHost = maxConnsPerHost
	base.IdleConnTimeout = 90 * time.Second
	var rt http.RoundTripper = base
	if tel != nil {
		rt = tel.Transport(base)
	}
	return &http.Client{Transport: rt}
}

// Policy says how often and how fast to retry.
type Policy struct {
	MaxAttempts uint64        // attempts in all, first included; 0 means 1
	Base        time.Duration // first wait
	Max         time.Duration // longest wait
}

// Backoff returns the go-retry backoff for p: exponential from Base, capped at Max, with
// jitter, stopping after MaxAttempts attempts.
func (p Policy) Backoff() retry.Backoff {
	attempts := p.MaxAttempts
	if attempts == 0 {
		attempts = 1
	}
	base := p.Base
	if base <= 0 {
		base = 100 * time.Millisecond
	}
	b := retry.NewExponential(base)
	if p.Max > 0 {
		b = retry.WithCappedDuration(p.Max, b)
	}
	b = retry.WithJitterPercent(10, b)
	return retry.WithMaxRetries(attempts-1, b)
}

// Do calls attempt until it succeeds, returns an error that is not retryable, or the policy's
// attempts run out. attempt reports which try it is (1-based); wrap an error with Retryable to
// ask for another.
func Do(ctx context.Context, p Policy, attempt func(ctx context.Context, n int) error) error {
	n := 0
	return retry.Do(ctx, p.Backoff(), func(ctx context.Context) error {
		n++
		return attempt(ctx, n)
	})
}

// Retryable marks err as worth another attempt.
func Retryable(err error) error { return retry.RetryableError(err) }

// RetryableStatus reports whether an HTTP status is worth another attempt: the gateway errors a
// restarting node gives.
func RetryableStatus(code int) bool {
	return code == http.StatusBadGateway || code == http.StatusServiceUnavailable || code == http.StatusGatewayTimeout
}

// ErrorKind classifies a transport error: timeout, refused, reset or other.
func ErrorKind(err error) string {
	var ne net.Error
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, net.ErrClosed),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "reset"
	}
	return "other"
}
