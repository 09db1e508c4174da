package kubernetes_test

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// harnessObjects is all the harness overlay installs.
var harnessObjects = []string{
	"ServiceAccount/nodekiller", "Role/nodekiller", "RoleBinding/nodekiller", "Deployment/nodekiller", "Service/nodekiller",
	"ServiceAccount/helmsman", "Role/helmsman", "RoleBinding/helmsman", "Deployment/helmsman", "Service/helmsman",
	"Deployment/pinger", "Service/pinger", "Deployment/reaper", "Service/reaper",
}

// namespacedKinds are the kinds the harness may install: all namespaced.
var namespacedKinds = map[string]bool{"ServiceAccount": true, "Role": true, "RoleBinding": true, "Deployment": true, "Service": true}

func harnessDir(root string) string {
	return filepath.Join(root, "deploy", "kubernetes", "overlays", "harness")
}

func TestHarnessOverlayInstallsOnlyTheHarness(t *testing.T) {
	r := render(t, harnessDir(repoRoot(t)))
	assert.ElementsMatch(t, harnessObjects, r.order, "the inputs ConfigMap is local: never applied")
	for _, k := range r.order {
		kind, _, _ := strings.Cut(k, "/")
		assert.True(t, namespacedKinds[kind], "%s: nothing cluster-wide", k)
		assert.False(t, clusterScoped[kind], k)
		assert.Equal(t, "web", r.objects[k].(metav1.Object).GetNamespace(), "%s in the user's namespace", k)
	}
	for _, name := range []string{"nodekiller", "helmsman"} {
		rb := r.get(t, "RoleBinding", name).(*rbacv1.RoleBinding)
		assert.Equal(t, []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: "web"}}, rb.Subjects)
	}
}

// The harness's Deployments are the base's, hardening, probes, resources and ServiceAccounts
// included: only their env differs.
func TestHarnessOverlayKeepsTheBaseDeployments(t *testing.T) {
	root := repoRoot(t)
	base := render(t, filepath.Join(root, "deploy", "kubernetes", "base"))
	r := render(t, harnessDir(root))
	for _, d := range r.deployments() {
		b := base.get(t, "Deployment", d.Name).(*appsv1.Deployment)
		got, want := d.Spec.DeepCopy(), b.Spec.DeepCopy()
		got.Template.Spec.Containers[0].Env, want.Template.Spec.Containers[0].Env = nil, nil
		assert.Equal(t, want, got, d.Name)
		tok := env(d.Spec.Template.Spec.Containers[0])["AUTH_TOKEN"]
		require.NotNil(t, tok.ValueFrom, d.Name)
		assert.Equal(t, "chaos-auth", tok.ValueFrom.SecretKeyRef.Name, "%s reads the Secret the user creates", d.Name)
	}
}

