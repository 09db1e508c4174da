package kubernetes_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"chaossuite.dev/shared/chaos/kubernetes"
)

// repoRoot is the repository root, three levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(root, "deploy", "kubernetes", "base", "kustomization.yaml"))
	require.NoError(t, err, "deploy/kubernetes/base not found from %s", root)
	return root
}

// rendered is one kustomization's output, every object decoded strictly into its client-go type.
type rendered struct {
	objects map[string]runtime.Object // "Kind/name"
	order   []string
}

func (r rendered) get(t *testing.T, kind, name string) runtime.Object {
	t.Helper()
	o, ok := r.objects[kind+"/"+name]
	require.True(t, ok, "%s/%s is not rendered (have %v)", kind, name, r.order)
	return o
}

func (r rendered) deployments() []*appsv1.Deployment {
	var out []*appsv1.Deployment
	for _, k := range r.order {
		if d, ok := r.objects[k].(*appsv1.Deployment); ok {
			out = append(out, d)
		}
	}
	return out
}

// render builds the kustomization in dir as `kustomize build` does and decodes every object
// strictly: an unknown, misspelt or duplicate field fails.
func render(t *testing.T, dir string) rendered {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	require.NoError(t, err, "kustomize build %s", dir)
	out := rendered{objects: map[string]runtime.Object{}}
	for _, res := range m.Resources() {
		y, err := res.AsYAML()
		require.NoError(t, err)
		js, err := yaml.YAMLToJSONStrict(y)
		require.NoError(t, err)
		g := res.GetGvk()
		gvk := schema.GroupVersionKind{Group: g.Group, Version: g.Version, Kind: g.Kind}
		obj, err := scheme.Scheme.New(gvk)
		require.NoError(t, err, "%s %s has no client-go type", gvk, res.GetName())
		strict, err := sigsjson.UnmarshalStrict(js, obj)
		require.NoError(t, err, "%s/%s", g.Kind, res.GetName())
		require.Empty(t, strict, "%s/%s does not decode strictly into %T", g.Kind, res.GetName(), obj)
		obj.GetObjectKind().SetGroupVersionKind(gvk)
		key := g.Kind + "/" + res.GetName()
		require.NotContains(t, out.objects, key, "rendered twice")
		out.objects[key] = obj
		out.order = append(out.order, key)
	}
	return out
}

func TestStrictDecodingRejectsUnknownFields(t *testing.T) {
	obj := &appsv1.Deployment{}
	strict, err := sigsjson.UnmarshalStrict([]byte(`{"spec":{"replicas":3,"replica":3,"template":{"spec":{"containers":[{"name":"x","imagePullpolicy":"Always"}]}}}}`), obj)
	require.NoError(t, err)
	assert.Len(t, strict, 2, "unknown field and wrong case both caught: %v", strict)
}

var wantObjects = []string{
	"Namespace/chaos", "Secret/chaos-auth", "ConfigMap/chaos-dashboards",
	"Deployment/receiver", "Service/receiver", "Service/receiver-headless", "PodDisruptionBudget/receiver",
	"ServiceAccount/nodekiller", "Role/nodekiller", "RoleBinding/nodekiller", "Deployment/nodekiller", "Service/nodekiller",
	"ServiceAccount/helmsman", "Role/helmsman", "RoleBinding/helmsman", "Deployment/helmsman", "Service/helmsman",
	"Deployment/pinger", "Service/pinger", "Deployment/reaper", "Service/reaper", "Deployment/voracious", "Service/voracious",
	"ValidatingAdmissionPolicy/chaossuite-nodekiller-pods", "ValidatingAdmissionPolicyBinding/chaossuite-nodekiller-pods",
	"ValidatingAdmissionPolicy/chaossuite-nodekiller-networkpolicies", "ValidatingAdmissionPolicyBinding/chaossuite-nodekiller-networkpolicies",
	"ValidatingAdmissionPolicy/chaossuite-helmsman", "ValidatingAdmissionPolicyBinding/chaossuite-helmsman",
}

