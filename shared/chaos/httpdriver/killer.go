package httpdriver

import (
	"context"
	"fmt"
	"sync"
	"time"

	"chaossuite.dev/shared/chaos"
)

// Killer kills receiver processes through POST /admin/halt. Pause and partition need a
// platform and are not supported.
type Killer struct {
	Discovery Discovery
	Client    *Client
	Self      string // base URL of the killer itself, never a victim
}

// Driver implements chaos.Killer.
func (k *Killer) Driver() string { return "http" }

// Supports implements chaos.Killer: stop and halt only.
func (k *Killer) Supports(m chaos.KillMethod) bool { return m == chaos.Stop || m == chaos.Halt }

// Nodes implements chaos.Killer, asking every node's /readyz at once.
func (k *Killer) Nodes(ctx context.Context) ([]chaos.Node, error) {
	addrs, err := k.Discovery.Addresses(ctx)
	if err != nil {
		return nil, err
	}
	nodes := make([]chaos.Node, 0, len(addrs))
	for _, a := range addrs {
		if a != k.Self {
			nodes = append(nodes, chaos.Node{Name: NodeName(a), Address: a})
		}
	}
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() {
			pctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			nodes[i].Ready = k.Client.Ready(pctx, nodes[i].Address)
		})
	}
	wg.Wait()
	return nodes, nil
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
	return k.Client.Ready(ctx, n.Address)
}
