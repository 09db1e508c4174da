package httpdriver

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
)

// Client speaks to one receiver's admin API with the shared token.
type Client struct {
	HTTP    *http.Client
	Token   string        // bearer token; never logged
	Timeout time.Duration // per call; 0 means 3s
}

// Config reads the receiver's in-place configuration.
func (c *Client) Config(ctx context.Context, base string) (chaos.ReceiverConfig, error) {
	var cfg chaos.ReceiverConfig
	err := c.call(ctx, http.MethodGet, base+"/admin/config", nil, &cfg)
	return cfg, err
}

// SetConfig swaps the receiver's configuration in place and returns the new one.
func (c *Client) SetConfig(ctx context.Context, base, version, message string) (chaos.ReceiverConfig, error) {
	var cfg chaos.ReceiverConfig
	err := c.call(ctx, http.MethodPut, base+"/admin/config", map[string]string{"version": version, "message": message}, &cfg)
	return cfg, err
}

// Halt asks the receiver to die by method: stop drains first, halt does not.
func (c *Client) Halt(ctx context.Context, base string, method chaos.KillMethod) error {
	return c.call(ctx, http.MethodPost, base+"/admin/halt", map[string]string{"method": string(method)}, nil)
}

// Ready reports whether the receiver's /readyz answers 200.
func (c *Client) Ready(ctx context.Context, base string) bool {
	return c.call(ctx, http.MethodGet, base+"/readyz", nil, nil) == nil
}

// StatusError is a receiver's non-2xx answer.
type StatusError struct {
	Code int
	Body string
}

// Error implements error.
func (e *StatusError) Error() string { return fmt.Sprintf("answered %d: %s", e.Code, e.Body) }

func (c *Client) call(ctx context.Context, method, url string, in, out any) error {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 3 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	auth.SetBearer(req, c.Token)
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return &StatusError{Code: resp.StatusCode, Body: string(bytes.TrimSpace(data))}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("decoding answer of %s %s: %w", method, url, err)
		}
	}
	return nil
}