// clusterScoped are the rendered kinds that have no namespace.
var clusterScoped = map[string]bool{"Namespace": true, "ValidatingAdmissionPolicy": true, "ValidatingAdmissionPolicyBinding": true}

// commonEnv is what every service reads (DESIGN section 3).
var commonEnv = []string{"LISTEN_ADDR", "LOG_LEVEL", "LOG_FORMAT", "AUTH_TOKEN", "SHUTDOWN_DELAY", "SHUTDOWN_TIMEOUT", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME"}

// serviceEnv is every variable each service reads beyond commonEnv (DESIGN sections 5 and 6).
var serviceEnv = map[string][]string{
	"receiver":   {"RECEIVER_VERSION", "RECEIVER_MESSAGE", "NODE_NAME", "NODEKILLER_URL"},
	"nodekiller": {"KILL_DRIVER", "KILL_POLICY", "MIN_AVAILABLE", "DRY_RUN", "RECOVERY_TIMEOUT", "TARGETS", "TARGET_DNS", "K8S_NAMESPACE", "K8S_SELECTOR", "POD_NAME"},
	"pinger":     {"RECEIVER_URL", "RECEIVER_QPS", "SELF_QPS", "PINGER_TARGETS", "MAX_PENDING_FACTOR", "MAX_ATTEMPTS", "RETRY_BASE", "RETRY_MAX", "REQUEST_TIMEOUT", "REAPER_URL", "HELMSMAN_URL", "NODEKILLER_URL", "RECEIVER_CONNECTION", "CONN_MAX_AGE", "AUTOSTART"},
	"reaper":     {"RECEIVER_URL", "KILL_INTERVAL", "KILL_JITTER", "KILL_METHODS", "AUTOSTART"},
	"helmsman":   {"UPGRADE_DRIVER", "K8S_NAMESPACE", "K8S_DEPLOYMENT", "UPGRADE_INTERVAL", "VERSIONS", "UPGRADE_TYPES", "STATUS_INTERVAL", "TARGETS", "TARGET_DNS", "EXPECTED_REPLICAS", "GRACE_PERIOD", "LOST_AFTER", "AUTOSTART"},
	"voracious":  {"VORACIOUS_APPS", "VORACIOUS_APP_FORMAT", "VORACIOUS_ADJUST_PAYLOAD", "VORACIOUS_STATE_FILE", "VORACIOUS_RESYNC"},
}

var ports = map[string]int32{"receiver": 8000, "nodekiller": 8001, "pinger": 8002, "reaper": 8003, "helmsman": 8004, "voracious": 8080}

func env(c corev1.Container) map[string]corev1.EnvVar {
	out := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		out[e.Name] = e
	}
	return out
}

func TestBaseRendersEveryObject(t *testing.T) {
	r := render(t, filepath.Join(repoRoot(t), "deploy", "kubernetes", "base"))
	assert.ElementsMatch(t, wantObjects, r.order)
	for _, k := range r.order {
		o := r.objects[k].(metav1.Object)
		if kind, _, _ := strings.Cut(k, "/"); clusterScoped[kind] {
			assert.Empty(t, o.GetNamespace(), k)
		} else {
			assert.Equal(t, "chaos", o.GetNamespace(), k)
		}
		assert.Equal(t, "chaossuite", o.GetLabels()["app.kubernetes.io/part-of"], k)
	}
}

