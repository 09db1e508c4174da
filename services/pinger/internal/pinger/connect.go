package pinger

import (
	"cmp"
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync/atomic"
	"time"
)

// ConnectionMode is how a target's requests reach the replicas behind its URL.
//
// A probe that rides one keep-alive connection reaches one replica: most kills never touch its
// traffic and it reports an availability no client of the service lives. Spread is what many
// independent clients do to a replicated service, and what the suite measures by default.
type ConnectionMode string

// The connection modes.
const (
	// Spread sends each request to the next of every address the URL's name resolves to (the
	// name is resolved again every second) and keeps connections for at most ConnMaxAge, so that
	// a single virtual IP (a ClusterIP Service, a load balancer) spreads them too. A retry goes
	// to the next address, as a client-side balancer would.
	Spread ConnectionMode = "spread"
	// KeepAlive is one long-lived client: Go's dialer picks the address, connections are kept
	// for as long as they live.
	KeepAlive ConnectionMode = "keepalive"
	// NewConnection opens a new connection for every request, to each address in turn.
	NewConnection ConnectionMode = "new-connection"
)

// Network says how the pinger reaches its targets.
type Network struct {
	// Wrap adds tracing to a transport; nil leaves it as is.
	Wrap func(http.RoundTripper) http.RoundTripper
	// Lookup resolves a host name to its addresses; nil uses the system resolver.
	Lookup func(ctx context.Context, host string) ([]string, error)
	// ConnMaxAge bounds a spread connection's life (default 1 s).
	ConnMaxAge time.Duration
	// ResolveEvery is how often a spread target's name is resolved again (default 1 s).
	ResolveEvery time.Duration

	customLookup bool
}

func (n Network) withDefaults() Network {
	n.customLookup = n.Lookup != nil
	if n.Lookup == nil {
		n.Lookup = net.DefaultResolver.LookupHost
	}
	if n.ConnMaxAge <= 0 {
		n.ConnMaxAge = time.Second
	}
	if n.ResolveEvery <= 0 {
		n.ResolveEvery = time.Second
	}
	return n
}

// connector is one target's way to its replicas: its own transport and, unless the target
// keeps one connection alive, the addresses it hands out in turn.
type connector struct {
	mode      ConnectionMode
	client    *http.Client
	transport *http.Transport
	host      string // the URL's host name, without port
	port      string
	net       Network

	addrs atomic.Pointer[[]string] // host:port, sorted; nil until the name resolves
}

func newConnector(t Target, maxConns int, n Network) *connector {
	n = n.withDefaults()
	u, _ := url.Parse(t.URL) // Validate parsed it already
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 0
	tr.MaxIdleConnsPerHost = max(1, maxConns)
	tr.IdleConnTimeout = 90 * time.Second
	if t.Connection == NewConnection {
		tr.DisableKeepAlives = true
	}
	if t.Connection == KeepAlive && n.customLookup {
		tr.DialContext = dialInOrder(n.Lookup)
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	if t.Connection != KeepAlive && u.Scheme == "https" {
		// Requests are sent to an address; the certificate still names the host.
		tr.TLSClientConfig = &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
	}
	var rt http.RoundTripper = tr
	if n.Wrap != nil {
		rt = n.Wrap(tr)
	}
	c := &connector{mode: t.Connection, transport: tr, client: &http.Client{Transport: rt}, host: u.Hostname(), port: port, net: n}
	if ip := net.ParseIP(c.host); ip != nil {
		c.setAddrs([]string{c.host})
	}
	return c
}

func (c *connector) setAddrs(ips []string) {
	addrs := make([]string, 0, len(ips))
	for _, ip := range ips {
		addrs = append(addrs, net.JoinHostPort(ip, c.port))
	}
	slices.Sort(addrs)
	addrs = slices.Compact(addrs)
	c.addrs.Store(&addrs)
}

// resolve looks the name up again; a failed or empty answer keeps the addresses known.
func (c *connector) resolve(ctx context.Context) {
	if c.mode == KeepAlive || net.ParseIP(c.host) != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	ips, err := c.net.Lookup(ctx, c.host)
	if err == nil && len(ips) > 0 {
		c.setAddrs(ips)
	}
}

// Addresses are the addresses requests are spread over now; nil in keepalive mode or before
// the name has resolved (requests then go to the name, through Go's dialer).
func (c *connector) Addresses() []string {
	if p := c.addrs.Load(); p != nil {
		return *p
	}
	return nil
}

// run keeps the addresses fresh and recycles spread connections until ctx ends.
func (c *connector) run(ctx context.Context) {
	if c.mode == KeepAlive {
		return
	}
	resolve := time.NewTicker(c.net.ResolveEvery)
	defer resolve.Stop()
	var recycle <-chan time.Time // nil, never ready, unless connections are spread
	if c.mode == Spread {
		t := time.NewTicker(c.net.ConnMaxAge)
		defer t.Stop()
		recycle = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-resolve.C:
			c.resolve(ctx)
		case <-recycle:
			// Only idle connections close: a request in flight keeps its own.
			c.transport.CloseIdleConnections()
		}
	}
}

// address is where attempt k (from 0) of request n goes, or "" where Go's dialer chooses.
func (c *connector) address(n uint64, k int) string {
	addrs := c.Addresses()
	if c.mode == KeepAlive || len(addrs) == 0 {
		return ""
	}
	return addrs[(n+uint64(k))%uint64(len(addrs))]
}

// dialInOrder dials a name's addresses in the order lookup gives them, the first that answers
// winning, as Go's dialer does with the system resolver.
func dialInOrder(lookup func(ctx context.Context, host string) ([]string, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil || net.ParseIP(host) != nil {
			return d.DialContext(ctx, network, addr)
		}
		ips, err := lookup(ctx, host)
		if err != nil {
			return nil, err
		}
		var firstErr error
		for _, ip := range ips {
			c, err := d.DialContext(ctx, network, net.JoinHostPort(ip, port))
			if err == nil {
				return c, nil
			}
			firstErr = cmp.Or(firstErr, err)
		}
		return nil, cmp.Or[error](firstErr, &net.DNSError{Err: "no addresses", Name: host})
	}
}

// close drops the idle connections of a stopped run.
func (c *connector) close() { c.transport.CloseIdleConnections() }
