package kubernetes_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"

	"chaossuite.dev/shared/chaos"
	"chaossuite.dev/shared/chaos/chaostest"
	"chaossuite.dev/shared/chaos/httpdriver"
	"chaossuite.dev/shared/chaos/kubernetes"
	"chaossuite.dev/shared/config"
)

// webWithSidecar is a user's Deployment of two containers, web and a log shipper.
func webWithSidecar() *corev1.PodSpec {
	return &corev1.PodSpec{Containers: []corev1.Container{
		{Name: "web", Image: "example.com/web:1.4", Env: []corev1.EnvVar{{Name: "PORT", Value: "8080"}}},
		{Name: "shipper", Image: "example.com/shipper:3"},
	}}
}

func imageUpgrader(cs *fake.Clientset, container string) *kubernetes.Upgrader {
	return &kubernetes.Upgrader{
		Client: cs, Namespace: ns, Deployment: "web", Container: container, ByImage: true,
		Poll: 5 * time.Millisecond, Now: func() time.Time { return at }, StepTimeout: 5 * time.Second,
	}
}

// The image patch of ROLLOUT and MAX_SURGE changes the named container's image, the
// upgraded-at annotation and the rolling-update strategy, nothing else: its env and the other
// container stay as they were.
func TestImagePatchChangesExactlyTheImageAndStrategy(t *testing.T) {
	tests := []struct {
		name                     string
		plan                     chaos.UpgradePlan
		maxSurge, maxUnavailable intstr.IntOrString
	}{
		{"ROLLOUT", chaos.UpgradePlan{Type: chaos.Rollout, Version: "example.com/web:1.5"}, intstr.FromInt32(0), intstr.FromInt32(1)},
		{"MAX_SURGE 75%", chaos.UpgradePlan{Type: chaos.MaxSurge, SurgePercent: 75, Version: "example.com/web@sha256:0123"}, intstr.FromString("75%"), intstr.FromInt32(0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := webDeployment(3, "example.com/web:1.4", true)
			orig.Spec.Template.Spec = *webWithSidecar()
			cs := fake.NewClientset(orig.DeepCopy())
			got, err := imageUpgrader(cs, "web").Patch(context.Background(), tt.plan)
			require.NoError(t, err)

			p := patches(cs)
			require.Len(t, p, 1)
			var body map[string]any
			require.NoError(t, json.Unmarshal(p[0].GetPatch(), &body))
			normalizeInts(body)
			assert.Equal(t, map[string]any{"spec": map[string]any{
				"strategy": map[string]any{"type": "RollingUpdate", "rollingUpdate": map[string]any{
					"maxSurge": ptr(tt.maxSurge).String(), "maxUnavailable": ptr(tt.maxUnavailable).String(),
				}},
				"template": map[string]any{
					"metadata": map[string]any{"annotations": map[string]any{kubernetes.UpgradedAtAnnotation: "2026-11-23T07:00:00Z"}},
					"spec":     map[string]any{"containers": []any{map[string]any{"name": "web", "image": tt.plan.Version}}},
				},
			}}, body)

			exp := orig.DeepCopy()
			exp.Spec.Strategy.Type = "RollingUpdate"
			exp.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: &tt.maxSurge, MaxUnavailable: &tt.maxUnavailable}
			exp.Spec.Template.Annotations = map[string]string{kubernetes.UpgradedAtAnnotation: "2026-11-23T07:00:00Z"}
			exp.Spec.Template.Spec.Containers[0].Image = tt.plan.Version
			assert.Equal(t, exp.Spec, got.Spec, "only the image, the annotation and the strategy change")
		})
	}
}