func TestEveryDeploymentIsHardenedAndReadsTheToken(t *testing.T) {
	r := render(t, filepath.Join(repoRoot(t), "deploy", "kubernetes", "base"))
	ds := r.deployments()
	require.Len(t, ds, len(ports))
	for _, d := range ds {
		t.Run(d.Name, func(t *testing.T) {
			port, ok := ports[d.Name]
			require.True(t, ok, "unexpected Deployment")
			spec := d.Spec.Template.Spec
			require.Len(t, spec.Containers, 1)
			c := spec.Containers[0]
			assert.Equal(t, "chaossuite/"+d.Name+":dev", c.Image)
			assert.Empty(t, c.Command, "the image entrypoint /app runs")
			assert.Empty(t, c.Args)
			require.Len(t, c.Ports, 1)
			assert.Equal(t, port, c.Ports[0].ContainerPort)

			sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
			require.NoError(t, err)
			assert.True(t, sel.Matches(labels.Set(d.Spec.Template.Labels)))
			assert.Equal(t, d.Name, d.Spec.Template.Labels["app.kubernetes.io/name"])

			psc := spec.SecurityContext
			require.NotNil(t, psc)
			assert.Equal(t, ptr(true), psc.RunAsNonRoot)
			assert.Equal(t, ptr(int64(65532)), psc.RunAsUser)
			require.NotNil(t, psc.SeccompProfile)
			assert.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, psc.SeccompProfile.Type)
			sc := c.SecurityContext
			require.NotNil(t, sc)
			assert.Equal(t, ptr(false), sc.AllowPrivilegeEscalation)
			assert.Equal(t, ptr(true), sc.ReadOnlyRootFilesystem)
			assert.Equal(t, ptr(true), sc.RunAsNonRoot)
			require.NotNil(t, sc.Capabilities)
			assert.Equal(t, []corev1.Capability{"ALL"}, sc.Capabilities.Drop)
			assert.Empty(t, sc.Capabilities.Add)
			assert.False(t, c.Resources.Requests.Cpu().IsZero(), "cpu request")
			assert.False(t, c.Resources.Requests.Memory().IsZero(), "memory request")
			assert.False(t, c.Resources.Limits.Memory().IsZero(), "memory limit")

			require.NotNil(t, c.ReadinessProbe)
			require.NotNil(t, c.ReadinessProbe.HTTPGet)
			assert.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path)
			require.NotNil(t, c.LivenessProbe)
			require.NotNil(t, c.LivenessProbe.HTTPGet)
			assert.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path)

			e := env(c)
			allowed := append(slices.Clone(commonEnv), serviceEnv[d.Name]...)
			for name := range e {
				assert.Contains(t, allowed, name, "%s does not read %s", d.Name, name)
			}
			assert.Len(t, c.Env, len(e), "an env var is set twice")
			tok := e["AUTH_TOKEN"]
			require.NotNil(t, tok.ValueFrom, "AUTH_TOKEN comes from the Secret")
			require.NotNil(t, tok.ValueFrom.SecretKeyRef)
			assert.Equal(t, "chaos-auth", tok.ValueFrom.SecretKeyRef.Name)
			assert.Equal(t, "AUTH_TOKEN", tok.ValueFrom.SecretKeyRef.Key)
			assert.Equal(t, ":"+strconv.Itoa(int(port)), e["LISTEN_ADDR"].Value)

			svc := r.get(t, "Service", d.Name).(*corev1.Service)
			assert.True(t, labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)))
			require.Len(t, svc.Spec.Ports, 1)
			assert.Equal(t, port, svc.Spec.Ports[0].Port)
			assert.Equal(t, "http", svc.Spec.Ports[0].TargetPort.String())

			// Only the two drivers talk to the API server.
			wantSA := d.Name == "nodekiller" || d.Name == "helmsman"
			assert.Equal(t, wantSA, spec.AutomountServiceAccountToken != nil && *spec.AutomountServiceAccountToken)
			if wantSA {
				assert.Equal(t, d.Name, spec.ServiceAccountName)
			} else {
				assert.Empty(t, spec.ServiceAccountName)
			}
		})
	}
	sec := r.get(t, "Secret", "chaos-auth").(*corev1.Secret)
	assert.NotEmpty(t, sec.StringData["AUTH_TOKEN"])
}

