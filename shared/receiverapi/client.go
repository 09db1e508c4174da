package receiverapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"chaossuite.dev/shared/chaos"
	"chaossuite.dev/shared/httpclient"
)

// answerLimit bounds every answer the Client reads: the API's answers are a few hundred bytes.
const answerLimit = 64 << 10

// DefaultTimeout is a call's limit when the Client sets none.
const DefaultTimeout = 3 * time.Second

// Client calls the receiver's API and the nodekiller's POST /kill with the shared token. Its
// non-2xx answers are *httpclient.StatusError; the token is never part of an error.
type Client struct {
	HTTP    *http.Client  // nil: http.DefaultClient
	Token   string        // bearer token; never logged
	Timeout time.Duration // per call; 0 means DefaultTimeout
}

// Config reads the receiver's in-place configuration.
func (c *Client) Config(ctx context.Context, base string) (Config, error) {
	var cfg Config
	err := c.do(ctx, http.MethodGet, join(base, "/admin/config"), nil, &cfg)
	return cfg, err
}

// SetConfig swaps the receiver's configuration in place and returns the new one.
func (c *Client) SetConfig(ctx context.Context, base, version, message string) (Config, error) {
	var cfg Config
	err := c.do(ctx, http.MethodPut, join(base, "/admin/config"), ConfigRequest{Version: &version, Message: &message}, &cfg)
	return cfg, err
}

// Halt asks the receiver to die by method: stop drains first, halt does not.
func (c *Client) Halt(ctx context.Context, base string, method chaos.KillMethod) error {
	return c.do(ctx, http.MethodPost, join(base, "/admin/halt"), HaltRequest{Method: string(method)}, nil)
}

// Ready reports whether the receiver's /readyz answers 2xx.
func (c *Client) Ready(ctx context.Context, base string) bool {
	return c.do(ctx, http.MethodGet, join(base, "/readyz"), nil, nil) == nil
}

// KillNode asks the receiver at url (its root, such as http://receiver:8000/) to have a node
// killed by method, as POST / {"kill_node": method}.
func (c *Client) KillNode(ctx context.Context, url string, method chaos.KillMethod) (RootAnswer, error) {
	var a RootAnswer
	err := c.do(ctx, http.MethodPost, url, RootRequest{KillNode: string(method)}, &a)
	return a, err
}

// Kill asks the nodekiller at base to kill a node, as POST /kill.
func (c *Client) Kill(ctx context.Context, base string, req KillRequest) (KillAnswer, error) {
	var a KillAnswer
	err := c.do(ctx, http.MethodPost, join(base, "/kill"), req, &a)
	return a, err
}

func (c *Client) do(ctx context.Context, method, url string, in, out any) error {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return httpclient.DoJSON(ctx, c.HTTP, httpclient.Call{
		Method: method, URL: url, Token: c.Token, In: in, Out: out, Limit: answerLimit,
	})
}

// join appends path to a base URL given with or without its trailing slash.
func join(base, path string) string { return strings.TrimRight(base, "/") + path }
