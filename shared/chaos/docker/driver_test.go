package docker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/docker/docker/api/types/container"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/shared/chaos"
	"chaossuite.dev/shared/chaos/docker"
	"chaossuite.dev/shared/chaos/httpdriver"
	"chaossuite.dev/shared/config"
)

const web = "com.docker.compose.service=web"

// stack is a fake compose project "proj": three web replicas, a db, the driver's own
// container (which carries the web label too) and a web replica of another project.
type stack struct {
	eng  *fakeEngine
	self string // the driver's own container id, as HOSTNAME holds it (12 characters)
}

func newStack(image string, healthcheck bool) *stack {
	f := newFakeEngine()
	labels := func(project, service string) map[string]string {
		return map[string]string{docker.ProjectLabel: project, "com.docker.compose.service": service}
	}
	for _, n := range []string{"1", "2", "3"} {
		f.add("proj-web-"+n, image, labels("proj", "web"), healthcheck)
	}
	f.add("proj-db-1", "db:1", labels("proj", "db"), healthcheck)
	self := f.add("proj-harness-1", "harness:1", labels("proj", "web"), false)
	f.add("other-web-1", image, labels("other", "web"), healthcheck)
	return &stack{eng: f, self: self[:12]}
}

func (s *stack) killer(t *testing.T, delay time.Duration) *docker.Killer {
	t.Helper()
	k, err := docker.NewKiller(t.Context(), docker.KillerConfig{Client: s.eng, Label: web, Self: s.self, RestartDelay: docker.RestartDelay(delay)})
	require.NoError(t, err)
	return k
}

func nodeNames(ns []chaos.Node) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.Name)
	}
	return out
}