// inputs are the harness overlay's inputs, as its kustomization.yaml lists them.
func inputs(t *testing.T, dir string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	require.NoError(t, err)
	out := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^\s+- ([a-z_]+)=(.*)$`).FindAllStringSubmatch(string(b), -1) {
		out[m[1]] = m[2]
	}
	return out
}

// copyDeploy copies deploy/kubernetes under a temporary root, so that a test can edit the
// overlay's inputs as a user would.
func copyDeploy(t *testing.T, root string) string {
	t.Helper()
	tmp := t.TempDir()
	src := filepath.Join(root, "deploy", "kubernetes")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(tmp, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(tmp, rel), b, 0o644)
	})
	require.NoError(t, err)
	return tmp
}

// setInputs rewrites the overlay's inputs in dir and its namespace.
func setInputs(t *testing.T, dir, namespace string, in map[string]string) {
	t.Helper()
	p := filepath.Join(dir, "kustomization.yaml")
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	s := string(b)
	for k, v := range in {
		re := regexp.MustCompile(`(?m)^(\s+- ` + k + `=).*$`)
		require.True(t, re.MatchString(s), "input %s", k)
		s = re.ReplaceAllLiteralString(s, re.FindStringSubmatch(s)[1]+v)
	}
	re := regexp.MustCompile(`(?m)^namespace: .*$`)
	require.True(t, re.MatchString(s))
	s = re.ReplaceAllLiteralString(s, "namespace: "+namespace)
	require.NoError(t, os.WriteFile(p, []byte(s), 0o644))
}

type pingerTarget struct {
	Name          string `json:"name"`
	URL           string `json:"url"`
	Method        string `json:"method"`
	QPS           int    `json:"qps"`
	VersionHeader string `json:"version_header"`
}

// TestHarnessInputsReachTheirEnv renders the overlay with its own inputs and with a user's, and
// follows each input to the env vars and the Role it must reach.
func TestHarnessInputsReachTheirEnv(t *testing.T) {
	root := repoRoot(t)
	defaults := inputs(t, harnessDir(root))
	assert.Equal(t, "none", defaults["version_header"], "no version header unless the user names one")
	user := map[string]string{
		"deployment": "shop-api", "container": "api", "selector": "app.kubernetes.io/name=shop-api,tier in (backend)",
		"port": "9090", "replicas": "5", "versions": "registry.example/shop-api:2.0,registry.example/shop-api:2.1",
		"readiness_path": "/healthz/ready", "url": "http://shop-api.shop:9090/v1/ping", "version_header": "X-Shop-Version",
	}
	require.Len(t, user, len(defaults), "every input is exercised: %v", defaults)
	tmp := copyDeploy(t, root)
	setInputs(t, harnessDir(tmp), "shop", user)

	for name, tc := range map[string]struct {
		dir, namespace string
		in             map[string]string
	}{"defaults": {harnessDir(root), "web", defaults}, "a user's": {harnessDir(tmp), "shop", user}} {
		t.Run(name, func(t *testing.T) {
			in := tc.in
			r := render(t, tc.dir)
			assert.ElementsMatch(t, harnessObjects, r.order)
			for _, k := range r.order {
				assert.Equal(t, tc.namespace, r.objects[k].(metav1.Object).GetNamespace(), k)
			}
			envOfDeployment := func(name string) map[string]corev1.EnvVar {
				return env(r.get(t, "Deployment", name).(*appsv1.Deployment).Spec.Template.Spec.Containers[0])
			}

			hm := envOfDeployment("helmsman")
			for k, want := range map[string]string{
				"UPGRADE_DRIVER": "kubernetes", "UPGRADE_BY": "image", "UPGRADE_TYPES": "ROLLOUT,MAX_SURGE",
				"K8S_DEPLOYMENT": in["deployment"], "K8S_CONTAINER": in["container"], "TARGET_PORT": in["port"],
				"EXPECTED_REPLICAS": in["replicas"], "VERSIONS": in["versions"], "READINESS_PATH": in["readiness_path"],
			} {
				assert.Equal(t, want, hm[k].Value, "helmsman %s", k)
			}
			assert.Equal(t, "metadata.namespace", hm["K8S_NAMESPACE"].ValueFrom.FieldRef.FieldPath)
			assert.NotContains(t, hm, "TARGET_DNS")
			role := r.get(t, "Role", "helmsman").(*rbacv1.Role)
			assert.Equal(t, []string{in["deployment"]}, role.Rules[0].ResourceNames, "the helmsman may patch the user's Deployment alone")

			nk := envOfDeployment("nodekiller")
			assert.Equal(t, in["selector"], nk["K8S_SELECTOR"].Value)
			assert.Equal(t, in["port"], nk["TARGET_PORT"].Value)
			assert.Equal(t, "kubernetes", nk["KILL_DRIVER"].Value)
			assert.Equal(t, "metadata.name", nk["POD_NAME"].ValueFrom.FieldRef.FieldPath, "never its own pod")
			sel, err := labels.Parse(nk["K8S_SELECTOR"].Value)
			require.NoError(t, err)
			for _, d := range r.deployments() {
				assert.False(t, sel.Matches(labels.Set(d.Spec.Template.Labels)), "K8S_SELECTOR must not match the harness's %s", d.Name)
			}

			rp := envOfDeployment("reaper")
			assert.Equal(t, "nodekiller", rp["KILL_VIA"].Value)
			assert.Equal(t, "http://nodekiller:8001", rp["NODEKILLER_URL"].Value)
			assert.NotContains(t, rp, "RECEIVER_URL")

			pg := envOfDeployment("pinger")
			assert.NotContains(t, pg, "RECEIVER_URL")
			var targets []map[string]any
			require.NoError(t, json.Unmarshal([]byte(pg["PINGER_TARGETS"].Value), &targets), pg["PINGER_TARGETS"].Value)
			require.Len(t, targets, 1)
			assert.NotContains(t, targets[0], "token", "the suite's token stays in the suite")
			assert.NotContains(t, targets[0], "shared_token")
			var target pingerTarget
			require.NoError(t, json.Unmarshal([]byte(pg["PINGER_TARGETS"].Value), &[]*pingerTarget{&target}))
			assert.Equal(t, pingerTarget{Name: "target", URL: in["url"], Method: "GET", QPS: 10, VersionHeader: in["version_header"]}, target)
			assert.Equal(t, "http://reaper:8003", pg["REAPER_URL"].Value)
			assert.Equal(t, "http://helmsman:8004", pg["HELMSMAN_URL"].Value)
			assert.Equal(t, "http://nodekiller:8001", pg["NODEKILLER_URL"].Value)
		})
	}
}
