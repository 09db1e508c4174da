package docker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"

	"chaossuite.dev/shared/chaos"
	"chaossuite.dev/shared/httpclient"
	"chaossuite.dev/shared/receiverapi"
)

// UpgraderConfig configures an Upgrader. The helmsman reads the tagged fields from its
// environment and sets the rest.
type UpgraderConfig struct {
	Host  string `env:"DOCKER_HOST"`                                     // the engine; empty: the local socket
	Label string `env:"TARGET_LABEL" envDefault:"chaos.target=receiver"` // key=value every replica carries
	Port  int    `env:"TARGET_PORT" envDefault:"8000"`                   // port the replicas serve on
	// Project is the compose project the replicas belong to: the own container's, else this.
	Project string `env:"COMPOSE_PROJECT"`
	// Self is the upgrader's own container (id or id prefix, as HOSTNAME holds it), never a replica.
	Self string `env:"HOSTNAME"`

	// ByImage makes a version an image reference: replacements run the same config with the
	// new image, and a replica's version is its container's image. Otherwise a version is a
	// receiver version, set through RECEIVER_VERSION or the receiver's admin API.
	ByImage bool
	// ReadinessPath, when set, makes a replica ready only when a GET of its address plus this
	// path answers 2xx (by image only); otherwise its container's health says, or running.
	ReadinessPath string
	StepTimeout   time.Duration       // a replacement must be healthy within this (UPGRADE_STEP_TIMEOUT); 0 means 30s
	Client        Engine              // nil: a client of the engine at Host, closed by Close
	HTTP          *receiverapi.Client // the receivers' admin API; needed unless ByImage
	Probe         *http.Client        // the GETs of ReadinessPath; nil: http.DefaultClient
	Logger        *slog.Logger
}

// Validate checks the settings, each error naming its variable.
func (c UpgraderConfig) Validate() error { return validateTarget(c.Label, c.Port) }

// Upgrader implements chaos.Upgrader on the Docker Engine.
type Upgrader struct {
	cfg   UpgraderConfig
	close func() error
}

