package pinger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
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
	Version   string // version that answered, from X-Receiver-Version or the JSON "version"
}

// Sender sends one target's requests with retries.
type Sender struct {
	Target  Target
	Client  *http.Client
	Token   string // bearer unless the target has its own; never logged
	Policy  httpclient.Policy
	Timeout time.Duration // per attempt
	Clock   Clock
}

// attemptError is a failed attempt's classification.
type attemptError struct {
	code   int
	kind   string
	reason string
}

func (e *attemptError) Error() string { return e.reason }

// Send sends one request due at scheduled and returns its result. ctx ends the retries (a
// stopping pinger sends no further attempts); each attempt is bounded by Timeout alone.
func (s *Sender) Send(ctx context.Context, scheduled time.Time) Result {
	res := Result{Target: s.Target.Name, Scheduled: scheduled}
	var last *attemptError
	// The first attempt always goes out once due; a stop only ends the retries.
	err := httpclient.Do(context.WithoutCancel(ctx), s.Policy, func(actx context.Context, n int) error {
		if n > 1 && ctx.Err() != nil {
			return last
		}
		res.Attempts = n
		version, aerr := s.attempt(actx)
		if aerr == nil {
			res.Version = version
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

func (s *Sender) attempt(ctx context.Context) (string, *attemptError) {
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	var body io.Reader
	if len(s.Target.Body) > 0 {
		body = bytes.NewReader(s.Target.Body)
	}
	req, err := http.NewRequestWithContext(ctx, s.Target.Method, s.Target.URL, body)
	if err != nil {
		return "", &attemptError{kind: "other", reason: err.Error()}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	token := s.Token
	if s.Target.Token != "" {
		token = s.Target.Token
	}
	auth.SetBearer(req, token)
	resp, err := s.Client.Do(req)
	if err != nil {
		kind := httpclient.ErrorKind(err)
		return "", &attemptError{kind: kind, reason: shortReason(err)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", &attemptError{kind: httpclient.ErrorKind(err), reason: "reading the answer: " + shortReason(err)}
	}
	if resp.StatusCode/100 != 2 {
		return "", &attemptError{code: resp.StatusCode, reason: strconv.Itoa(resp.StatusCode) + " " + snippet(data)}
	}
	version := resp.Header.Get("X-Receiver-Version")
	if version == "" && bytes.Contains(data, []byte(`"version"`)) {
		var v struct {
			Version string `json:"version"`
		}
		if json.Unmarshal(data, &v) == nil {
			version = v.Version
		}
	}
	return version, nil
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

func snippet(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) > 120 {
		b = b[:120]
	}
	return string(b)
}
