package pinger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"sync"
	"time"

	"chaossuite.dev/shared/auth"
	"chaossuite.dev/shared/httpclient"
)

// Result is one request as the recorder sees it: plain values, streamed in.
type Result struct {
	Target    string
	Scheduled time.Time     // when it was due to leave
	Latency   time.Duration // from Scheduled to the final answer, retries included
	Attempts  int
	OK        bool   // the final answer was a 2xx
	FirstOK   bool   // the first attempt already was
	Dropped   bool   // never sent: the pending cap was reached
	Code      int    // final HTTP status; 0 when no answer came
	Kind      string // timeout, refused, reset or other, when no answer came
	Reason    string // what went wrong, for the error breakdown
	Version   string // version that answered, from the target's version header or the JSON "version"

	Replica string // host:port the first attempt was sent to; a request counts for this replica
	Node    string // the node that answered the first attempt, from X-Receiver-Node or the JSON "node"
	// The first attempt's failure, when it failed: what the platform did before any retry.
	FirstCode           int
	FirstKind           string
	FirstReason         string
	FirstFailedAt       time.Time // when the first attempt's failure was known
	FirstAttemptLatency time.Duration
}

// firstClass is the class of the first attempt's failure: http_<code> or a transport kind.
func (r Result) firstClass() string {
	if r.FirstCode == 0 && r.FirstKind == "" {
		return errorClass(r.Code, r.Kind)
	}
	return errorClass(r.FirstCode, r.FirstKind)
}

// Sender sends one target's requests with retries.
type Sender struct {
	Target  Target
	Token   string // bearer; never logged
	Policy  httpclient.Policy
	Timeout time.Duration // per attempt
	Clock   Clock

	conn *connector
}

// NewSender returns the sender of target t, with a connector of its own holding up to
// maxConns connections per address. token is sent where the target takes the suite's token.
func NewSender(t Target, token string, policy httpclient.Policy, timeout time.Duration, clock Clock, maxConns int, n Network) *Sender {
	if t.Token != "" {
		token = t.Token
	} else if !t.SharedToken {
		token = ""
	}
	if clock == nil {
		clock = RealClock{}
	}
	return &Sender{Target: t, Token: token, Policy: policy, Timeout: timeout, Clock: clock, conn: newConnector(t, maxConns, n)}
}

// attemptError is a failed attempt's classification.
type attemptError struct {
	code   int
	kind   string
	reason string
}

func (e *attemptError) Error() string { return e.reason }

// answer is what a successful attempt learnt of the replica.
type answer struct {
	version, node, addr string
}

// Send sends request number n, due at scheduled, and returns its result. ctx ends the retries
// (a stopping pinger sends no further attempts); each attempt is bounded by Timeout alone.
func (s *Sender) Send(ctx context.Context, n uint64, scheduled time.Time) Result {
	res := Result{Target: s.Target.Name, Scheduled: scheduled}
	var last *attemptError
	// The first attempt always goes out once due; a stop only ends the retries.
	err := httpclient.Do(context.WithoutCancel(ctx), s.Policy, func(actx context.Context, k int) error {
		if k > 1 && ctx.Err() != nil {
			return last
		}
		res.Attempts = k
		ans, aerr := s.attempt(actx, n, k-1)
		if k == 1 {
			res.Replica, res.Node = ans.addr, ans.node
			now := s.Clock.Now()
			res.FirstAttemptLatency = now.Sub(scheduled)
			if aerr != nil {
				res.FirstCode, res.FirstKind, res.FirstReason, res.FirstFailedAt = aerr.code, aerr.kind, aerr.reason, now
			}
		}
		if aerr == nil {
			res.Version = ans.version
			last = nil
			return nil
		}
		last = aerr
		if aerr.code == 0 || httpclient.RetryableStatus(aerr.code) {
			return httpclient.Retryable(aerr)
		}
		return aerr
	})
	res.Latency = s.Clock.Now().Sub(scheduled)
	res.OK = err == nil && last == nil
	res.FirstOK = res.OK && res.Attempts == 1
	if last != nil {
		res.Code, res.Kind, res.Reason = last.code, last.kind, last.reason
	}
	if res.OK {
		res.Code = http.StatusOK
	}
	return res
}

// attempt sends attempt k (from 0) of request n. Its answer names the address it went to even
// when it failed.
func (s *Sender) attempt(ctx context.Context, n uint64, k int) (ans answer, _ *attemptError) {
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	addr := s.conn.address(n, k)
	ans.addr = addr
	if addr == "" {
		// Go's dialer chooses: learn where the request went from the connection itself.
		traced := &tracedAddr{}
		ctx = httptrace.WithClientTrace(ctx, traced.trace())
		defer func() { ans.addr = traced.get() }()
	}
	var body io.Reader
	if len(s.Target.Body) > 0 {
		body = bytes.NewReader(s.Target.Body)
	}
	req, err := http.NewRequestWithContext(ctx, s.Target.Method, s.Target.URL, body)
	if err != nil {
		return ans, &attemptError{kind: "other", reason: err.Error()}
	}
	if addr != "" {
		req.URL.Host = addr // dial the replica; the Host header still names the target
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	auth.SetBearer(req, s.Token)
	resp, err := s.conn.client.Do(req)
	if err != nil {
		kind := httpclient.ErrorKind(err)
		return ans, &attemptError{kind: kind, reason: shortReason(err)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return ans, &attemptError{kind: httpclient.ErrorKind(err), reason: "reading the answer: " + shortReason(err)}
	}
	ans.node = resp.Header.Get("X-Receiver-Node")
	if resp.StatusCode/100 != 2 {
		return ans, &attemptError{code: resp.StatusCode, reason: strconv.Itoa(resp.StatusCode) + " " + httpclient.Excerpt(data)}
	}
	wantVersion := s.Target.VersionHeader != NoVersion
	if wantVersion {
		ans.version = resp.Header.Get(orElse(s.Target.VersionHeader, DefaultVersionHeader))
	}
	if (wantVersion && ans.version == "" && bytes.Contains(data, []byte(`"version"`))) || (ans.node == "" && bytes.Contains(data, []byte(`"node"`))) {
		var v struct {
			Version string `json:"version"`
			Node    string `json:"node"`
		}
		if json.Unmarshal(data, &v) == nil {
			if wantVersion {
				ans.version = orElse(ans.version, v.Version)
			}
			ans.node = orElse(ans.node, v.Node)
		}
	}
	return ans, nil
}

// tracedAddr is the address a request was dialled to or sent over. The dial may run on after
// its request gave up, hence the lock.
type tracedAddr struct {
	mu   sync.Mutex
	addr string
	got  bool
}

func (t *tracedAddr) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		ConnectStart: func(_, a string) {
			t.mu.Lock()
			defer t.mu.Unlock()
			if !t.got {
				t.addr = a
			}
		},
		GotConn: func(info httptrace.GotConnInfo) {
			t.mu.Lock()
			defer t.mu.Unlock()
			t.addr, t.got = info.Conn.RemoteAddr().String(), true
		},
	}
}

func (t *tracedAddr) get() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.addr
}

// orElse is a, or b when a is empty.
func orElse(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// shortReason keeps a transport error's gist without the URL, so that reasons group.
func shortReason(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	s := err.Error()
	if len(s) > 160 {
		s = s[:160]
	}
	return s
}
