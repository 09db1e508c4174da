package docker_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/client"

	"chaossuite.dev/shared/chaos"
	"chaossuite.dev/shared/chaos/docker"
	"chaossuite.dev/shared/chaos/httpdriver"
	"chaossuite.dev/shared/proctest"
)

const token = "test-token-0123456789abcdef"

type env struct {
	cl               *client.Client
	project, label   string
	image, net       string
	bystander, alien string
}

func sh(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func state(t *testing.T, name string) string {
	t.Helper()
	return sh(t, "inspect", "-f", "{{.Id}} {{.State.Status}} {{.State.StartedAt}} {{len .NetworkSettings.Networks}}", name)
}

func setup(t *testing.T) *env {
	if testing.Short() {
		t.Skip("docker integration test: skipped in -short mode")
	}
	if out, err := exec.Command("docker", "info").CombinedOutput(); err != nil {
		t.Skipf("SKIPPED: no Docker engine answers (`docker info`: %v): %s", err, firstLine(out))
	}
	u := randHex()
	// Every name and label starts with wt-drivers, so that nothing else on the engine is touched.
	e := &env{project: "wt-drivers" + u, label: "com.docker.compose.service=receiver", image: "wt-drivers/receiver:test-" + u, net: "wt-drivers-" + u}
	bin := proctest.Build(t, "chaossuite.dev/receiver/cmd/receiver")
	dir := t.TempDir()
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "app"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	df := "FROM scratch\nCOPY app /app\nUSER 65532:65532\n" +
		"HEALTHCHECK --interval=1s --timeout=2s --start-period=1s --retries=2 CMD [\"/app\", \"healthcheck\"]\nENTRYPOINT [\"/app\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("docker", "build", "-q", "-t", e.image, dir)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		ids, _ := exec.Command("docker", "ps", "-aq", "--filter", "label=wt-drivers.test="+u).Output()
		for _, id := range strings.Fields(string(ids)) {
			_ = exec.Command("docker", "rm", "-f", id).Run()
		}
		_ = exec.Command("docker", "network", "rm", e.net).Run()
		_ = exec.Command("docker", "rmi", "-f", e.image, e.image+"-v2", e.image+"-broken").Run()
	})
	sh(t, "network", "create", e.net)
	run := func(name, project string, labelled bool) {
		args := []string{"run", "-d", "--name", name, "--network", e.net, "--network-alias", "receiver",
			"-e", "AUTH_TOKEN=" + token, "-e", "NODE_NAME=" + name, "--label", "wt-drivers.test=" + u,
			"--label", "com.docker.compose.project=" + project}
		if labelled {
			args = append(args, "--label", e.label)
		} else {
			args = append(args, "--label", "com.docker.compose.service=bystander")
		}
		sh(t, append(args, e.image)...)
	}
	for _, n := range []string{"1", "2", "3"} {
		run(e.project+"-receiver-"+n, e.project, true)
	}
	e.bystander, e.alien = e.project+"-unlabelled", e.project+"-foreign"
	run(e.bystander, e.project, false)
	run(e.alien, "other"+u, true)
	cl, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	e.cl = cl
	for _, n := range []string{"1", "2", "3"} {
		waitFor(t, 30*time.Second, func() bool { return health(t, e.project+"-receiver-"+n) == "healthy" })
	}
	return e
}

