package reaper

import (
	"context"
	"errors"
	"net/http"
	"time"

	"chaossuite.dev/shared/chaos"
	"chaossuite.dev/shared/httpclient"
	"chaossuite.dev/shared/receiverapi"
)

// The results of a kill request, as the result label has them.
const (
	ResultOK       = "ok"       // the receiver or the nodekiller answered 2xx: a node was asked to die
	ResultRejected = "rejected" // 4xx: refused (no eligible victim, MIN_AVAILABLE, bad token)
	ResultError    = "error"    // 5xx, timeout or no answer at all
)

// Where kills are sent, as KILL_VIA names it.
const (
	ViaReceiver   = "receiver"   // the receiver's POST / {"kill_node"}, relayed to the nodekiller
	ViaNodekiller = "nodekiller" // the nodekiller's POST /kill, straight
)

// Results lists every result.
var Results = []string{ResultOK, ResultRejected, ResultError}

// Result is one kill request and what came of it.
type Result struct {
	At              time.Time `json:"at"`
	Method          string    `json:"method"`
	Result          string    `json:"result"`
	Status          int       `json:"status,omitempty"` // HTTP status, when there was an answer
	Victim          string    `json:"victim,omitempty"`
	Error           string    `json:"error,omitempty"`
	Kind            string    `json:"kind,omitempty"` // timeout, refused, reset or other, when no answer came
	DurationSeconds float64   `json:"duration_seconds"`
}

// Sender sends one kill request. It never retries.
type Sender interface {
	Send(ctx context.Context, m chaos.KillMethod) Result
}

// ReceiverSender sends kill requests to the receiver as POST URL {"kill_node": m}; the
// receiver relays them to the nodekiller.
type ReceiverSender struct {
	URL    string
	Client *receiverapi.Client // its Timeout bounds one request
}

// Send implements Sender: one attempt within the client's timeout.
func (s *ReceiverSender) Send(ctx context.Context, m chaos.KillMethod) Result {
	return timed(m, func() (string, error) {
		a, err := s.Client.KillNode(ctx, s.URL, m)
		if a.Kill == nil {
			return "", err
		}
		return a.Kill.Victim, err
	})
}

// NodekillerSender sends kill requests straight to the nodekiller as POST URL/kill
// {"method": m}, for a target that cannot relay them.
type NodekillerSender struct {
	URL    string              // the nodekiller's base URL
	Client *receiverapi.Client // its Timeout bounds one request
}

// Send implements Sender: one attempt within the client's timeout.
func (s *NodekillerSender) Send(ctx context.Context, m chaos.KillMethod) Result {
	return timed(m, func() (string, error) {
		a, err := s.Client.Kill(ctx, s.URL, receiverapi.KillRequest{Method: string(m)})
		return a.Victim, err
	})
}

// timed runs one kill request and makes its Result.
func timed(m chaos.KillMethod, send func() (victim string, err error)) Result {
	start := time.Now()
	victim, err := send()
	res := outcome(victim, err)
	res.At, res.Method, res.DurationSeconds = start.UTC(), string(m), time.Since(start).Seconds()
	return res
}

// outcome classifies what came of a kill request: a 2xx is ok, a 4xx rejected, anything
// else an error.
func outcome(victim string, err error) Result {
	var se *httpclient.StatusError
	switch {
	case err == nil:
		return Result{Result: ResultOK, Status: http.StatusOK, Victim: victim}
	case errors.As(err, &se) && se.Status/100 == 4:
		return Result{Result: ResultRejected, Status: se.Status, Error: err.Error()}
	case errors.As(err, &se):
		return Result{Result: ResultError, Status: se.Status, Error: err.Error()}
	}
	return Result{Result: ResultError, Error: err.Error(), Kind: httpclient.ErrorKind(err)}
}
