package docker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"chaossuite.dev/shared/chaos"
	"chaossuite.dev/shared/receiverapi"
)

// UpgraderConfig configures an Upgrader.
type UpgraderConfig struct {
	Client        *client.Client
	Label         string
	Project       string
	Port          int
	HealthTimeout time.Duration // a replacement must be healthy within this; 0 means 60s
	HTTP          *receiverapi.Client
	// ExtraEnv is added to every replacement's environment after the version, for tests
	// that need a replacement which never gets healthy.
	ExtraEnv []string
}

// Upgrader implements chaos.Upgrader on the Docker Engine.
type Upgrader struct{ cfg UpgraderConfig }

// NewUpgrader returns an Upgrader.
func NewUpgrader(cfg UpgraderConfig) (*Upgrader, error) {
	if cfg.Client == nil || cfg.HTTP == nil {
		return nil, errors.New("docker upgrader: no docker or http client")
	}
	if _, _, ok := strings.Cut(cfg.Label, "="); !ok || cfg.Project == "" {
		return nil, fmt.Errorf("docker upgrader: want label key=value and a project, got %q, %q", cfg.Label, cfg.Project)
	}
	if cfg.Port == 0 {
		cfg.Port = 8000
	}
	if cfg.HealthTimeout <= 0 {
		cfg.HealthTimeout = 60 * time.Second
	}
	return &Upgrader{cfg: cfg}, nil
}

// Driver implements chaos.Upgrader.
func (u *Upgrader) Driver() string { return "docker" }

// Replicas implements chaos.Upgrader.
func (u *Upgrader) Replicas(ctx context.Context) ([]chaos.Replica, error) {
	cs, err := listTargets(ctx, u.cfg.Client, u.cfg.Label, u.cfg.Project)
	if err != nil {
		return nil, err
	}
	var out []chaos.Replica
	for _, c := range cs {
		j, err := u.cfg.Client.ContainerInspect(ctx, c.ID)
		if err != nil {
			continue
		}
		r := chaos.Replica{Name: name(j), Address: address(j, u.cfg.Port)}
		if rc, err := u.cfg.HTTP.Config(ctx, r.Address); err == nil {
			r.Version, r.Generation, r.Ready = rc.Version, rc.Generation, serving(j)
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Reset implements chaos.Upgrader: the replica's version changes in place.
func (u *Upgrader) Reset(ctx context.Context, r chaos.Replica, version string) error {
	_, err := u.cfg.HTTP.SetConfig(ctx, r.Address, version, chaos.DefaultMessage(version))
	return err
}

// Upgrade implements chaos.Upgrader.
func (u *Upgrader) Upgrade(ctx context.Context, plan chaos.UpgradePlan) error {
	msg := plan.Message
	if msg == "" {
		msg = chaos.DefaultMessage(plan.Version)
	}
	cs, err := listTargets(ctx, u.cfg.Client, u.cfg.Label, u.cfg.Project)
	if err != nil {
		return &chaos.UpgradeError{Reason: chaos.ReasonOther, Err: err}
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].Names[0] < cs[j].Names[0] })
	if plan.Type == chaos.InPlace {
		for _, c := range cs {
			j, err := u.cfg.Client.ContainerInspect(ctx, c.ID)
			if err != nil {
				continue
			}
			if _, err := u.cfg.HTTP.SetConfig(ctx, address(j, u.cfg.Port), plan.Version, msg); err != nil {
				return &chaos.UpgradeError{Replica: name(j), Reason: chaos.ReasonRefused, Err: err}
			}
		}
		return u.verify(ctx, plan.Version)
	}
	batch := plan.BatchSize(len(cs))
	if batch < 1 {
		batch = 1
	}
	for i := 0; i < len(cs); i += batch {
		end := min(i+batch, len(cs))
		type pair struct{ old, oldName, repl string }
		var done []pair
		var firstErr error
		for _, c := range cs[i:end] {
			id, err := u.replace(ctx, c.ID, plan.Version, msg)
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			done = append(done, pair{c.ID, strings.TrimPrefix(c.Names[0], "/"), id})
		}
		// The replacements are started; wait for each, then retire its old container.
		for _, p := range done {
			if err := u.waitHealthy(ctx, p.repl); err != nil {
				u.remove(p.repl)
				if firstErr == nil {
					firstErr = &chaos.UpgradeError{Replica: p.oldName, Reason: chaos.ReasonUnverified, Err: err}
				}
				continue
			}
			u.remove(p.old)
		}
		if firstErr != nil {
			return firstErr
		}
	}
	return u.verify(ctx, plan.Version)
}

// replace creates and starts the replacement of the container old, and returns its id.
func (u *Upgrader) replace(ctx context.Context, old, version, msg string) (string, error) {
	j, err := u.cfg.Client.ContainerInspect(ctx, old)
	if err != nil {
		return "", &chaos.UpgradeError{Replica: old, Reason: chaos.ReasonUnreachable, Err: err}
	}
	if err := eligible(j, u.cfg.Label, u.cfg.Project); err != nil {
		return "", &chaos.UpgradeError{Replica: name(j), Reason: chaos.ReasonOther, Err: err}
	}
	cfg := *j.Config
	cfg.Hostname = "" // the new container gets its own
	cfg.Env = setEnv(cfg.Env, "RECEIVER_VERSION", version)
	cfg.Env = setEnv(cfg.Env, "RECEIVER_MESSAGE", msg)
	for _, kv := range u.cfg.ExtraEnv {
		k, v, _ := strings.Cut(kv, "=")
		cfg.Env = setEnv(cfg.Env, k, v)
	}
	labels := map[string]string{}
	for k, v := range cfg.Labels {
		labels[k] = v
	}
	cfg.Labels = labels
	suffix := randHex(3)
	labels["com.docker.compose.container-number"] = suffix
	nets := &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{}}
	first := ""
	for nname, es := range j.NetworkSettings.Networks {
		nets.EndpointsConfig[nname] = &network.EndpointSettings{Aliases: es.Aliases}
		if first == "" || nname < first {
			first = nname
		}
	}
	// Older engines (API < 1.44) take one network at create; connect the rest after.
	createNets := &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{}}
	if first != "" {
		createNets.EndpointsConfig[first] = nets.EndpointsConfig[first]
	}
	hc := *j.HostConfig
	if first != "" {
		hc.NetworkMode = container.NetworkMode(first)
	}
	base := name(j)
	if k := strings.Index(base, "-v-"); k > 0 {
		base = base[:k]
	}
	newName := fmt.Sprintf("%s-v-%s-%s", base, sanitize(version), suffix)
	created, err := u.cfg.Client.ContainerCreate(ctx, &cfg, &hc, createNets, nil, newName)
	if err != nil {
		return "", &chaos.UpgradeError{Replica: name(j), Reason: chaos.ReasonOther, Err: fmt.Errorf("create replacement: %w", err)}
	}
	for nname, es := range nets.EndpointsConfig {
		if nname == first {
			continue
		}
		if err := u.cfg.Client.NetworkConnect(ctx, nname, created.ID, es); err != nil {
			u.remove(created.ID)
			return "", &chaos.UpgradeError{Replica: name(j), Reason: chaos.ReasonOther, Err: fmt.Errorf("connect replacement to %s: %w", nname, err)}
		}
	}
	if err := u.cfg.Client.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		u.remove(created.ID)
		return "", &chaos.UpgradeError{Replica: name(j), Reason: chaos.ReasonOther, Err: fmt.Errorf("start replacement: %w", err)}
	}
	return created.ID, nil
}