func health(t *testing.T, name string) string {
	out, _ := exec.Command("docker", "inspect", "-f", "{{if .State.Health}}{{.State.Health.Status}}{{end}} {{.State.Status}}", name).Output()
	f := strings.Fields(string(out))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

func waitFor(t *testing.T, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", d)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func firstLine(b []byte) string { s, _, _ := strings.Cut(string(b), "\n"); return s }

func randHex() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func TestDockerDrivers(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	untouched := map[string]string{e.bystander: state(t, e.bystander), e.alien: state(t, e.alien)}
	checkUntouched := func(t *testing.T) {
		t.Helper()
		for n, s := range untouched {
			if got := state(t, n); got != s {
				t.Errorf("%s changed: %q, was %q", n, got, s)
			}
		}
	}
	self := sh(t, "inspect", "-f", "{{.Id}}", e.project+"-receiver-3")
	k, err := docker.NewKiller(ctx, docker.KillerConfig{Client: e.cl, Label: e.label, Project: e.project, Self: self, RestartDelay: docker.RestartDelay(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()

	t.Run("nodes exclude self and foreign containers", func(t *testing.T) {
		nodes, err := k.Nodes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, n := range nodes {
			names = append(names, n.Name)
			if !n.Ready || !strings.HasPrefix(n.Address, "http://") {
				t.Errorf("node %+v: want ready with an address", n)
			}
		}
		if strings.Join(names, ",") != e.project+"-receiver-1,"+e.project+"-receiver-2" {
			t.Fatalf("nodes %v", names)
		}
	})
	t.Run("refuses unlabelled, foreign and self", func(t *testing.T) {
		for _, n := range []string{e.bystander, e.alien, e.project + "-receiver-3"} {
			if err := k.Kill(ctx, chaos.Node{Name: n}, chaos.Halt, 0); err == nil {
				t.Errorf("kill %s: want refusal", n)
			}
		}
		checkUntouched(t)
	})
	victim := chaos.Node{Name: e.project + "-receiver-1"}
	for _, m := range []chaos.KillMethod{chaos.Stop, chaos.Halt, chaos.Pause, chaos.Partition} {
		t.Run(string(m), func(t *testing.T) {
			if err := k.Kill(ctx, victim, m, 2*time.Second); err != nil {
				t.Fatal(err)
			}
			switch m {
			case chaos.Stop: // the stop drains, then the container exits
				waitFor(t, 20*time.Second, func() bool { return !k.Serving(ctx, victim) })
			case chaos.Halt, chaos.Pause:
				if k.Serving(ctx, victim) {
					t.Errorf("%s: still serving right after the kill", m)
				}
			}
			if m == chaos.Partition {
				if n := sh(t, "inspect", "-f", "{{len .NetworkSettings.Networks}}", victim.Name); n != "0" {
					t.Errorf("partitioned node on %s networks", n)
				}
			}
			waitFor(t, 30*time.Second, func() bool { return k.Serving(ctx, victim) })
			if m == chaos.Partition {
				waitFor(t, 10*time.Second, func() bool {
					return sh(t, "inspect", "-f", "{{len .NetworkSettings.Networks}}", victim.Name) == "1"
				})
				al := sh(t, "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.Aliases}}{{end}}", victim.Name)
				if !strings.Contains(al, "receiver") {
					t.Errorf("aliases after reconnect: %s", al)
				}
			}
			checkUntouched(t)
		})
	}
	t.Run("close undoes a pending pause at once", func(t *testing.T) {
		k2, err := docker.NewKiller(ctx, docker.KillerConfig{Client: e.cl, Label: e.label, Project: e.project})
		if err != nil {
			t.Fatal(err)
		}
		if err := k2.Kill(ctx, victim, chaos.Pause, time.Hour); err != nil {
			t.Fatal(err)
		}
		k2.Close()
		if st := sh(t, "inspect", "-f", "{{.State.Paused}}", victim.Name); st != "false" {
			t.Fatalf("paused after Close: %s", st)
		}
		checkUntouched(t)
	})

	hc := &httpdriver.Client{HTTP: http.DefaultClient, Token: token}
	up, err := docker.NewUpgrader(ctx, docker.UpgraderConfig{Client: e.cl, Label: e.label, Project: e.project, HTTP: hc, StepTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []chaos.UpgradePlan{{Type: chaos.Rollout, Version: "beta"}, {Type: chaos.MaxSurge, SurgePercent: 50, Version: "gamma"}, {Type: chaos.InPlace, Version: "delta"}} {
		t.Run(string(p.Type), func(t *testing.T) {
			before, _ := up.Replicas(ctx)
			if err := up.Upgrade(ctx, p); err != nil {
				t.Fatal(err)
			}
			rs, err := up.Replicas(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(rs) != 3 {
				t.Fatalf("replicas %+v", rs)
			}
			for _, r := range rs {
				if r.Version != p.Version || !r.Ready {
					t.Errorf("replica %+v: want ready at %s", r, p.Version)
				}
				if p.Type != chaos.InPlace {
					for _, b := range before {
						if b.Name == r.Name {
							t.Errorf("replica %s not replaced", r.Name)
						}
					}
				}
			}
			checkUntouched(t)
		})
	}
	t.Run("unhealthy replacement removed, old kept", func(t *testing.T) {
		// The receiver refuses a version with a slash and exits 2: its replacement never serves.
		before, _ := up.Replicas(ctx)
		if err := up.Upgrade(ctx, chaos.UpgradePlan{Type: chaos.Rollout, Version: "no/slash"}); err == nil {
			t.Fatal("want an error")
		}
		if left := sh(t, "ps", "-aq", "--filter", "name=-v-no-slash-"); left != "" {
			t.Errorf("failed replacement left behind: %s", left)
		}
		after, _ := up.Replicas(ctx)
		if len(after) != len(before) {
			t.Fatalf("replicas before %+v after %+v", before, after)
		}
		for i := range after {
			if after[i].Name != before[i].Name || after[i].Version == "no/slash" {
				t.Errorf("replica %+v, was %+v", after[i], before[i])
			}
		}
		checkUntouched(t)
	})
	t.Run("by image", func(t *testing.T) {
		v1, v2, broken := e.image, e.image+"-v2", e.image+"-broken"
		sh(t, "tag", v1, v2)
		// The receiver refuses LOG_LEVEL=bogus and exits 2: this image never serves.
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+v1+"\nENV LOG_LEVEL=bogus\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("docker", "build", "-q", "-t", broken, dir)
		cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("docker build: %v\n%s", err, out)
		}
		ui, err := docker.NewUpgrader(ctx, docker.UpgraderConfig{Client: e.cl, Label: e.label, Project: e.project, ByImage: true,
			ReadinessPath: "/readyz", StepTimeout: 20 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []chaos.UpgradePlan{{Type: chaos.Rollout, Version: v2}, {Type: chaos.MaxSurge, SurgePercent: 75, Version: v1}} {
			if err := ui.Upgrade(ctx, p); err != nil {
				t.Fatalf("%s to %s: %v", p.Type, p.Version, err)
			}
			rs, err := ui.Replicas(ctx)
			if err != nil || len(rs) != 3 {
				t.Fatalf("replicas %+v, %v", rs, err)
			}
			for _, r := range rs {
				if r.Version != p.Version || !r.Ready {
					t.Errorf("replica %+v: want ready on %s", r, p.Version)
				}
			}
			checkUntouched(t)
		}
		before, _ := ui.Replicas(ctx)
		if err := ui.Upgrade(ctx, chaos.UpgradePlan{Type: chaos.Rollout, Version: broken}); err == nil {
			t.Fatal("want an error")
		}
		after, _ := ui.Replicas(ctx)
		if len(after) != len(before) {
			t.Fatalf("replicas before %+v after %+v", before, after)
		}
		for i := range after {
			if after[i] != before[i] {
				t.Errorf("replica %+v, was %+v", after[i], before[i])
			}
		}
		if err := ui.Upgrade(ctx, chaos.UpgradePlan{Type: chaos.InPlace, Version: v2}); err == nil {
			t.Error("IN_PLACE by image: want a refusal")
		}
		checkUntouched(t)
	})
}

// TestDockerUpgradeGoHTTPBin upgrades replicas of a service this project did not write,
// go-httpbin, by image between two releases, on the real engine.
func TestDockerUpgradeGoHTTPBin(t *testing.T) {
	if testing.Short() {
		t.Skip("docker integration test: skipped in -short mode")
	}
	if out, err := exec.Command("docker", "info").CombinedOutput(); err != nil {
		t.Skipf("SKIPPED: no Docker engine answers (`docker info`: %v): %s", err, firstLine(out))
	}
	v1, v2 := "chaossuite-httpbin:v2.25.0", "chaossuite-httpbin:v2.26.0"
	for _, img := range []string{v1, v2} {
		if err := exec.Command("docker", "image", "inspect", img).Run(); err != nil {
			t.Skipf("SKIPPED: image %s missing (make images builds it)", img)
		}
	}
	u := randHex()
	project, nw := "wt-drivers"+u, "wt-drivers-"+u
	t.Cleanup(func() {
		ids, _ := exec.Command("docker", "ps", "-aq", "--filter", "label=wt-drivers.test="+u).Output()
		for _, id := range strings.Fields(string(ids)) {
			_ = exec.Command("docker", "rm", "-f", id).Run()
		}
		_ = exec.Command("docker", "network", "rm", nw).Run()
	})
	sh(t, "network", "create", nw)
	for _, n := range []string{"1", "2"} {
		sh(t, "run", "-d", "--name", project+"-web-"+n, "--network", nw, "--network-alias", "web", "-e", "OWN=setting",
			"--label", "wt-drivers.test="+u, "--label", docker.ProjectLabel+"="+project, "--label", "com.docker.compose.service=web", v1)
	}
	bystander := project + "-db-1"
	sh(t, "run", "-d", "--name", bystander, "--network", nw, "--label", "wt-drivers.test="+u,
		"--label", docker.ProjectLabel+"="+project, "--label", "com.docker.compose.service=db", v1)
	was := state(t, bystander)
	cl, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	ctx := context.Background()
	up, err := docker.NewUpgrader(ctx, docker.UpgraderConfig{Client: cl, Label: "com.docker.compose.service=web", Project: project,
		Port: 8080, ByImage: true, ReadinessPath: "/status/200", StepTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, func() bool {
		rs, err := up.Replicas(ctx)
		return err == nil && len(rs) == 2 && rs[0].Ready && rs[1].Ready
	})
	for _, p := range []chaos.UpgradePlan{{Type: chaos.Rollout, Version: v2}, {Type: chaos.MaxSurge, SurgePercent: 50, Version: v1}, {Type: chaos.MaxSurge, SurgePercent: 100, Version: v2}} {
		if err := up.Upgrade(ctx, p); err != nil {
			t.Fatalf("%s to %s: %v", p.Type, p.Version, err)
		}
		rs, err := up.Replicas(ctx)
		if err != nil || len(rs) != 2 {
			t.Fatalf("replicas %+v, %v", rs, err)
		}
		for _, r := range rs {
			if r.Version != p.Version || !r.Ready {
				t.Errorf("replica %+v: want ready on %s", r, p.Version)
			}
			// The container's own setting stays; the image's entrypoint is the new image's.
			got := sh(t, "inspect", "-f", "{{.Config.Image}} {{json .Config.Entrypoint}} {{range .Config.Env}}{{.}} {{end}}", r.Name)
			if !strings.HasPrefix(got, p.Version+` ["/go-httpbin"]`) || !strings.Contains(got, "OWN=setting") {
				t.Errorf("replica %s: %s", r.Name, got)
			}
		}
		if got := state(t, bystander); got != was {
			t.Errorf("%s changed: %q, was %q", bystander, got, was)
		}
	}
}
