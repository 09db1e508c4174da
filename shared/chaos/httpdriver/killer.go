package httpdriver

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"chaossuite.dev/shared/chaos"
)

// Killer kills receiver processes through POST /admin/halt. Pause and partition need a
// platform and are not supported.
//
// A node counts as serving only when it is a receiver that serves: its /readyz answers 200
// and its GET /admin/config answers a receiver's configuration (with the token). Anything
// else that answers /readyz, such as another service of the suite or the nodekiller itself,
// never counts towards MIN_AVAILABLE.
type Killer struct {
	Discovery Discovery
	Client    *Client
	// Self is where the killer itself listens: its LISTEN_ADDR (such as :8001) or its base
	// URL. A node at that port on this machine (loopback, any address of its own, its host
	// name) is never listed, let alone killed.
	Self string

	selfOnce sync.Once
	self     *selfAddr
}

// Driver implements chaos.Killer.
func (k *Killer) Driver() string { return "http" }

// Supports implements chaos.Killer: stop and halt only.
func (k *Killer) Supports(m chaos.KillMethod) bool { return m == chaos.Stop || m == chaos.Halt }

// Nodes implements chaos.Killer, asking every node at once whether it serves.
func (k *Killer) Nodes(ctx context.Context) ([]chaos.Node, error) {
	addrs, err := k.Discovery.Addresses(ctx)
	if err != nil {
		return nil, err
	}
	k.selfOnce.Do(func() { k.self = parseSelf(k.Self) })
	nodes := make([]chaos.Node, 0, len(addrs))
	for _, a := range addrs {
		if !k.self.is(a) {
			nodes = append(nodes, chaos.Node{Name: NodeName(a), Address: a})
		}
	}
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() {
			pctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			nodes[i].Ready = k.receiverServes(pctx, nodes[i].Address)
		})
	}
	wg.Wait()
	return nodes, nil
}

// receiverServes reports whether the node at base is a receiver and ready.
func (k *Killer) receiverServes(ctx context.Context, base string) bool {
	var ready bool
	var wg sync.WaitGroup
	wg.Go(func() { ready = k.Client.Ready(ctx, base) })
	cfg, err := k.Client.Config(ctx, base)
	wg.Wait()
	return ready && err == nil && cfg.Version != ""
}

// Kill implements chaos.Killer.
func (k *Killer) Kill(ctx context.Context, n chaos.Node, m chaos.KillMethod, _ time.Duration) error {
	if !k.Supports(m) {
		return fmt.Errorf("the http driver cannot %s a node", m)
	}
	if err := k.Client.Halt(ctx, n.Address, m); err != nil {
		return fmt.Errorf("halting %s: %w", n.Name, err)
	}
	return nil
}

// Serving implements chaos.Prober.
func (k *Killer) Serving(ctx context.Context, n chaos.Node) bool {
	return k.receiverServes(ctx, n.Address)
}

// selfAddr is the killer's own listener: a port, and the host names and addresses that reach
// it (all of this machine's when it listens on every interface).
type selfAddr struct {
	port     string
	hosts    map[string]bool
	loopback bool // any loopback address reaches it
}

func parseSelf(self string) *selfAddr {
	if self == "" {
		return nil
	}
	host, port := "", ""
	if strings.Contains(self, "://") {
		u, err := url.Parse(self)
		if err != nil {
			return nil
		}
		host, port = u.Hostname(), portOf(u)
	} else {
		var err error
		if host, port, err = net.SplitHostPort(self); err != nil {
			return nil
		}
	}
	s := &selfAddr{port: port, hosts: map[string]bool{strings.ToLower(host): true}}
	ip := net.ParseIP(host)
	if host != "" && ip == nil && host != "localhost" {
		return s // a name: only that name, as given
	}
	if host == "" || host == "localhost" || ip.IsUnspecified() || ip.IsLoopback() {
		s.loopback = true
		s.hosts["localhost"] = true
	}
	if host == "" || (ip != nil && ip.IsUnspecified()) {
		if name, err := os.Hostname(); err == nil {
			s.hosts[strings.ToLower(name)] = true
		}
		if addrs, err := net.InterfaceAddrs(); err == nil {
			for _, a := range addrs {
				if n, ok := a.(*net.IPNet); ok {
					s.hosts[n.IP.String()] = true
				}
			}
		}
	}
	return s
}

// is reports whether the node at base is the killer itself.
func (s *selfAddr) is(base string) bool {
	if s == nil {
		return false
	}
	u, err := url.Parse(base)
	if err != nil || portOf(u) != s.port {
		return false
	}
	host := strings.ToLower(u.Hostname())
	if s.hosts[host] {
		return true
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	return (s.loopback && ip.IsLoopback()) || s.hosts[ip.String()]
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "https" {
		return "443"
	}
	return "80"
}
