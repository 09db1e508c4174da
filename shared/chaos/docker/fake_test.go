package docker_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"chaossuite.dev/shared/chaos/docker"
)

// fakeEngine is an in-memory Docker Engine: containers with labels, state, health and
// networks, enough for the drivers' unit tests to run with no engine.
type fakeEngine struct {
	mu         sync.Mutex
	containers map[string]*container.InspectResponse       // by id
	images     map[string]*dockerspec.DockerOCIImageConfig // by reference
	requested  map[string]container.Config                 // the config each ContainerCreate asked for, by name
	next       int
	calls      []string // "verb name", in order
	// health says what health a container gets when it starts, given its config; nil: healthy.
	health func(*container.Config) container.HealthStatus
	// exits says whether a container exits at once when it starts.
	exits func(*container.Config) bool
	// refuses says whether the engine refuses to create a container of this config.
	refuses func(*container.Config) bool
}

var _ docker.Engine = (*fakeEngine)(nil)

func newFakeEngine() *fakeEngine {
	return &fakeEngine{containers: map[string]*container.InspectResponse{}, images: map[string]*dockerspec.DockerOCIImageConfig{}, requested: map[string]container.Config{}}
}

// image makes an image known to the fake: a container may be created from it.
func (f *fakeEngine) image(ref string, cfg dockerspec.DockerOCIImageConfig) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.images[ref] = &cfg
}

// imageID is the id the fake gives the image ref.
func imageID(ref string) string {
	sum := sha256.Sum256([]byte(ref))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// add puts a running container into the fake and returns its id. Its config is what the
// engine reports: the image's defaults (PATH, /app, the health check) merged with its own
// environment (TOKEN) and labels.
func (f *fakeEngine) add(name, image string, labels map[string]string, healthcheck bool) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	img := dockerspec.DockerOCIImageConfig{}
	img.Env = []string{"PATH=/", "IMAGE=" + image}
	img.Entrypoint = []string{"/app"}
	img.Labels = map[string]string{"org.opencontainers.image.version": image}
	cfg := &container.Config{Image: image, Labels: maps.Clone(labels), Env: append(slices.Clone(img.Env), "TOKEN=t"), Entrypoint: img.Entrypoint}
	cfg.Labels["org.opencontainers.image.version"] = image
	if healthcheck {
		img.Healthcheck = &dockerspec.HealthcheckConfig{Test: []string{"CMD", "/app", "healthcheck"}}
		cfg.Healthcheck = &container.HealthConfig{Test: []string{"CMD", "/app", "healthcheck"}}
	}
	if _, ok := f.images[image]; !ok {
		f.images[image] = &img
	}
	id := f.create(name, cfg, &container.HostConfig{}, map[string]*network.EndpointSettings{"net": {Aliases: []string{"web"}}})
	f.start(f.containers[id])
	return id
}

func (f *fakeEngine) create(name string, cfg *container.Config, hc *container.HostConfig, nets map[string]*network.EndpointSettings) string {
	f.next++
	sum := sha256.Sum256([]byte(fmt.Sprint(name, f.next)))
	id := hex.EncodeToString(sum[:])
	j := &container.InspectResponse{
		ContainerJSONBase: &container.ContainerJSONBase{ID: id, Name: "/" + name, Image: imageID(cfg.Image), State: &container.State{Status: container.StateCreated}, HostConfig: hc},
		Config:            cfg,
		NetworkSettings:   &container.NetworkSettings{Networks: map[string]*network.EndpointSettings{}},
	}
	for n, es := range nets {
		j.NetworkSettings.Networks[n] = &network.EndpointSettings{NetworkID: n, Aliases: es.Aliases, IPAddress: fmt.Sprintf("10.0.0.%d", f.next)}
	}
	f.containers[id] = j
	return id
}

func (f *fakeEngine) start(j *container.InspectResponse) {
	if f.exits != nil && f.exits(j.Config) {
		j.State = &container.State{Status: container.StateExited, ExitCode: 2}
		return
	}
	j.State = &container.State{Status: container.StateRunning, Running: true}
	if j.Config.Healthcheck != nil {
		st := container.Healthy
		if f.health != nil {
			st = f.health(j.Config)
		}
		j.State.Health = &container.Health{Status: st}
	}
}

