package httpclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"chaossuite.dev/shared/auth"
)

// DefaultAnswerLimit is the longest answer DoJSON reads when a Call sets no Limit.
const DefaultAnswerLimit = 1 << 20

// excerptBytes bounds the part of an answer an error quotes.
const excerptBytes = 200

// Call is one JSON-over-HTTP request of the suite's services to one another.
type Call struct {
	Method string
	URL    string
	Token  string // sent as a bearer token when not empty; never part of an error
	In     any    // encoded as the JSON body; nil sends no body
	Out    any    // a 2xx answer is decoded into it; nil reads the answer and drops it
	Limit  int64  // the longest answer read, in bytes; 0 means DefaultAnswerLimit
}

// StatusError is a non-2xx answer.
type StatusError struct {
	Status int
	Body   []byte // the answer as it came, cut at the call's Limit
}

// Error implements error: the status and a short excerpt of the answer.
func (e *StatusError) Error() string {
	return "answered " + strconv.Itoa(e.Status) + ": " + Excerpt(e.Body)
}

// TooLargeError is a 2xx answer longer than the call's Limit: it is not decoded.
type TooLargeError struct{ Limit int64 }

// Error implements error.
func (e *TooLargeError) Error() string {
	return fmt.Sprintf("the answer is over %d bytes", e.Limit)
}

// DoJSON sends c with hc (nil: http.DefaultClient) and decodes a 2xx answer into c.Out. A
// non-2xx answer is a *StatusError; an answer over the limit is never read beyond it. The
// deadline is ctx's.
func DoJSON(ctx context.Context, hc *http.Client, c Call) error {
	var body io.Reader
	if c.In != nil {
		b, err := json.Marshal(c.In)
		if err != nil {
			return fmt.Errorf("encoding the request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, c.Method, c.URL, body)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	auth.SetBearer(req, c.Token)
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	limit := c.Limit
	if limit <= 0 {
		limit = DefaultAnswerLimit
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	over := int64(len(data)) > limit
	if over {
		data = data[:limit]
	}
	if resp.StatusCode/100 != 2 {
		return &StatusError{Status: resp.StatusCode, Body: data}
	}
	if over {
		return &TooLargeError{Limit: limit}
	}
	if c.Out != nil {
		if err := json.Unmarshal(data, c.Out); err != nil {
			return fmt.Errorf("decoding the answer: %w", err)
		}
	}
	return nil
}

// Excerpt is the gist of an answer for an error or a log line: the detail (or error) of the
// suite's JSON error shape {"error","detail"}, otherwise the answer itself; trimmed, valid
// UTF-8 and at most a couple of hundred bytes.
func Excerpt(body []byte) string {
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] == '{' {
		var e struct {
			Error  string `json:"error"`
			Detail string `json:"detail"`
		}
		if json.Unmarshal(body, &e) == nil {
			switch {
			case e.Detail != "":
				return cut(e.Detail)
			case e.Error != "":
				return cut(e.Error)
			}
		}
	}
	return cut(string(body))
}

func cut(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > excerptBytes {
		n := excerptBytes
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