func (u *Upgrader) waitHealthy(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, u.cfg.HealthTimeout)
	defer cancel()
	for {
		j, err := u.cfg.Client.ContainerInspect(ctx, id)
		if err == nil && serving(j) {
			return nil
		}
		if err == nil && j.State != nil && !j.State.Running && j.State.Status == "exited" {
			return fmt.Errorf("replacement exited with %d", j.State.ExitCode)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("replacement not healthy within %s", u.cfg.HealthTimeout)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// remove stops (drain, 10s) and removes a container, on a context of its own so that a
// canceled upgrade still leaves nothing behind.
func (u *Upgrader) remove(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	t := stopTimeout
	_ = u.cfg.Client.ContainerStop(ctx, id, container.StopOptions{Timeout: &t})
	_ = u.cfg.Client.ContainerRemove(ctx, id, container.RemoveOptions{Force: true})
}

func (u *Upgrader) verify(ctx context.Context, version string) error {
	rs, err := u.Replicas(ctx)
	if err != nil {
		return &chaos.UpgradeError{Reason: chaos.ReasonOther, Err: err}
	}
	for _, r := range rs {
		if r.Version != version {
			return &chaos.UpgradeError{Replica: r.Name, Reason: chaos.ReasonUnverified, Err: fmt.Errorf("serves %q, want %q", r.Version, version)}
		}
	}
	return nil
}

func setEnv(env []string, key, val string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, key+"=") {
			out = append(out, kv)
		}
	}
	return append(out, key+"="+val)
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
			return r
		}
		return '-'
	}, s)
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