func TestTheContainerIsTheNamedOneOrTheOnlyOne(t *testing.T) {
	tests := []struct {
		name, container string
		containers      []corev1.Container
		want            string // container whose image changes; "" for an error
		err             string
	}{
		{name: "the only one", containers: webWithSidecar().Containers[:1], want: "web"},
		{name: "named among several", container: "web", containers: webWithSidecar().Containers, want: "web"},
		{name: "several, none named", containers: webWithSidecar().Containers, err: "has 2 containers (web, shipper): set K8S_CONTAINER"},
		{name: "named, absent", container: "api", containers: webWithSidecar().Containers, err: `no container "api" (K8S_CONTAINER): its containers are web, shipper`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := webDeployment(3, "example.com/web:1.4", true)
			d.Spec.Template.Spec.Containers = tt.containers
			cs := fake.NewClientset(d)
			u := imageUpgrader(cs, tt.container)
			got, err := u.Patch(context.Background(), chaos.UpgradePlan{Type: chaos.Rollout, Version: "example.com/web:1.5"})
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				assert.Empty(t, patches(cs), "nothing patched")
				_, err = u.Replicas(context.Background())
				assert.ErrorContains(t, err, tt.err)
				uerr := u.Upgrade(context.Background(), chaos.UpgradePlan{Type: chaos.Rollout, Version: "example.com/web:1.5"})
				assert.Equal(t, chaos.ReasonRefused, chaos.UpgradeReason(uerr), "%v", uerr)
				return
			}
			require.NoError(t, err)
			for _, c := range got.Spec.Template.Spec.Containers {
				if c.Name == tt.want {
					assert.Equal(t, "example.com/web:1.5", c.Image)
				} else {
					assert.Equal(t, "example.com/shipper:3", c.Image, "%s untouched", c.Name)
				}
			}
		})
	}
}

// By image, each pod's version is the image of the upgraded container in its own spec, found
// by name (a sidecar injected into the pod comes first), and its readiness its Ready
// condition. The admin API is never asked.
func TestReplicasByImageComeFromThePods(t *testing.T) {
	d := webDeployment(3, "example.com/web:1.5", true)
	mk := func(name, ip, image string, ready bool) *corev1.Pod {
		p := pod(name, ip, webLabels, ready)
		p.Spec.Containers = []corev1.Container{{Name: "istio-proxy", Image: "istio/proxyv2:1.24"}, {Name: "web", Image: image}}
		return p
	}
	api := &adminAPI{}
	cs := fake.NewClientset(d, mk("web-a", "10.0.0.1", "example.com/web:1.4", true), mk("web-b", "10.0.0.2", "example.com/web:1.5", true),
		mk("web-c", "10.0.0.3", "example.com/web:1.5", false), pod("other", "10.0.0.9", map[string]string{"app": "other"}, true))
	u := imageUpgrader(cs, "")
	u.HTTP = &httpdriver.Client{HTTP: &http.Client{Transport: api}}
	u.Port = 8080
	reps, err := u.Replicas(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []chaos.Replica{
		{Name: "web-a", Address: "http://10.0.0.1:8080", Version: "example.com/web:1.4", Ready: true},
		{Name: "web-b", Address: "http://10.0.0.2:8080", Version: "example.com/web:1.5", Ready: true},
		{Name: "web-c", Address: "http://10.0.0.3:8080", Version: "example.com/web:1.5", Reason: "Ready condition False"},
	}, reps)
	assert.Empty(t, api.Calls(), "no admin API by image")
	st, err := u.Status(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "example.com/web:1.5", st.Version, "the template's image")
}

// With READINESS_PATH, a pod is ready when a GET of that path on it answers 2xx, whatever its
// Ready condition says, and the reason names the answer otherwise.
func TestReplicasByReadinessPath(t *testing.T) {
	c := newClusterOf(t, chaostest.Setup{Replicas: 2}, func(c *corev1.Container) string { return c.Image }, webDeployment(2, "example.com/web:1.4", true))
	c.readyByPath = true
	c.startPod(2, 0, webDeployment(2, "example.com/web:1.4", true).Spec.Template, chaostest.NeverServes) // Ready condition true, path 503
	np := pod("web-pending", "", webLabels, true)
	np.Spec.Containers[0].Name = "web"
	require.NoError(t, c.cs.Tracker().Add(np))
	u := &kubernetes.Upgrader{Client: c.cs, Namespace: ns, Deployment: "web", ByImage: true, ReadinessPath: "/status/200", Probe: c.http}
	reps, err := u.Replicas(context.Background())
	require.NoError(t, err)
	got := map[string]string{}
	for _, r := range reps {
		got[r.Name] = r.Reason
		assert.Equal(t, r.Reason == "", r.Ready, r.Name)
	}
	assert.Equal(t, map[string]string{
		"web-1-0": "", "web-1-1": "", "web-2-0": "GET /status/200 answered 503", "web-pending": "no pod IP yet",
	}, got)
}

