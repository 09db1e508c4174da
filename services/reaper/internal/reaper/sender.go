package reaper

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"chaossuite.dev/shared/auth"
	"chaossuite.dev/shared/chaos"
	"chaossuite.dev/shared/httpclient"
)

// The results of a kill request, as the result label has them.
const (
	ResultOK       = "ok"       // the receiver answered 2xx: a node was asked to die
	ResultRejected = "rejected" // 4xx: refused (no eligible victim, MIN_AVAILABLE, bad token)
	ResultError    = "error"    // 5xx, timeout or no answer at all
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

// HTTPSender sends kill requests to the receiver as POST URL {"kill_node": m}.
type HTTPSender struct {
	URL     string
	Token   string // bearer token; never logged
	Client  *http.Client
	Timeout time.Duration // per request; 0 means 3s
}

// Send implements Sender: one attempt within Timeout.
func (s *HTTPSender) Send(ctx context.Context, m chaos.KillMethod) Result {
	start := time.Now()
	res := s.send(ctx, m)
	res.At, res.Method, res.DurationSeconds = start.UTC(), string(m), time.Since(start).Seconds()
	return res
}

func (s *HTTPSender) send(ctx context.Context, m chaos.KillMethod) Result {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 3 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	body, _ := json.Marshal(map[string]string{"kill_node": string(m)})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return Result{Result: ResultError, Error: err.Error(), Kind: "other"}
	}
	req.Header.Set("Content-Type", "application/json")
	auth.SetBearer(req, s.Token)
	client := s.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return Result{Result: ResultError, Error: err.Error(), Kind: httpclient.ErrorKind(err)}
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	res := Result{Status: resp.StatusCode}
	var answer struct {
		Kill *struct {
			Victim string `json:"victim"`
		} `json:"kill"`
		Error  string `json:"error"`
		Detail string `json:"detail"`
	}
	_ = json.Unmarshal(data, &answer)
	switch {
	case resp.StatusCode/100 == 2:
		res.Result = ResultOK
		if answer.Kill != nil {
			res.Victim = answer.Kill.Victim
		}
	case resp.StatusCode/100 == 4:
		res.Result = ResultRejected
	default:
		res.Result = ResultError
	}
	if res.Result != ResultOK {
		detail := answer.Detail
		if detail == "" {
			detail = string(bytes.TrimSpace(data))
			if len(detail) > 200 {
				detail = detail[:200]
			}
		}
		res.Error = fmt.Sprintf("answered %d: %s", resp.StatusCode, detail)
	}
	return res
}