func (f *fakeEngine) record(verb, ref string) {
	name := ref
	if j := f.find(ref); j != nil {
		name = strings.TrimPrefix(j.Name, "/")
	}
	f.calls = append(f.calls, verb+" "+name)
}

// find looks a container up by id, id prefix or name; f.mu is held.
func (f *fakeEngine) find(ref string) *container.InspectResponse {
	for id, j := range f.containers {
		if id == ref || strings.TrimPrefix(j.Name, "/") == strings.TrimPrefix(ref, "/") || len(ref) >= 12 && strings.HasPrefix(id, ref) {
			return j
		}
	}
	return nil
}

func (f *fakeEngine) get(ref string) (*container.InspectResponse, error) {
	if j := f.find(ref); j != nil {
		return j, nil
	}
	return nil, noSuchContainer(ref)
}

// noSuchContainer is the engine's answer for a container it does not have: a not-found error,
// as client.IsErrNotFound tells them.
type noSuchContainer string

func (e noSuchContainer) Error() string { return "No such container: " + string(e) }
func (noSuchContainer) NotFound()       {}

// inspect returns a copy of a container's state, for assertions.
func (f *fakeEngine) inspect(ref string) (container.InspectResponse, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j := f.find(ref)
	if j == nil {
		return container.InspectResponse{}, false
	}
	return clone(j), true
}

// names lists every container's name, sorted.
func (f *fakeEngine) names() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, j := range f.containers {
		out = append(out, strings.TrimPrefix(j.Name, "/"))
	}
	slices.Sort(out)
	return out
}

// log returns the calls so far.
func (f *fakeEngine) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// setHealth changes the health of a running container.
func (f *fakeEngine) setHealth(ref string, st container.HealthStatus) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if j := f.find(ref); j != nil && j.State.Health != nil {
		j.State.Health.Status = st
	}
}

func clone(j *container.InspectResponse) container.InspectResponse {
	c := *j
	base := *j.ContainerJSONBase
	st := *j.State
	if st.Health != nil {
		h := *st.Health
		st.Health = &h
	}
	base.State = &st
	c.ContainerJSONBase = &base
	cfg := *j.Config
	cfg.Labels = maps.Clone(cfg.Labels)
	cfg.Env = slices.Clone(cfg.Env)
	c.Config = &cfg
	ns := *j.NetworkSettings
	ns.Networks = map[string]*network.EndpointSettings{}
	for k, v := range j.NetworkSettings.Networks {
		e := *v
		ns.Networks[k] = &e
	}
	c.NetworkSettings = &ns
	return c
}

func (f *fakeEngine) ContainerList(_ context.Context, o container.ListOptions) ([]container.Summary, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []container.Summary
	for id, j := range f.containers {
		if !o.All && !j.State.Running {
			continue
		}
		ok := true
		for _, l := range o.Filters.Get("label") {
			k, v, hasValue := strings.Cut(l, "=")
			got, has := j.Config.Labels[k]
			ok = ok && has && (!hasValue || got == v)
		}
		if ok {
			out = append(out, container.Summary{ID: id, Names: []string{j.Name}, Image: j.Config.Image, Labels: maps.Clone(j.Config.Labels)})
		}
	}
	return out, nil
}

func (f *fakeEngine) ContainerInspect(_ context.Context, ref string) (container.InspectResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j, err := f.get(ref)
	if err != nil {
		return container.InspectResponse{}, err
	}
	return clone(j), nil
}

func (f *fakeEngine) ContainerCreate(_ context.Context, cfg *container.Config, hc *container.HostConfig, nc *network.NetworkingConfig, _ *ocispec.Platform, name string) (container.CreateResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.find(name) != nil {
		return container.CreateResponse{}, fmt.Errorf("Conflict. The container name %q is already in use", name)
	}
	if _, ok := f.images[cfg.Image]; !ok {
		return container.CreateResponse{}, fmt.Errorf("No such image: %s", cfg.Image)
	}
	if f.refuses != nil && f.refuses(cfg) {
		return container.CreateResponse{}, errors.New("Error response from daemon: create refused by an authorization plugin")
	}
	c := *cfg
	c.Labels = maps.Clone(cfg.Labels)
	c.Env = slices.Clone(cfg.Env)
	f.requested[name] = c
	c = merge(c, f.images[cfg.Image])
	h := *hc
	id := f.create(name, &c, &h, nc.EndpointsConfig)
	f.record("create", id)
	return container.CreateResponse{ID: id}, nil
}