func TestInPlaceAndResetAreRefusedByImage(t *testing.T) {
	api := &adminAPI{}
	cs := fake.NewClientset(webDeployment(3, "example.com/web:1.4", true), pod("web-a", "10.0.0.1", webLabels, true))
	u := imageUpgrader(cs, "")
	u.HTTP = &httpdriver.Client{HTTP: &http.Client{Transport: api}}
	err := u.Upgrade(context.Background(), chaos.UpgradePlan{Type: chaos.InPlace, Version: "example.com/web:1.5"})
	assert.Equal(t, chaos.ReasonRefused, chaos.UpgradeReason(err))
	assert.ErrorContains(t, err, "IN_PLACE")
	assert.ErrorContains(t, err, "UPGRADE_BY=image")
	err = u.Reset(context.Background(), chaos.Replica{Name: "web-a", Address: "http://10.0.0.1:8000"}, "example.com/web:1.5")
	assert.Equal(t, chaos.ReasonRefused, chaos.UpgradeReason(err))
	assert.ErrorContains(t, err, "UPGRADE_BY=image")
	assert.Empty(t, api.Calls())
	assert.Empty(t, patches(cs))
}

// The driver reads K8S_CONTAINER and TARGET_PORT; ByImage and ReadinessPath are the
// helmsman's to set, never read from the environment here.
func TestUpgraderConfigFromTheEnvironment(t *testing.T) {
	env := map[string]string{
		"K8S_DEPLOYMENT": "web", "K8S_CONTAINER": "web", "TARGET_PORT": "8080",
		"UPGRADE_BY": "image", "READINESS_PATH": "/status/200", "ByImage": "true",
	}
	cfg, err := config.Load[kubernetes.UpgraderConfig](func(k string) string { return env[k] })
	require.NoError(t, err)
	assert.Equal(t, kubernetes.UpgraderConfig{Deployment: "web", Container: "web", Port: 8080}, cfg)
	def, err := config.Load[kubernetes.UpgraderConfig](func(string) string { return "" })
	require.NoError(t, err)
	assert.Equal(t, kubernetes.UpgraderConfig{Deployment: "receiver", Port: 8000}, def)
	kc, err := config.Load[kubernetes.KillerConfig](func(k string) string { return env[k] })
	require.NoError(t, err)
	assert.Equal(t, 8080, kc.Port)

	cfg.ByImage, cfg.ReadinessPath = true, "/status/200"
	u := kubernetes.NewUpgrader(fake.NewClientset(), ns, cfg, &httpdriver.Client{HTTP: http.DefaultClient})
	assert.True(t, u.ByImage)
	assert.Equal(t, "/status/200", u.ReadinessPath)
	assert.Equal(t, "web", u.Container)
	assert.Equal(t, 8080, u.Port)
	assert.Same(t, http.DefaultClient, u.Probe)

	for _, bad := range []struct {
		cfg  kubernetes.UpgraderConfig
		name string
	}{
		{kubernetes.UpgraderConfig{}, "K8S_DEPLOYMENT"},
		{kubernetes.UpgraderConfig{Deployment: "web", Port: 70000}, "TARGET_PORT"},
		{kubernetes.UpgraderConfig{Deployment: "web", ReadinessPath: "status/200"}, "READINESS_PATH"},
	} {
		err := bad.cfg.Validate()
		var ce *config.Error
		require.ErrorAs(t, err, &ce, "a bad setting exits 2")
		assert.Equal(t, bad.name, ce.Var)
	}
}
