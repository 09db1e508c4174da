package receiver

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
	"chaossuite.dev/shared/web"
)

// KillForwarder passes kill requests on to the nodekiller's POST /kill.
type KillForwarder struct {
	URL     string // nodekiller base URL; empty means kills cannot be forwarded
	HTTP    *http.Client
	Token   string // sent as bearer; never logged
	Timeout time.Duration
}

// KillResult is what the nodekiller answered.
type KillResult struct {
	Victim string `json:"victim"`
	Method string `json:"method"`
	Driver string `json:"driver"`
	At     string `json:"at"`
	DryRun bool   `json:"dry_run,omitempty"`
}

// KillError is the nodekiller's refusal (4xx), passed on as it came.
type KillError struct {
	Status int
	Body   []byte
}

// Error implements error.
func (e *KillError) Error() string {
	return fmt.Sprintf("nodekiller answered %d: %s", e.Status, bytes.TrimSpace(e.Body))
}

// Kill asks the nodekiller to kill a node by method.
func (k *KillForwarder) Kill(ctx context.Context, method chaos.KillMethod) (*KillResult, error) {
	if k.URL == "" {
		return nil, web.Errorf(http.StatusServiceUnavailable, "kills cannot be forwarded: NODEKILLER_URL is not set")
	}
	ctx, cancel := context.WithTimeout(ctx, k.Timeout)
	defer cancel()
	body, _ := json.Marshal(map[string]string{"method": string(method)})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, k.URL+"/kill", bytes.NewReader(body))
	if err != nil {
		return nil, web.Errorf(http.StatusBadGateway, "nodekiller request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	auth.SetBearer(req, k.Token)
	resp, err := k.HTTP.Do(req)
	if err != nil {
		return nil, web.Errorf(http.StatusBadGateway, "nodekiller unreachable: %v", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, web.MaxBodyBytes))
	if err != nil {
		return nil, web.Errorf(http.StatusBadGateway, "reading nodekiller's answer: %v", err)
	}
	switch {
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		return nil, &KillError{Status: resp.StatusCode, Body: data}
	case resp.StatusCode != http.StatusOK:
		return nil, web.Errorf(http.StatusBadGateway, "nodekiller answered %d: %s", resp.StatusCode, bytes.TrimSpace(data))
	}
	var res KillResult
	if err := json.Unmarshal(data, &res); err != nil {
		return nil, web.Errorf(http.StatusBadGateway, "nodekiller's answer is not JSON: %v", err)
	}
	return &res, nil
}
