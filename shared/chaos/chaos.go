// Package chaos holds the suite's domain: nodes and how they die, replicas and how they are
// upgraded, and the two interfaces every platform driver implements, Killer and Upgrader.
// The drivers live in subpackages (httpdriver, docker, kubernetes); services depend on these
// interfaces and their main picks the driver.
package chaos

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// KillMethod is how a node dies.
type KillMethod string

// The kill methods. Spare kills nothing: the receiver answers and nobody dies.
const (
	Spare     KillMethod = "spare"
	Stop      KillMethod = "stop"      // graceful: SIGTERM, drain, exit
	Halt      KillMethod = "halt"      // abrupt: SIGKILL, in-flight requests dropped
	Pause     KillMethod = "pause"     // frozen for a while, then thawed
	Partition KillMethod = "partition" // cut off the network for a while, then reconnected
)

// KillMethods lists every method a node can die by.
var KillMethods = []KillMethod{Stop, Halt, Pause, Partition}

// ParseKillMethod parses a method by name, accepting the original suite's aliases
// (ray_stop for stop, node_halt for halt).
func ParseKillMethod(s string) (KillMethod, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "spare":
		return Spare, nil
	case "stop", "ray_stop":
		return Stop, nil
	case "halt", "node_halt":
		return Halt, nil
	case "pause":
		return Pause, nil
	case "partition":
		return Partition, nil
	}
	return "", fmt.Errorf("unknown kill method %q: want spare, stop, halt, pause or partition", s)
}

// UnmarshalText parses a method so that configuration and JSON take it by name.
func (m *KillMethod) UnmarshalText(b []byte) error {
	v, err := ParseKillMethod(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// Node is the unit that dies: a container, a pod or a process.
type Node struct {
	Name    string `json:"name"`              // container or pod name, or host:port for a process
	Address string `json:"address,omitempty"` // base URL the node serves on, when known
	Ready   bool   `json:"ready"`             // serving now, as far as the driver can tell
}

// Killer kills nodes on one platform.
type Killer interface {
	// Driver names the platform: http, docker or kubernetes.
	Driver() string
	// Supports reports whether the driver can kill by m.
	Supports(m KillMethod) bool
	// Nodes lists the eligible nodes: those the target selector matches, never the killer's own.
	Nodes(ctx context.Context) ([]Node, error)
	// Kill kills n by m. For pause and partition, duration says when to undo it.
	Kill(ctx context.Context, n Node, m KillMethod, duration time.Duration) error
}

// Prober is implemented by drivers that can tell whether a node serves again after a kill;
// the nodekiller measures recovery through it (a driver without it records none).
type Prober interface {
	Serving(ctx context.Context, n Node) bool
}

// GoneProber is a Prober that also tells a node that no longer exists (an upgrade replaced it,
// or it was removed) from one that does not serve yet: a kill's effect on a node ends when the
// node is gone, and what fails at its address after that is not the kill's doing.
type GoneProber interface {
	Prober
	Gone(ctx context.Context, n Node) bool
}