func TestReceiverDeployment(t *testing.T) {
	r := render(t, filepath.Join(repoRoot(t), "deploy", "kubernetes", "base"))
	d := r.get(t, "Deployment", "receiver").(*appsv1.Deployment)
	assert.Equal(t, ptr(int32(3)), d.Spec.Replicas)
	assert.Equal(t, map[string]string{"app.kubernetes.io/name": "receiver", "chaos.target": "receiver"}, d.Spec.Template.Labels)
	spec := d.Spec.Template.Spec
	assert.Equal(t, []corev1.TopologySpreadConstraint{{
		MaxSkew:           1,
		TopologyKey:       "kubernetes.io/hostname",
		WhenUnsatisfiable: corev1.DoNotSchedule,
		LabelSelector:     &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": "receiver"}},
		MatchLabelKeys:    []string{"pod-template-hash"},
	}}, spec.TopologySpreadConstraints)

	c := spec.Containers[0]
	assert.Equal(t, "receiver", c.Name, "the upgrader patches the container named receiver")
	e := env(c)
	assert.Equal(t, "alpha", e["RECEIVER_VERSION"].Value)
	require.NotNil(t, e["NODE_NAME"].ValueFrom)
	assert.Equal(t, "metadata.name", e["NODE_NAME"].ValueFrom.FieldRef.FieldPath, "a node is a pod")
	assert.Equal(t, "http://nodekiller:8001", e["NODEKILLER_URL"].Value)
	delay, err := time.ParseDuration(e["SHUTDOWN_DELAY"].Value)
	require.NoError(t, err)
	assert.Positive(t, delay)
	timeout, err := time.ParseDuration(e["SHUTDOWN_TIMEOUT"].Value)
	require.NoError(t, err)
	require.NotNil(t, spec.TerminationGracePeriodSeconds)
	assert.Greater(t, float64(*spec.TerminationGracePeriodSeconds), (delay + timeout).Seconds(),
		"the kubelet must not SIGKILL a pod still draining")

	svc := r.get(t, "Service", "receiver").(*corev1.Service)
	assert.Equal(t, corev1.ServiceTypeClusterIP, svc.Spec.Type)
	headless := r.get(t, "Service", "receiver-headless").(*corev1.Service)
	assert.Equal(t, corev1.ClusterIPNone, headless.Spec.ClusterIP)
	assert.True(t, headless.Spec.PublishNotReadyAddresses)
	for _, s := range []*corev1.Service{svc, headless} {
		assert.True(t, labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)), s.Name)
		assert.Equal(t, int32(8000), s.Spec.Ports[0].Port)
	}

	pdb := r.get(t, "PodDisruptionBudget", "receiver").(*policyv1.PodDisruptionBudget)
	sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	require.NoError(t, err)
	assert.True(t, sel.Matches(labels.Set(d.Spec.Template.Labels)))
	require.NotNil(t, pdb.Spec.MinAvailable)
	assert.Less(t, pdb.Spec.MinAvailable.IntValue(), int(*d.Spec.Replicas), "a drain can still move one pod")
}