func TestSettings(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		label   string
		port    int
		delay   docker.RestartDelay
		wantErr string
	}{
		{"defaults", nil, docker.DefaultLabel, 8000, docker.RestartDelay(5 * time.Second), ""},
		{"never", map[string]string{"NODE_RESTART_DELAY": "never"}, docker.DefaultLabel, 8000, 0, ""},
		{"compose service label and port", map[string]string{"TARGET_LABEL": web, "TARGET_PORT": "8080", "NODE_RESTART_DELAY": "2s"}, web, 8080, docker.RestartDelay(2 * time.Second), ""},
		{"bad delay", map[string]string{"NODE_RESTART_DELAY": "soon"}, "", 0, 0, `invalid NODE_RESTART_DELAY="soon": want a positive duration of at most 24h such as 5s, or never`},
		{"negative delay", map[string]string{"NODE_RESTART_DELAY": "-1s"}, "", 0, 0, `invalid NODE_RESTART_DELAY="-1s"`},
		{"label without value", map[string]string{"TARGET_LABEL": "web"}, "", 0, 0, `invalid TARGET_LABEL="web": want a label key=value`},
		{"label without key", map[string]string{"TARGET_LABEL": "=web"}, "", 0, 0, `invalid TARGET_LABEL="=web"`},
		{"port out of range", map[string]string{"TARGET_PORT": "70000"}, "", 0, 0, `invalid TARGET_PORT="70000": want a port number from 1 to 65535`},
		{"port not a number", map[string]string{"TARGET_PORT": "http"}, "", 0, 0, `invalid TARGET_PORT="http"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			getenv := func(k string) string { return tc.env[k] }
			cfg, err := config.Load[docker.KillerConfig](getenv)
			if err == nil {
				err = cfg.Validate()
			}
			ucfg, uerr := config.Load[docker.UpgraderConfig](getenv)
			if uerr == nil {
				uerr = ucfg.Validate()
			}
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				assert.NotContains(t, err.Error(), "\n")
				if tc.name != "bad delay" && tc.name != "negative delay" {
					require.Error(t, uerr)
					assert.Equal(t, err.Error(), uerr.Error(), "both drivers read the setting alike")
				}
				return
			}
			require.NoError(t, err)
			require.NoError(t, uerr)
			assert.Equal(t, tc.label, cfg.Label)
			assert.Equal(t, tc.port, cfg.Port)
			assert.Equal(t, tc.delay, cfg.RestartDelay)
			assert.Equal(t, tc.label, ucfg.Label)
			assert.Equal(t, tc.port, ucfg.Port)
		})
	}
}

func TestConnectFindsTheOwnProject(t *testing.T) {
	s := newStack("web:1", true)
	ctx := context.Background()
	// The own container's project label wins over COMPOSE_PROJECT.
	k, err := docker.NewKiller(ctx, docker.KillerConfig{Client: s.eng, Label: web, Self: s.self, Project: "other"})
	require.NoError(t, err)
	defer k.Close()
	nodes, err := k.Nodes(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"proj-web-1", "proj-web-2", "proj-web-3"}, nodeNames(nodes))

	// Outside a container, COMPOSE_PROJECT names the project.
	k2, err := docker.NewKiller(ctx, docker.KillerConfig{Client: s.eng, Label: web, Project: "other"})
	require.NoError(t, err)
	defer k2.Close()
	nodes, err = k2.Nodes(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"other-web-1"}, nodeNames(nodes))

	// Neither: no project, a configuration error naming COMPOSE_PROJECT.
	for _, self := range []string{"", "0123456789ab"} {
		_, err = docker.NewKiller(ctx, docker.KillerConfig{Client: s.eng, Label: web, Self: self})
		var ce *config.Error
		require.ErrorAs(t, err, &ce, "self %q", self)
		assert.Equal(t, "COMPOSE_PROJECT", ce.Var)
		_, err = docker.NewUpgrader(ctx, docker.UpgraderConfig{Client: s.eng, Label: web, Self: self, ByImage: true})
		require.ErrorAs(t, err, &ce)
	}
	_, err = docker.NewKiller(ctx, docker.KillerConfig{Client: s.eng, Label: "web", Self: s.self})
	require.ErrorAs(t, err, new(*config.Error))
}

func TestKillerRefusesOutsideTheSelection(t *testing.T) {
	s := newStack("web:1", true)
	ctx := context.Background()
	k := s.killer(t, time.Second)
	defer k.Close()
	for _, n := range []string{"proj-db-1", "other-web-1", "proj-harness-1", s.self, "gone"} {
		for _, m := range []chaos.KillMethod{chaos.Stop, chaos.Halt, chaos.Pause, chaos.Partition} {
			assert.Error(t, k.Kill(ctx, chaos.Node{Name: n}, m, time.Second), "%s %s", m, n)
		}
	}
	assert.Empty(t, s.eng.log(), "nothing touched")
	assert.False(t, k.Supports("spare"))
	assert.Error(t, k.Kill(ctx, chaos.Node{Name: "proj-web-1"}, "spare", 0))
}

func TestKillerActsAndUndoes(t *testing.T) {
	for _, tc := range []struct {
		method chaos.KillMethod
		acts   []string // the calls of the kill
		undo   []string // the calls after the delay (restart) or the duration (undo)
	}{
		{chaos.Stop, []string{"stop proj-web-1"}, []string{"start proj-web-1"}},
		{chaos.Halt, []string{"kill proj-web-1"}, []string{"start proj-web-1"}},
		{chaos.Pause, []string{"pause proj-web-1"}, []string{"unpause proj-web-1"}},
		{chaos.Partition, []string{"disconnect proj-web-1"}, []string{"connect proj-web-1"}},
	} {
		t.Run(string(tc.method), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := newStack("web:1", true)
				const delay, duration = 5 * time.Second, 20 * time.Second
				k := s.killer(t, delay)
				defer k.Close()
				victim := chaos.Node{Name: "proj-web-1"}
				require.NoError(t, k.Kill(t.Context(), victim, tc.method, duration))
				synctest.Wait()
				assert.Equal(t, tc.acts, s.eng.log())
				assert.False(t, k.Serving(t.Context(), victim), "down right after the kill")

				back := delay // a stopped or halted node comes back after the restart delay
				if tc.method == chaos.Pause || tc.method == chaos.Partition {
					back = duration
				}
				time.Sleep(back - time.Millisecond)
				synctest.Wait()
				assert.Equal(t, tc.acts, s.eng.log(), "nothing undone before its time")
				time.Sleep(time.Millisecond)
				synctest.Wait()
				assert.Equal(t, append(slices.Clone(tc.acts), tc.undo...), s.eng.log())
				assert.True(t, k.Serving(t.Context(), victim), "serving again")
				if tc.method == chaos.Partition {
					j, _ := s.eng.inspect("proj-web-1")
					require.Contains(t, j.NetworkSettings.Networks, "net")
					assert.Equal(t, []string{"web"}, j.NetworkSettings.Networks["net"].Aliases, "aliases kept")
				}
			})
		})
	}
}

func TestKillerNeverRestarts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStack("web:1", true)
		k := s.killer(t, 0)
		defer k.Close()
		require.NoError(t, k.Kill(t.Context(), chaos.Node{Name: "proj-web-2"}, chaos.Halt, 0))
		time.Sleep(time.Hour)
		synctest.Wait()
		assert.Equal(t, []string{"kill proj-web-2"}, s.eng.log())
	})
}

func TestKillerCloseUndoesAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStack("web:1", true)
		k := s.killer(t, time.Minute)
		ctx := t.Context()
		require.NoError(t, k.Kill(ctx, chaos.Node{Name: "proj-web-1"}, chaos.Pause, time.Hour))
		require.NoError(t, k.Kill(ctx, chaos.Node{Name: "proj-web-2"}, chaos.Partition, time.Hour))
		require.NoError(t, k.Kill(ctx, chaos.Node{Name: "proj-web-3"}, chaos.Halt, 0))
		start := time.Now()
		require.NoError(t, k.Close())
		assert.Zero(t, time.Since(start), "Close waits for nothing but the undos")
		log := s.eng.log()
		assert.Contains(t, log, "unpause proj-web-1")
		assert.Contains(t, log, "connect proj-web-2")
		assert.NotContains(t, log, "start proj-web-3", "a pending restart is canceled")
		for _, n := range []string{"proj-web-1", "proj-web-2"} {
			j, _ := s.eng.inspect(n)
			assert.False(t, j.State.Paused, n)
			assert.Len(t, j.NetworkSettings.Networks, 1, n)
		}
	})
}

// receivers answers /admin/config for the fake's containers, from their RECEIVER_VERSION.
func receivers(f *fakeEngine) *httpdriver.Client {
	rt := roundTrip(func(r *http.Request) (*http.Response, error) {
		ip := r.URL.Hostname()
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, j := range f.containers {
			for _, es := range j.NetworkSettings.Networks {
				if es.IPAddress != ip || !j.State.Running {
					continue
				}
				v := "alpha"
				for _, kv := range j.Config.Env {
					if s, ok := strings.CutPrefix(kv, "RECEIVER_VERSION="); ok {
						v = s
					}
				}
				b, _ := json.Marshal(chaos.ReceiverConfig{Version: v, Generation: 1})
				return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(string(b))), Header: http.Header{"Content-Type": {"application/json"}}}, nil
			}
		}
		return nil, errors.New("connection refused")
	})
	return &httpdriver.Client{HTTP: &http.Client{Transport: rt}, Token: "t"}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func (s *stack) upgrader(t *testing.T, byImage bool, mod func(*docker.UpgraderConfig)) *docker.Upgrader {
	t.Helper()
	cfg := docker.UpgraderConfig{Client: s.eng, Label: web, Self: s.self, ByImage: byImage, StepTimeout: 30 * time.Second}
	if !byImage {
		cfg.HTTP = receivers(s.eng)
	}
	if mod != nil {
		mod(&cfg)
	}
	u, err := docker.NewUpgrader(context.Background(), cfg)
	require.NoError(t, err)
	return u
}

func versions(rs []chaos.Replica) map[string]string {
	out := map[string]string{}
	for _, r := range rs {
		out[r.Name] = r.Version
	}
	return out
}

func TestUpgradeByImage(t *testing.T) {
	for _, plan := range []chaos.UpgradePlan{
		{Type: chaos.Rollout, Version: "web:2"},
		{Type: chaos.MaxSurge, SurgePercent: 50, Version: "web:2"},
		{Type: chaos.MaxSurge, SurgePercent: 100, Version: "registry.example:5000/acme/web:2"},
	} {
		t.Run(string(plan.Type)+" "+plan.Version, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := newStack("web:1", true)
				s.eng.image(plan.Version, newImage(plan.Version))
				u := s.upgrader(t, true, nil)
				ctx := t.Context()
				before, err := u.Replicas(ctx)
				require.NoError(t, err)
				require.Len(t, before, 3, "the own container is never a replica")
				for _, r := range before {
					assert.Equal(t, "web:1", r.Version)
					assert.True(t, r.Ready)
				}
				old, _ := s.eng.inspect("proj-web-1")

				require.NoError(t, u.Upgrade(ctx, plan))

				after, err := u.Replicas(ctx)
				require.NoError(t, err)
				require.Len(t, after, 3)
				for _, r := range after {
					assert.Equal(t, plan.Version, r.Version, r.Name)
					assert.True(t, r.Ready, r.Name)
					assert.NotContains(t, versions(before), r.Name, "replaced")
					// The container's own settings stay; the old image's defaults go, so that
					// the engine gives it the new image's.
					req := s.eng.request(r.Name)
					assert.Equal(t, []string{"TOKEN=t"}, req.Env, "was %v", old.Config.Env)
					assert.Nil(t, req.Entrypoint)
					assert.Nil(t, req.Healthcheck)
					assert.NotContains(t, req.Labels, "org.opencontainers.image.version")
					j, _ := s.eng.inspect(r.Name)
					assert.ElementsMatch(t, []string{"TOKEN=t", "PATH=/", "IMAGE=" + plan.Version}, j.Config.Env)
					assert.Equal(t, "web", j.Config.Labels["com.docker.compose.service"])
					assert.Equal(t, "proj", j.Config.Labels[docker.ProjectLabel])
					assert.Equal(t, []string{"web"}, j.NetworkSettings.Networks["net"].Aliases)
				}
				assert.Subset(t, s.eng.names(), []string{"proj-db-1", "proj-harness-1", "other-web-1"})
				for _, n := range []string{"proj-db-1", "proj-harness-1", "other-web-1"} {
					assert.NotContains(t, strings.Join(s.eng.log(), ","), " "+n, "untouched")
				}
				// A surge starts its whole batch before any old container goes.
				batch := plan.BatchSize(3)
				log := s.eng.log()
				firstRemove := slices.IndexFunc(log, func(c string) bool { return strings.HasPrefix(c, "remove") })
				creates := 0
				for _, c := range log[:firstRemove] {
					if strings.HasPrefix(c, "create") {
						creates++
					}
				}
				assert.Equal(t, max(batch, 1), creates, "%v", log)
			})
		})
	}
}

func TestUpgradeByImageNeverHealthyKeepsTheOld(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*fakeEngine)
	}{
		{"unhealthy", func(f *fakeEngine) {
			f.health = func(c *container.Config) container.HealthStatus {
				if c.Image == "web:bad" {
					return container.Unhealthy
				}
				return container.Healthy
			}
		}},
		{"starting for ever", func(f *fakeEngine) {
			f.health = func(c *container.Config) container.HealthStatus {
				if c.Image == "web:bad" {
					return container.Starting
				}
				return container.Healthy
			}
		}},
		{"exits", func(f *fakeEngine) { f.exits = func(c *container.Config) bool { return c.Image == "web:bad" } }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := newStack("web:1", true)
				s.eng.image("web:bad", newImage("web:bad"))
				tc.set(s.eng)
				u := s.upgrader(t, true, nil)
				before := s.eng.names()
				err := u.Upgrade(t.Context(), chaos.UpgradePlan{Type: chaos.Rollout, Version: "web:bad"})
				var ue *chaos.UpgradeError
				require.ErrorAs(t, err, &ue)
				assert.Equal(t, chaos.ReasonUnverified, ue.Reason)
				assert.Equal(t, before, s.eng.names(), "the replacement removed, the old kept")
				rs, err := u.Replicas(t.Context())
				require.NoError(t, err)
				for _, r := range rs {
					assert.Equal(t, "web:1", r.Version)
				}
			})
		})
	}
}

// newImage is an image of a new version: its own environment and a health check.
func newImage(ref string) dockerspec.DockerOCIImageConfig {
	var img dockerspec.DockerOCIImageConfig
	img.Env = []string{"PATH=/", "IMAGE=" + ref}
	img.Healthcheck = &dockerspec.HealthcheckConfig{Test: []string{"CMD", "/app", "healthcheck"}}
	return img
}

func TestUpgradeByImageRefusesInPlace(t *testing.T) {
	s := newStack("web:1", true)
	u := s.upgrader(t, true, nil)
	ctx := context.Background()
	err := u.Upgrade(ctx, chaos.UpgradePlan{Type: chaos.InPlace, Version: "web:2"})
	var ue *chaos.UpgradeError
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, chaos.ReasonRefused, ue.Reason)
	assert.Contains(t, err.Error(), "use ROLLOUT or MAX_SURGE")
	rs, _ := u.Replicas(ctx)
	require.NotEmpty(t, rs)
	assert.NoError(t, u.Reset(ctx, rs[0], "web:1"), "a replica at the version needs no change")
	assert.Empty(t, s.eng.log(), "nothing touched")
}

// By image a Reset replaces the one replica with a container of the desired image: a replica
// a kill took down while an upgrade passed it by comes back on the old image.
func TestResetByImageReplacesTheReplica(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStack("web:1", true)
		s.eng.image("web:2", newImage("web:2"))
		u := s.upgrader(t, true, nil)
		ctx := t.Context()
		before, err := u.Replicas(ctx)
		require.NoError(t, err)
		require.Len(t, before, 3)
		stale := before[0]
		names0 := s.eng.names()

		require.NoError(t, u.Reset(ctx, stale, "web:2"))

		after, err := u.Replicas(ctx)
		require.NoError(t, err)
		require.Len(t, after, 3, "one replaced, not one more")
		got := map[string]string{}
		for _, r := range after {
			got[r.Name] = r.Version
			assert.True(t, r.Ready, r.Name)
		}
		assert.NotContains(t, got, stale.Name, "the stale container is gone")
		assert.Equal(t, "web:1", got[before[1].Name], "the others are untouched")
		assert.Equal(t, "web:1", got[before[2].Name])
		assert.ElementsMatch(t, []string{"web:1", "web:1", "web:2"}, slices.Collect(maps.Values(got)))
		assert.Len(t, s.eng.names(), len(names0), "as many containers as before")
	})
}

// A paused replica that an upgrade replaces is gone to the killer: its kill's effect ended
// there, though it never serves again. Down is not gone.
func TestKillerTellsAReplacedVictimGone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStack("web:1", true)
		s.eng.image("web:2", newImage("web:2"))
		k := s.killer(t, time.Second)
		defer k.Close()
		victim := chaos.Node{Name: "proj-web-1"}
		ctx := t.Context()
		assert.False(t, k.Gone(ctx, victim), "serving is not gone")
		require.NoError(t, k.Kill(ctx, victim, chaos.Pause, time.Hour))
		assert.False(t, k.Serving(ctx, victim))
		assert.False(t, k.Gone(ctx, victim), "paused is not gone")

		u := s.upgrader(t, true, nil)
		require.NoError(t, u.Reset(ctx, chaos.Replica{Name: victim.Name, Version: "web:1"}, "web:2"))
		assert.True(t, k.Gone(ctx, victim), "replaced")
		assert.False(t, k.Serving(ctx, victim))
	})
}

func TestResetByImageNeverHealthyKeepsTheOld(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStack("web:1", true)
		s.eng.image("web:2", newImage("web:2"))
		s.eng.health = func(c *container.Config) container.HealthStatus {
			if c.Image == "web:2" {
				return container.Unhealthy
			}
			return container.Healthy
		}
		u := s.upgrader(t, true, nil)
		ctx := t.Context()
		before, err := u.Replicas(ctx)
		require.NoError(t, err)
		names := s.eng.names()

		err = u.Reset(ctx, before[0], "web:2")
		var ue *chaos.UpgradeError
		require.ErrorAs(t, err, &ue)
		assert.Equal(t, chaos.ReasonUnverified, ue.Reason)
		assert.Equal(t, names, s.eng.names(), "the replacement removed, the old kept")
		after, err := u.Replicas(ctx)
		require.NoError(t, err)
		assert.Equal(t, versions(before), versions(after))
	})
}

func TestReplicasByImageReadiness(t *testing.T) {
	t.Run("health, else running", func(t *testing.T) {
		s := newStack("web:1", true)
		s.eng.add("proj-web-4", "web:1", map[string]string{docker.ProjectLabel: "proj", "com.docker.compose.service": "web"}, false)
		s.eng.setHealth("proj-web-2", container.Unhealthy)
		s.eng.setHealth("proj-web-3", container.Starting)
		u := s.upgrader(t, true, nil)
		rs, err := u.Replicas(context.Background())
		require.NoError(t, err)
		ready := map[string]string{}
		for _, r := range rs {
			ready[r.Name] = fmt.Sprint(r.Ready, " ", r.Reason)
		}
		assert.Equal(t, map[string]string{"proj-web-1": "true ", "proj-web-2": "false container unhealthy",
			"proj-web-3": "false container starting", "proj-web-4": "true "}, ready)
		require.NoError(t, s.eng.ContainerPause(context.Background(), "proj-web-4"))
		rs, _ = u.Replicas(context.Background())
		assert.False(t, rs[3].Ready)
		assert.Equal(t, "paused", rs[3].Reason)
	})
	t.Run("readiness path", func(t *testing.T) {
		s := newStack("web:1", false)
		var paths []string
		probe := &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
			paths = append(paths, r.URL.Path)
			code := http.StatusServiceUnavailable
			if r.URL.Host == "10.0.0.1:8080" { // proj-web-1 on TARGET_PORT
				code = http.StatusOK
			}
			return &http.Response{StatusCode: code, Body: io.NopCloser(strings.NewReader(""))}, nil
		})}
		u := s.upgrader(t, true, func(c *docker.UpgraderConfig) { c.ReadinessPath, c.Probe, c.Port = "/status/200", probe, 8080 })
		rs, err := u.Replicas(context.Background())
		require.NoError(t, err)
		require.Len(t, rs, 3)
		assert.True(t, rs[0].Ready)
		assert.False(t, rs[1].Ready)
		assert.False(t, rs[2].Ready)
		assert.Equal(t, "readiness path answered 503", rs[1].Reason)
		assert.Equal(t, []string{"/status/200", "/status/200", "/status/200"}, paths)
	})
}

func TestUpgradeByReceiverVersion(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStack("receiver:1", true)
		s.eng.health = func(c *container.Config) container.HealthStatus {
			if slices.Contains(c.Env, "RECEIVER_VERSION=broken") {
				return container.Unhealthy
			}
			return container.Healthy
		}
		u := s.upgrader(t, false, nil)
		ctx := t.Context()
		require.NoError(t, u.Upgrade(ctx, chaos.UpgradePlan{Type: chaos.Rollout, Version: "beta"}))
		rs, err := u.Replicas(ctx)
		require.NoError(t, err)
		require.Len(t, rs, 3)
		for _, r := range rs {
			assert.Equal(t, "beta", r.Version)
			assert.True(t, r.Ready)
			assert.Contains(t, r.Name, "-v-beta-")
			j, _ := s.eng.inspect(r.Name)
			assert.Equal(t, "receiver:1", j.Config.Image, "same image, new env")
		}

		before := s.eng.names()
		err = u.Upgrade(ctx, chaos.UpgradePlan{Type: chaos.MaxSurge, SurgePercent: 50, Version: "broken"})
		var ue *chaos.UpgradeError
		require.ErrorAs(t, err, &ue)
		assert.Equal(t, chaos.ReasonUnverified, ue.Reason)
		assert.Equal(t, before, s.eng.names(), "the replacements removed, the old kept")
	})
}

// FuzzRestartDelay: NODE_RESTART_DELAY is a positive duration up to 24h or never, anything
// else one configuration error naming it; a value read prints as what reads back the same.
func FuzzRestartDelay(f *testing.F) {
	for _, s := range []string{"5s", "never", "0", "-1s", "25h", "1ns", "soon", "", "9223372036854775807ns"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var d docker.RestartDelay
		err := d.UnmarshalText([]byte(s))
		if err != nil {
			var ce *config.Error
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, "NODE_RESTART_DELAY", ce.Var)
			return
		}
		require.True(t, d >= 0 && time.Duration(d) <= 24*time.Hour, "%q gave %v", s, d)
		var again docker.RestartDelay
		require.NoError(t, again.UnmarshalText([]byte(d.String())))
		assert.Equal(t, d, again)
	})
}
