package emulate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
)

// phase is where one emulated servo stands in its cycle.
type phase uint8

const (
	phHello phase = iota
	phAskDescribe
	phDescription
	phAskMeasure
	phMeasureProgress
	phMeasureDone
	phAskAdjust
	phAdjustProgress
	phAdjustDone
)

// emulated is one emulated servo (app). Its mutex orders its steps: a worker takes the app, makes its
// next request and moves it on.
type emulated struct {
	mu     sync.Mutex
	url    string
	phase  phase
	step   int // progress events sent in the current command
	cycles uint64
}

var (
	bodyHello       = []byte(`{"event":"HELLO","param":null}`)
	bodyGoodbye     = []byte(`{"event":"GOODBYE","param":null}`)
	bodyWhatsNext   = []byte(`{"event":"WHATS_NEXT","param":null}`)
	bodyDescription = []byte(`{"event":"DESCRIPTION","param":{"descriptor":{"application":{"components":{}}}}}`)
	bodyMeasured    = []byte(`{"event":"MEASUREMENT","param":{"metrics":{},"annotations":{}}}`)
	bodyAdjusted    = []byte(`{"event":"ADJUSTMENT","param":{"state":{}}}`)
)

func progressBody(event string, progress int) []byte {
	return []byte(`{"event":"` + event + `","param":{"progress":` + strconv.Itoa(progress) + `}}`)
}

// stepError is a request the backend refused or failed, with its kind for the summary.
type stepError struct {
	kind string
	err  error
}

func (e *stepError) Error() string { return e.kind + ": " + e.err.Error() }

// next makes the servo's next request and advances it when the answer is the expected one.
// It reports whether the request completed a cycle.
func (s *emulated) next(ctx context.Context, c *http.Client, steps int) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	progress := func() int { return (s.step + 1) * 100 / (steps + 1) }
	switch s.phase {
	case phHello:
		code, body, err := post(ctx, c, s.url, bodyHello)
		if err == nil && code == http.StatusBadRequest {
			// The app is mid-cycle from an earlier run: end that session and start again.
			if code, body, err = post(ctx, c, s.url, bodyGoodbye); err == nil && code == http.StatusOK {
				code, body, err = post(ctx, c, s.url, bodyHello)
			}
		}
		if err := expectOK(code, body, err); err != nil {
			return false, err
		}
		s.phase = phAskDescribe
	case phAskDescribe, phAskMeasure, phAskAdjust:
		want := map[phase]string{phAskDescribe: "DESCRIBE", phAskMeasure: "MEASURE", phAskAdjust: "ADJUST"}[s.phase]
		code, body, err := post(ctx, c, s.url, bodyWhatsNext)
		if err := expectOK(code, body, err); err != nil {
			return false, err
		}
		var cmd struct {
			Cmd string `json:"cmd"`
		}
		if err := json.Unmarshal(body, &cmd); err != nil || cmd.Cmd != want {
			return false, &stepError{"protocol", fmt.Errorf("WHATS_NEXT answered %q, want cmd %s", truncate(body), want)}
		}
		s.phase++
		s.step = 0
		if (s.phase == phMeasureProgress || s.phase == phAdjustProgress) && steps == 0 {
			s.phase++
		}
	case phDescription:
		if err := expectOK(post(ctx, c, s.url, bodyDescription)); err != nil {
			return false, err
		}
		s.phase = phAskMeasure
	case phMeasureProgress, phAdjustProgress:
		event := "MEASUREMENT"
		if s.phase == phAdjustProgress {
			event = "ADJUSTMENT"
		}
		if err := expectOK(post(ctx, c, s.url, progressBody(event, progress()))); err != nil {
			return false, err
		}
		if s.step++; s.step >= steps {
			s.phase++
		}
	case phMeasureDone:
		if err := expectOK(post(ctx, c, s.url, bodyMeasured)); err != nil {
			return false, err
		}
		s.phase = phAskAdjust
		s.cycles++
		return true, nil
	case phAdjustDone:
		if err := expectOK(post(ctx, c, s.url, bodyAdjusted)); err != nil {
			return false, err
		}
		s.phase = phAskMeasure
	}
	return false, nil
}

func (s *emulated) cycleCount() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cycles
}

func post(ctx context.Context, c *http.Client, url string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b, err
}

func expectOK(code int, body []byte, err error) error {
	if err != nil {
		return &stepError{"transport", err}
	}
	if code != http.StatusOK {
		return &stepError{"http " + strconv.Itoa(code), fmt.Errorf("%s", truncate(body))}
	}
	return nil
}

func truncate(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}
