// Package docker drives chaos against containers through the Docker Engine API: a Killer that
// stops, halts, pauses and partitions labelled containers of one compose project, and an
// Upgrader that replaces them with containers of a new version.
package docker

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"chaossuite.dev/shared/chaos"
)

// ProjectLabel is the label compose puts on every container of a project.
const ProjectLabel = "com.docker.compose.project"

// stopTimeout is how long a stopped container has to drain before SIGKILL.
const stopTimeout = 10

// KillerConfig configures a Killer. The nodekiller reads the tagged fields from its
// environment; Client and Logger come from the service.
type KillerConfig struct {
	Host         string       `env:"DOCKER_HOST"`                                     // the engine; empty: the local socket
	Label        string       `env:"TARGET_LABEL" envDefault:"chaos.target=receiver"` // key=value every target carries
	Port         int          `env:"TARGET_PORT" envDefault:"8000"`                   // port the targets serve on
	RestartDelay RestartDelay `env:"NODE_RESTART_DELAY" envDefault:"5s"`              // start a stopped or halted node again after this; 0 never
	// Project is the compose project the targets belong to: the own container's, else this.
	Project string `env:"COMPOSE_PROJECT"`
	// Self is the killer's own container (id or id prefix, as HOSTNAME holds it), never a target.
	Self string `env:"HOSTNAME"`

	Client Engine // nil: a client of the engine at Host, closed by Close
	Logger *slog.Logger
}

// Validate checks the settings, each error naming its variable.
func (c KillerConfig) Validate() error { return validateTarget(c.Label, c.Port) }

// Killer implements chaos.Killer and chaos.GoneProber on the Docker Engine.
type Killer struct {
	cfg    KillerConfig
	close  func() error // releases the engine client the Killer made
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // the stops and restarts under way
	undos  *chaos.Undos   // the pauses and partitions to undo; at once at Close
}