// NewUpgrader connects to the engine, finds its own container and compose project, and
// returns an Upgrader.
func NewUpgrader(ctx context.Context, cfg UpgraderConfig) (*Upgrader, error) {
	if cfg.Port == 0 {
		cfg.Port = 8000
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.HTTP == nil && !cfg.ByImage {
		return nil, errors.New("docker upgrader: no client for the receivers' admin API")
	}
	if cfg.StepTimeout <= 0 {
		cfg.StepTimeout = 30 * time.Second
	}
	if cfg.Probe == nil {
		cfg.Probe = http.DefaultClient
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
	cfg.Logger.Info("docker upgrader connected", "project", cfg.Project, "label", cfg.Label, "self", cfg.Self,
		"by_image", cfg.ByImage, "readiness_path", cfg.ReadinessPath)
	return &Upgrader{cfg: cfg, close: closeEngine}, nil
}

// Close releases the engine client the Upgrader made.
func (u *Upgrader) Close() error { return u.close() }

// errInPlace is the refusal of an in-place change when versions are images.
var errInPlace = errors.New("an in-place change needs the receiver's admin API; with upgrades by image (UPGRADE_BY=image) use ROLLOUT or MAX_SURGE, which replace containers")

// targets lists the replicas' containers, never the upgrader's own.
func (u *Upgrader) targets(ctx context.Context) ([]container.Summary, error) {
	cs, err := listTargets(ctx, u.cfg.Client, u.cfg.Label, u.cfg.Project)
	if err != nil {
		return nil, err
	}
	out := cs[:0]
	for _, c := range cs {
		if !isSelf(u.cfg.Self, c.ID) {
			out = append(out, c)
		}
	}
	return out, nil
}

// Driver implements chaos.Upgrader.
func (u *Upgrader) Driver() string { return "docker" }

// Replicas implements chaos.Upgrader. By image, a replica's version is its container's image
// and its readiness the container's health (or the GET of ReadinessPath); otherwise both come
// from the receiver's admin API and the container's health.
func (u *Upgrader) Replicas(ctx context.Context) ([]chaos.Replica, error) {
	cs, err := u.targets(ctx)
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
		if u.cfg.ByImage {
			if j.Config != nil {
				r.Version = j.Config.Image
			}
			r.Ready, r.Reason = u.ready(ctx, j)
		} else if rc, err := u.cfg.HTTP.Config(ctx, r.Address); err == nil {
			r.Version, r.Generation, r.Ready = rc.Version, rc.Generation, serving(j)
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// ready says whether a replica by image serves, and why not: its container serving, and the
// GET of ReadinessPath answering 2xx when one is set.
func (u *Upgrader) ready(ctx context.Context, j container.InspectResponse) (bool, string) {
	if !serving(j) {
		return false, notServing(j)
	}
	if u.cfg.ReadinessPath == "" {
		return true, ""
	}
	addr := address(j, u.cfg.Port)
	if addr == "" {
		return false, "no address"
	}
	ctx, cancel := context.WithTimeout(ctx, readinessTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, addr+u.cfg.ReadinessPath, nil)
	if err != nil {
		return false, "readiness path: " + err.Error()
	}
	resp, err := u.cfg.Probe.Do(req)
	if err != nil {
		return false, "readiness path unanswered"
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return false, fmt.Sprintf("readiness path answered %d", resp.StatusCode)
	}
	return true, ""
}

// notServing says why a container does not serve.
func notServing(j container.InspectResponse) string {
	switch s := j.State; {
	case s == nil || !s.Running:
		return "not running"
	case s.Paused:
		return "paused"
	case j.NetworkSettings != nil && len(j.NetworkSettings.Networks) == 0:
		return "on no network"
	case s.Health != nil:
		return "container " + string(s.Health.Status)
	}
	return ""
}

// readinessTimeout bounds one GET of ReadinessPath.
const readinessTimeout = 2 * time.Second

// Reset implements chaos.Upgrader: the replica's version changes in place. By image there is
// no in-place change: a replica already at version needs none, any other is replaced by a
// container of version's image, as one step of a ROLLOUT replaces it, and the old container
// goes once the new one is ready (a replica a kill took down while an upgrade passed it by
// comes back on the old image, and nothing else would ever move it).
func (u *Upgrader) Reset(ctx context.Context, r chaos.Replica, version string) (err error) {
	defer func() { err = canceled(ctx, r.Name, err) }()
	if err := ctx.Err(); err != nil {
		return err
	}
	if u.cfg.ByImage {
		if r.Version == version {
			return nil
		}
		id, err := u.replace(ctx, r.Name, version, chaos.DefaultMessage(version))
		if err != nil {
			return err
		}
		return u.retire(ctx, r.Name, r.Name, id)
	}
	if _, err := u.cfg.HTTP.SetConfig(ctx, r.Address, version, chaos.DefaultMessage(version)); err != nil {
		reason := chaos.ReasonUnreachable
		if se := (*httpclient.StatusError)(nil); errors.As(err, &se) {
			reason = chaos.ReasonRefused
		}
		return &chaos.UpgradeError{Replica: r.Name, Reason: reason, Err: err}
	}
	return nil
}

// canceled is err as the Upgrader contract has it once ctx ended: canceled, whatever else
// went wrong, with the context's error as the cause.
func canceled(ctx context.Context, replica string, err error) error {
	if err == nil || ctx.Err() == nil {
		return err
	}
	return &chaos.UpgradeError{Replica: replica, Reason: chaos.ReasonCanceled, Err: fmt.Errorf("%w (%v)", ctx.Err(), err)}
}

// Upgrade implements chaos.Upgrader.
func (u *Upgrader) Upgrade(ctx context.Context, plan chaos.UpgradePlan) (err error) {
	defer func() { err = canceled(ctx, "", err) }()
	if err := ctx.Err(); err != nil {
		return err
	}
	msg := plan.Message
	if msg == "" {
		msg = chaos.DefaultMessage(plan.Version)
	}
	if plan.Type == chaos.InPlace && u.cfg.ByImage {
		return &chaos.UpgradeError{Reason: chaos.ReasonRefused, Err: errInPlace}
	}
	cs, err := u.targets(ctx)
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
			if err := u.retire(ctx, p.oldName, p.old, p.repl); err != nil && firstErr == nil {
				firstErr = err
			}
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
	if isSelf(u.cfg.Self, j.ID) {
		return "", &chaos.UpgradeError{Replica: name(j), Reason: chaos.ReasonOther, Err: errors.New("the upgrader's own container: refusing to replace it")}
	}
	cfg := *j.Config
	cfg.Hostname = "" // the new container gets its own
	if u.cfg.ByImage {
		if img, err := u.cfg.Client.ImageInspect(ctx, j.Image); err == nil {
			cfg = withoutImageDefaults(cfg, img.Config)
		} else {
			u.cfg.Logger.Warn("old image unreadable: the replacement keeps its defaults", "replica", name(j), "image", cfg.Image, "error", err)
		}
		cfg.Image = version
	} else {
		cfg.Env = setEnv(cfg.Env, "RECEIVER_VERSION", version)
		cfg.Env = setEnv(cfg.Env, "RECEIVER_MESSAGE", msg)
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
	newName := fmt.Sprintf("%s-v-%s-%s", base, sanitize(tag(version)), suffix)
	created, err := u.cfg.Client.ContainerCreate(ctx, &cfg, &hc, createNets, nil, newName)
	if err != nil {
		return "", &chaos.UpgradeError{Replica: name(j), Reason: chaos.ReasonRefused, Err: fmt.Errorf("create replacement: %w", err)}
	}
	for nname, es := range nets.EndpointsConfig {
		if nname == first {
			continue
		}
		if err := u.cfg.Client.NetworkConnect(ctx, nname, created.ID, es); err != nil {
			u.remove(created.ID)
			return "", &chaos.UpgradeError{Replica: name(j), Reason: chaos.ReasonRefused, Err: fmt.Errorf("connect replacement to %s: %w", nname, err)}
		}
	}
	if err := u.cfg.Client.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		u.remove(created.ID)
		return "", &chaos.UpgradeError{Replica: name(j), Reason: chaos.ReasonRefused, Err: fmt.Errorf("start replacement: %w", err)}
	}
	return created.ID, nil
}

// retire waits for repl, the replacement of the container old (of the replica named replica),
// to get healthy, then removes old; a replacement that never does is removed instead, and old
// is kept.
func (u *Upgrader) retire(ctx context.Context, replica, old, repl string) error {
	if err := u.waitHealthy(ctx, repl); err != nil {
		u.remove(repl)
		return &chaos.UpgradeError{Replica: replica, Reason: chaos.ReasonUnverified, Err: err}
	}
	u.remove(old)
	return nil
}

func (u *Upgrader) waitHealthy(parent context.Context, id string) error {
	ctx, cancel := context.WithTimeout(parent, u.cfg.StepTimeout)
	defer cancel()
	for {
		j, err := u.cfg.Client.ContainerInspect(ctx, id)
		if err == nil && serving(j) {
			if ok, _ := u.ready(ctx, j); ok || !u.cfg.ByImage {
				return nil
			}
		}
		if err == nil && j.State != nil && !j.State.Running && j.State.Status == "exited" {
			return fmt.Errorf("replacement exited with %d", j.State.ExitCode)
		}
		select {
		case <-ctx.Done():
			if err := parent.Err(); err != nil {
				return err
			}
			return fmt.Errorf("replacement not healthy within %s", u.cfg.StepTimeout)
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

// tag is what a container name shows of a version: an image reference's tag (web:1.5 gives
// 1.5), else the version itself.
func tag(version string) string {
	if i := strings.LastIndexAny(version, ":/@"); i >= 0 && version[i] == ':' && i+1 < len(version) {
		return version[i+1:]
	}
	return version
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
