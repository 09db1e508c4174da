package chaos

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
)

// KillPolicy is how a victim is chosen among eligible nodes.
type KillPolicy string

// The policies.
const (
	Random     KillPolicy = "random"
	RoundRobin KillPolicy = "round-robin"
)

// UnmarshalText parses a policy by name.
func (p *KillPolicy) UnmarshalText(b []byte) error {
	switch v := KillPolicy(strings.ToLower(string(b))); v {
	case Random, RoundRobin:
		*p = v
		return nil
	}
	return fmt.Errorf("unknown kill policy %q: want random or round-robin", b)
}

// ErrNoVictim means no node may be killed now: none is eligible, the named one is not, or a
// kill would leave fewer than the minimum serving.
var ErrNoVictim = errors.New("no eligible victim")

// Selector picks victims. It is safe for concurrent use.
type Selector struct {
	Policy       KillPolicy
	MinAvailable int // nodes that must stay serving after a kill

	mu   sync.Mutex
	last string // round-robin: the name of the last victim
}

// Pick chooses a victim among nodes: the one named target when target is set, otherwise one
// of the ready nodes by the policy. It refuses when the kill would leave fewer than
// MinAvailable ready nodes. Errors wrap ErrNoVictim.
func (s *Selector) Pick(nodes []Node, target string) (Node, error) {
	ready := make([]Node, 0, len(nodes))
	for _, n := range nodes {
		if n.Ready {
			ready = append(ready, n)
		}
	}
	if target != "" {
		i := slices.IndexFunc(nodes, func(n Node) bool { return n.Name == target })
		if i < 0 {
			return Node{}, fmt.Errorf("%w: %q is not an eligible node (eligible: %s)", ErrNoVictim, target, names(nodes))
		}
		victim := nodes[i]
		left := len(ready)
		if victim.Ready {
			left--
		}
		if left < s.MinAvailable {
			return Node{}, fmt.Errorf("%w: killing %s would leave %d serving, MIN_AVAILABLE is %d", ErrNoVictim, target, left, s.MinAvailable)
		}
		return victim, nil
	}
	if len(ready) == 0 {
		return Node{}, fmt.Errorf("%w: none of %d nodes is serving", ErrNoVictim, len(nodes))
	}
	if len(ready)-1 < s.MinAvailable {
		return Node{}, fmt.Errorf("%w: %d serving, a kill would break MIN_AVAILABLE=%d", ErrNoVictim, len(ready), s.MinAvailable)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var victim Node
	if s.Policy == RoundRobin {
		slices.SortFunc(ready, func(a, b Node) int { return strings.Compare(a.Name, b.Name) })
		victim = ready[0]
		for _, n := range ready {
			if n.Name > s.last {
				victim = n
				break
			}
		}
	} else {
		victim = ready[rand.IntN(len(ready))]
	}
	s.last = victim.Name
	return victim, nil
}

func names(nodes []Node) string {
	if len(nodes) == 0 {
		return "none"
	}
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.Name
	}
	return strings.Join(out, ", ")
}