func TestDriversAreConfiguredForKubernetes(t *testing.T) {
	r := render(t, filepath.Join(repoRoot(t), "deploy", "kubernetes", "base"))
	receiver := r.get(t, "Deployment", "receiver").(*appsv1.Deployment)

	nk := r.get(t, "Deployment", "nodekiller").(*appsv1.Deployment)
	e := env(nk.Spec.Template.Spec.Containers[0])
	assert.Equal(t, "kubernetes", e["KILL_DRIVER"].Value)
	assert.Equal(t, "metadata.namespace", e["K8S_NAMESPACE"].ValueFrom.FieldRef.FieldPath)
	assert.Equal(t, "metadata.name", e["POD_NAME"].ValueFrom.FieldRef.FieldPath)
	hm0 := r.get(t, "Deployment", "helmsman").(*appsv1.Deployment)
	assert.Equal(t, "receiver", env(hm0.Spec.Template.Spec.Containers[0])["K8S_DEPLOYMENT"].Value,
		"the helmsman Role's resourceNames name this Deployment")
	sel, err := labels.Parse(e["K8S_SELECTOR"].Value)
	require.NoError(t, err)
	assert.True(t, sel.Matches(labels.Set(receiver.Spec.Template.Labels)), "K8S_SELECTOR picks the receivers")
	for _, d := range r.deployments() {
		if d.Name != "receiver" {
			assert.False(t, sel.Matches(labels.Set(d.Spec.Template.Labels)), "K8S_SELECTOR must not match %s", d.Name)
		}
	}

	hm := r.get(t, "Deployment", "helmsman").(*appsv1.Deployment)
	e = env(hm.Spec.Template.Spec.Containers[0])
	assert.Equal(t, "kubernetes", e["UPGRADE_DRIVER"].Value)
	assert.Equal(t, "receiver", e["K8S_DEPLOYMENT"].Value)
	assert.Equal(t, "metadata.namespace", e["K8S_NAMESPACE"].ValueFrom.FieldRef.FieldPath)
	assert.Equal(t, "receiver-headless:8000", e["TARGET_DNS"].Value)

	pg := r.get(t, "Deployment", "pinger").(*appsv1.Deployment)
	e = env(pg.Spec.Template.Spec.Containers[0])
	assert.Equal(t, "true", e["AUTOSTART"].Value)
	assert.Equal(t, "http://receiver:8000", e["RECEIVER_URL"].Value)
	assert.Equal(t, "http://reaper:8003", e["REAPER_URL"].Value)
	assert.Equal(t, "http://helmsman:8004", e["HELMSMAN_URL"].Value)
}

func TestRolesAreLeastPrivilege(t *testing.T) {
	r := render(t, filepath.Join(repoRoot(t), "deploy", "kubernetes", "base"))
	// Exactly the verbs the drivers call: the killer lists pods (Nodes, Kill), gets one
	// (Serving), deletes one (stop, halt), patches one's label and creates and deletes a
	// NetworkPolicy (partition); the upgrader gets, watches and patches its Deployment and
	// lists its pods.
	want := map[string][]rbacv1.PolicyRule{
		"nodekiller": {
			{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "delete", "patch"}},
			{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"networkpolicies"}, Verbs: []string{"create", "delete"}},
		},
		"helmsman": {
			{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, ResourceNames: []string{"receiver"}, Verbs: []string{"get", "watch", "patch"}},
			{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list"}},
		},
	}
	for name, rules := range want {
		role := r.get(t, "Role", name).(*rbacv1.Role)
		assert.Equal(t, rules, role.Rules, name)
		rb := r.get(t, "RoleBinding", name).(*rbacv1.RoleBinding)
		assert.Equal(t, rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: name}, rb.RoleRef)
		assert.Equal(t, []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: "chaos"}}, rb.Subjects)
		r.get(t, "ServiceAccount", name)
	}
	for _, k := range r.order {
		assert.False(t, strings.HasPrefix(k, "ClusterRole"), "%s: no cluster-wide RBAC", k)
	}
}

func TestKindOverlay(t *testing.T) {
	root := repoRoot(t)
	r := render(t, filepath.Join(root, "deploy", "kubernetes", "overlays", "kind"))
	assert.ElementsMatch(t, wantObjects, r.order)
	for _, d := range r.deployments() {
		for _, c := range d.Spec.Template.Spec.Containers {
			assert.Equal(t, corev1.PullIfNotPresent, c.ImagePullPolicy, "%s: images come from kind load", d.Name)
		}
	}
	_, err := os.Stat(filepath.Join(root, "deploy", "kubernetes", "overlays", "kind", "kind-config.yaml"))
	assert.NoError(t, err)
}