// NewKiller connects to the engine, finds its own container and compose project, and returns
// a Killer whose delayed undos and restarts live until Close or ctx ends.
func NewKiller(ctx context.Context, cfg KillerConfig) (*Killer, error) {
	if cfg.Port == 0 {
		cfg.Port = 8000
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	eng, closeEngine, err := connect(cfg.Client, cfg.Host)
	if err != nil {
		return nil, err
	}
	cfg.Client = eng
	if cfg.Self, cfg.Project, err = locate(ctx, eng, cfg.Self, cfg.Project); err != nil {
		_ = closeEngine()
		return nil, err
	}
	cfg.Logger.Info("docker killer connected", "project", cfg.Project, "label", cfg.Label, "self", cfg.Self, "restart_delay", cfg.RestartDelay.String())
	kctx, cancel := context.WithCancel(ctx)
	return &Killer{cfg: cfg, close: closeEngine, ctx: kctx, cancel: cancel, undos: chaos.NewUndos(kctx)}, nil
}

// Driver implements chaos.Killer.
func (k *Killer) Driver() string { return "docker" }

// Supports implements chaos.Killer.
func (k *Killer) Supports(m chaos.KillMethod) bool {
	switch m {
	case chaos.Stop, chaos.Halt, chaos.Pause, chaos.Partition:
		return true
	}
	return false
}

// Nodes implements chaos.Killer: running and paused labelled containers of the project.
func (k *Killer) Nodes(ctx context.Context) ([]chaos.Node, error) {
	cs, err := listTargets(ctx, k.cfg.Client, k.cfg.Label, k.cfg.Project)
	if err != nil {
		return nil, err
	}
	var nodes []chaos.Node
	for _, c := range cs {
		if k.isSelf(c.ID) {
			continue
		}
		j, err := k.cfg.Client.ContainerInspect(ctx, c.ID)
		if err != nil {
			continue // gone meanwhile
		}
		nodes = append(nodes, chaos.Node{Name: name(j), Address: address(j, k.cfg.Port), Ready: serving(j)})
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	return nodes, nil
}

func (k *Killer) isSelf(id string) bool { return isSelf(k.cfg.Self, id) }

// isSelf says whether the container id is the driver's own, self being its id or id prefix.
func isSelf(self, id string) bool {
	return self != "" && (id == self || strings.HasPrefix(id, self))
}

// Serving implements chaos.Prober.
func (k *Killer) Serving(ctx context.Context, n chaos.Node) bool {
	j, err := k.cfg.Client.ContainerInspect(ctx, n.Name)
	return err == nil && serving(j)
}

// Gone implements chaos.GoneProber: the engine has no container of that name any more (an
// upgrade by replacement removes the old one).
func (k *Killer) Gone(ctx context.Context, n chaos.Node) bool {
	_, err := k.cfg.Client.ContainerInspect(ctx, n.Name)
	return client.IsErrNotFound(err)
}

// Kill implements chaos.Killer. It refuses a container without the label or of another project.
func (k *Killer) Kill(ctx context.Context, n chaos.Node, m chaos.KillMethod, d time.Duration) error {
	j, err := k.cfg.Client.ContainerInspect(ctx, n.Name)
	if err != nil {
		return fmt.Errorf("inspect %s: %w", n.Name, err)
	}
	if err := eligible(j, k.cfg.Label, k.cfg.Project); err != nil {
		return err
	}
	if k.isSelf(j.ID) {
		return fmt.Errorf("container %s is the killer itself", n.Name)
	}
	id, cl := j.ID, k.cfg.Client
	switch m {
	case chaos.Stop:
		if j.State == nil || !j.State.Running {
			return fmt.Errorf("stop %s: not running", n.Name)
		}
		// The stop goes on after Kill returns: the victim drains its requests in flight before
		// it exits, and one of them may be this very kill, relayed by the victim. Waiting for
		// the exit here would hold that request until the drain limit and its SIGKILL.
		k.stopThenRestart(n.Name, id)
	case chaos.Halt:
		if err := cl.ContainerKill(ctx, id, "SIGKILL"); err != nil {
			return fmt.Errorf("kill %s: %w", n.Name, err)
		}
		k.restartLater(n.Name, id)
	case chaos.Pause:
		if err := cl.ContainerPause(ctx, id); err != nil {
			return fmt.Errorf("pause %s: %w", n.Name, err)
		}
		k.undos.After(n.Name, d, func(ctx context.Context) {
			if err := cl.ContainerUnpause(ctx, id); err != nil {
				k.cfg.Logger.Warn("unpause failed", "node", n.Name, "error", err)
			}
		})
	case chaos.Partition:
		nets := map[string]*network.EndpointSettings{}
		for name, es := range j.NetworkSettings.Networks {
			if err := cl.NetworkDisconnect(ctx, es.NetworkID, id, true); err != nil {
				k.reconnect(ctx, n.Name, id, nets)
				return fmt.Errorf("disconnect %s from %s: %w", n.Name, name, err)
			}
			nets[es.NetworkID] = &network.EndpointSettings{Aliases: es.Aliases}
		}
		k.undos.After(n.Name, d, func(ctx context.Context) { k.reconnect(ctx, n.Name, id, nets) })
	default:
		return fmt.Errorf("docker driver does not support kill method %q", m)
	}
	k.cfg.Logger.Info("killed node", "node", n.Name, "method", string(m), "duration", d)
	return nil
}

func (k *Killer) reconnect(ctx context.Context, node, id string, nets map[string]*network.EndpointSettings) {
	for nid, es := range nets {
		if err := k.cfg.Client.NetworkConnect(ctx, nid, id, es); err != nil {
			k.cfg.Logger.Warn("reconnect failed", "node", node, "network", nid, "error", err)
		}
	}
}

// stopThenRestart stops the container (SIGTERM, stopTimeout to drain, then SIGKILL) and, once
// it has exited, starts it again after RestartDelay. A Close meanwhile lets the stop finish.
func (k *Killer) stopThenRestart(node, id string) {
	k.wg.Add(1)
	go func() {
		defer k.wg.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(k.ctx), (stopTimeout+20)*time.Second)
		defer cancel()
		t := stopTimeout
		if err := k.cfg.Client.ContainerStop(ctx, id, container.StopOptions{Timeout: &t}); err != nil {
			k.cfg.Logger.Warn("stop failed", "node", node, "error", err)
			return
		}
		k.restartLater(node, id)
	}()
}

// restartLater starts the container again after RestartDelay, as a cluster replaces a node.
func (k *Killer) restartLater(node, id string) {
	if k.cfg.RestartDelay <= 0 {
		return
	}
	k.wg.Add(1)
	go func() {
		defer k.wg.Done()
		t := time.NewTimer(time.Duration(k.cfg.RestartDelay))
		defer t.Stop()
		select {
		case <-k.ctx.Done():
			return
		case <-t.C:
		}
		if err := k.cfg.Client.ContainerStart(k.ctx, id, container.StartOptions{}); err != nil {
			k.cfg.Logger.Warn("restart failed", "node", node, "error", err)
			return
		}
		k.cfg.Logger.Info("restarted node", "node", node)
	}()
}

// Close cancels pending restarts, undoes pending pauses and partitions at once, waits, and
// releases the engine client it made.
func (k *Killer) Close() error {
	k.cancel()
	k.wg.Wait()
	k.undos.Wait()
	return k.close()
}

func listTargets(ctx context.Context, cl Engine, label, project string) ([]container.Summary, error) {
	f := filters.NewArgs(filters.Arg("label", label), filters.Arg("label", ProjectLabel+"="+project))
	cs, err := cl.ContainerList(ctx, container.ListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	return cs, nil
}

// eligible says why j may not be touched, or nil.
func eligible(j container.InspectResponse, label, project string) error {
	key, val, _ := strings.Cut(label, "=")
	if j.Config == nil || j.Config.Labels[key] != val {
		return fmt.Errorf("container %s lacks label %s: refusing to touch it", name(j), label)
	}
	if got := j.Config.Labels[ProjectLabel]; got != project {
		return fmt.Errorf("container %s belongs to project %q, not %q: refusing to touch it", name(j), got, project)
	}
	return nil
}

func name(j container.InspectResponse) string { return strings.TrimPrefix(j.Name, "/") }

func serving(j container.InspectResponse) bool {
	s := j.State
	if s == nil || !s.Running || s.Paused {
		return false
	}
	// A partitioned container is on no network at all (host and none count as networks).
	if j.NetworkSettings != nil && len(j.NetworkSettings.Networks) == 0 {
		return false
	}
	return s.Health == nil || s.Health.Status == container.Healthy
}

func address(j container.InspectResponse, port int) string {
	if j.NetworkSettings == nil {
		return ""
	}
	best := ""
	for nname, es := range j.NetworkSettings.Networks {
		if es.IPAddress == "" {
			continue
		}
		if best == "" || nname < best { // deterministic: the first network by name
			best = nname
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("http://%s:%d", j.NetworkSettings.Networks[best].IPAddress, port)
}