func (f *fakeEngine) ContainerStart(_ context.Context, ref string, _ container.StartOptions) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	j, err := f.get(ref)
	if err != nil {
		return err
	}
	f.start(j)
	f.record("start", ref)
	return nil
}

func (f *fakeEngine) ContainerStop(_ context.Context, ref string, _ container.StopOptions) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	j, err := f.get(ref)
	if err != nil {
		return err
	}
	j.State = &container.State{Status: container.StateExited}
	f.record("stop", ref)
	return nil
}

func (f *fakeEngine) ContainerKill(_ context.Context, ref, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	j, err := f.get(ref)
	if err != nil {
		return err
	}
	j.State = &container.State{Status: container.StateExited, ExitCode: 137}
	f.record("kill", ref)
	return nil
}

func (f *fakeEngine) ContainerPause(_ context.Context, ref string) error {
	return f.setPaused(ref, true, "pause")
}

func (f *fakeEngine) ContainerUnpause(_ context.Context, ref string) error {
	return f.setPaused(ref, false, "unpause")
}

func (f *fakeEngine) setPaused(ref string, paused bool, verb string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	j, err := f.get(ref)
	if err != nil {
		return err
	}
	if !j.State.Running || j.State.Paused == paused {
		return fmt.Errorf("cannot %s container %s", verb, ref)
	}
	j.State.Paused = paused
	j.State.Status = container.StateRunning
	if paused {
		j.State.Status = container.StatePaused
	}
	f.record(verb, ref)
	return nil
}

func (f *fakeEngine) ContainerRemove(_ context.Context, ref string, _ container.RemoveOptions) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	j, err := f.get(ref)
	if err != nil {
		return err
	}
	f.record("remove", ref)
	delete(f.containers, j.ID)
	return nil
}

func (f *fakeEngine) NetworkConnect(_ context.Context, nw, ref string, es *network.EndpointSettings) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	j, err := f.get(ref)
	if err != nil {
		return err
	}
	j.NetworkSettings.Networks[nw] = &network.EndpointSettings{NetworkID: nw, Aliases: es.Aliases, IPAddress: "10.0.1.1"}
	f.record("connect", ref)
	return nil
}

func (f *fakeEngine) NetworkDisconnect(_ context.Context, nw, ref string, _ bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	j, err := f.get(ref)
	if err != nil {
		return err
	}
	delete(j.NetworkSettings.Networks, nw)
	f.record("disconnect", ref)
	return nil
}

func (f *fakeEngine) ImageInspect(_ context.Context, ref string, _ ...client.ImageInspectOption) (image.InspectResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for r, cfg := range f.images {
		if r == ref || imageID(r) == ref {
			c := *cfg
			return image.InspectResponse{ID: imageID(r), RepoTags: []string{r}, Config: &c}, nil
		}
	}
	return image.InspectResponse{}, fmt.Errorf("No such image: %s", ref)
}

// merge gives a new container its image's defaults, as the engine does: the image's
// environment under the container's, its entrypoint and command, health check and labels
// where the container sets none.
func merge(c container.Config, img *dockerspec.DockerOCIImageConfig) container.Config {
	env := slices.Clone(c.Env)
	for _, kv := range img.Env {
		k, _, _ := strings.Cut(kv, "=")
		if !slices.ContainsFunc(c.Env, func(s string) bool { return strings.HasPrefix(s, k+"=") }) {
			env = append(env, kv)
		}
	}
	c.Env = env
	if len(c.Entrypoint) == 0 {
		c.Entrypoint = img.Entrypoint
		if len(c.Cmd) == 0 {
			c.Cmd = img.Cmd
		}
	}
	if c.Healthcheck == nil && img.Healthcheck != nil {
		c.Healthcheck = &container.HealthConfig{Test: img.Healthcheck.Test}
	}
	labels := maps.Clone(img.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	maps.Copy(labels, c.Labels)
	c.Labels = labels
	return c
}

// request returns the config ContainerCreate was asked for under name.
func (f *fakeEngine) request(name string) container.Config {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requested[name]
}