// TestDashboardsConfigMap checks the dashboards ConfigMap: labelled for Grafana's sidecar, one
// key per copy in deploy/kubernetes/base/dashboards, each copy byte-identical to the
// repository's dashboards/<name>.json, and no dashboard left without a copy.
func TestDashboardsConfigMap(t *testing.T) {
	root := repoRoot(t)
	r := render(t, filepath.Join(root, "deploy", "kubernetes", "base"))
	cm := r.get(t, "ConfigMap", "chaos-dashboards").(*corev1.ConfigMap)
	assert.Equal(t, "1", cm.Labels["grafana_dashboard"])

	copies, err := filepath.Glob(filepath.Join(root, "deploy", "kubernetes", "base", "dashboards", "*.json"))
	require.NoError(t, err)
	originals, err := filepath.Glob(filepath.Join(root, "dashboards", "*.json"))
	require.NoError(t, err)
	var keys []string
	for k := range cm.Data {
		keys = append(keys, k)
	}
	var names []string
	for _, c := range copies {
		name := filepath.Base(c)
		names = append(names, name)
		got, err := os.ReadFile(c)
		require.NoError(t, err)
		want, err := os.ReadFile(filepath.Join(root, "dashboards", name))
		require.NoError(t, err, "deploy/kubernetes/base/dashboards/%s has no original in dashboards/", name)
		assert.True(t, bytes.Equal(want, got), "deploy/kubernetes/base/dashboards/%s differs from dashboards/%s: cp dashboards/%s deploy/kubernetes/base/dashboards/", name, name, name)
		assert.Equal(t, string(want), cm.Data[name])
	}
	assert.ElementsMatch(t, names, keys, "configMapGenerator files in deploy/kubernetes/base/kustomization.yaml list every copy")
	for _, o := range originals {
		name := filepath.Base(o)
		assert.Contains(t, names, name, "dashboards/%s has no copy: cp dashboards/%s deploy/kubernetes/base/dashboards/ and list it in the configMapGenerator", name, name)
	}
}

// TestFieldRefsNameTheirAPIVersion: the API server defaults fieldRef.apiVersion to v1 and the
// field is atomic, so a fieldRef without it conflicts on every server-side apply after a
// client-side one.
func TestFieldRefsNameTheirAPIVersion(t *testing.T) {
	r := render(t, filepath.Join(repoRoot(t), "deploy", "kubernetes", "base"))
	n := 0
	for _, d := range r.deployments() {
		for _, c := range d.Spec.Template.Spec.Containers {
			for _, e := range c.Env {
				if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
					n++
					assert.Equal(t, "v1", e.ValueFrom.FieldRef.APIVersion, "%s %s", d.Name, e.Name)
				}
			}
		}
	}
	assert.Equal(t, 4, n, "NODE_NAME, K8S_NAMESPACE twice, POD_NAME")
}

func policy(t *testing.T, r rendered, name string) *admissionv1.ValidatingAdmissionPolicy {
	t.Helper()
	p := r.get(t, "ValidatingAdmissionPolicy", name).(*admissionv1.ValidatingAdmissionPolicy)
	b := r.get(t, "ValidatingAdmissionPolicyBinding", name).(*admissionv1.ValidatingAdmissionPolicyBinding)
	assert.Equal(t, name, b.Spec.PolicyName)
	assert.Equal(t, []admissionv1.ValidationAction{admissionv1.Deny}, b.Spec.ValidationActions)
	assert.Nil(t, b.Spec.MatchResources, "every namespace: the match condition picks the ServiceAccount")
	require.NotNil(t, p.Spec.FailurePolicy)
	assert.Equal(t, admissionv1.Fail, *p.Spec.FailurePolicy, "a policy that cannot run refuses")
	return p
}

func expressions(p *admissionv1.ValidatingAdmissionPolicy) string {
	var b strings.Builder
	for _, v := range p.Spec.Validations {
		b.WriteString(v.Expression + "\n")
	}
	return b.String()
}

func TestAdmissionPoliciesMatchTheDriversServiceAccountsOnly(t *testing.T) {
	r := render(t, filepath.Join(repoRoot(t), "deploy", "kubernetes", "base"))
	for name, sa := range map[string]string{
		"chaossuite-nodekiller-pods": "nodekiller", "chaossuite-nodekiller-networkpolicies": "nodekiller", "chaossuite-helmsman": "helmsman",
	} {
		p := policy(t, r, name)
		require.Len(t, p.Spec.MatchConditions, 1, name)
		assert.Equal(t, "request.userInfo.username == 'system:serviceaccount:' + request.namespace + ':"+sa+"'", p.Spec.MatchConditions[0].Expression, name)
		for _, v := range p.Spec.Validations {
			assert.NotEmpty(t, v.Message, name)
			assert.Equal(t, ptr(metav1.StatusReasonForbidden), v.Reason, name)
		}
	}
}

// The nodekiller's pod policy names the labels the driver uses: the target of K8S_SELECTOR and
// the partition label.
func TestNodekillerPolicyNamesTheDriversLabels(t *testing.T) {
	r := render(t, filepath.Join(repoRoot(t), "deploy", "kubernetes", "base"))
	nk := r.get(t, "Deployment", "nodekiller").(*appsv1.Deployment)
	assert.Equal(t, "chaos.target=receiver", env(nk.Spec.Template.Spec.Containers[0])["K8S_SELECTOR"].Value,
		"admission.yaml spells out this selector: change both")
	p := policy(t, r, "chaossuite-nodekiller-pods")
	all := expressions(p)
	assert.Contains(t, all, "variables.oldLabels['chaos.target'] == 'receiver'")
	assert.Contains(t, all, "'"+kubernetes.PartitionLabel+"'")
	assert.Equal(t, []admissionv1.OperationType{admissionv1.Update, admissionv1.Delete}, p.Spec.MatchConstraints.ResourceRules[0].Operations)
	np := expressions(policy(t, r, "chaossuite-nodekiller-networkpolicies"))
	assert.Contains(t, np, "{'"+kubernetes.PartitionLabel+"': 'true'}")
}

// jsonFields are the JSON names of t's fields.
func jsonFields(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}

// TestHelmsmanPolicyFreezesEveryFieldButTheUpgrade checks that the helmsman's policy compares
// every field of the Deployment spec, the pod spec and each container that client-go knows,
// but those an upgrade changes: a field added to Kubernetes (and so to client-go) fails here
// until admission.yaml freezes it too.
func TestHelmsmanPolicyFreezesEveryFieldButTheUpgrade(t *testing.T) {
	r := render(t, filepath.Join(repoRoot(t), "deploy", "kubernetes", "base"))
	all := expressions(policy(t, r, "chaossuite-helmsman"))
	check := func(typ reflect.Type, allowed []string, format string) {
		for _, f := range jsonFields(typ) {
			if slices.Contains(allowed, f) {
				assert.NotContains(t, all, fmt.Sprintf(format, f, f), "%s.%s is what an upgrade changes", typ.Name(), f)
				continue
			}
			assert.Contains(t, all, fmt.Sprintf(format, f, f), "%s.%s is not frozen", typ.Name(), f)
		}
	}
	check(reflect.TypeOf(appsv1.DeploymentSpec{}), []string{"template", "strategy"}, "object.spec.?%s == oldObject.spec.?%s")
	check(reflect.TypeOf(corev1.PodSpec{}), []string{"containers"}, "variables.pod.?%s == variables.oldPod.?%s")
	check(reflect.TypeOf(corev1.Container{}), []string{"name", "image", "env"}, "c.?%s == o.?%s")
	assert.Contains(t, all, "'chaossuite.dev/upgraded-at'")
	assert.Contains(t, all, "e.name in variables.upgradeEnv ? !has(e.valueFrom)", "the version env is a plain value, never a Secret")
	assert.Equal(t, kubernetes.UpgradedAtAnnotation, "chaossuite.dev/upgraded-at")
	p := r.get(t, "ValidatingAdmissionPolicy", "chaossuite-helmsman").(*admissionv1.ValidatingAdmissionPolicy)
	assert.Equal(t, `['RECEIVER_VERSION', 'RECEIVER_MESSAGE']`, p.Spec.Variables[2].Expression, "the env PatchFor writes")
}
