package kubernetes_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"chaossuite.dev/shared/chaos"
	"chaossuite.dev/shared/chaos/chaostest"
	"chaossuite.dev/shared/chaos/httpdriver"
	"chaossuite.dev/shared/chaos/kubernetes"
)

var webLabels = map[string]string{"app": "web"}

// fakeCluster is the kubernetes driver over client-go's fake clientset, whose patch reactor
// rolls the Deployment out as the deployment controller would, and loopback replicas that
// the pods' IPs dial to.
type fakeCluster struct{}

func (fakeCluster) Versions() (string, string)      { return "alpha", "beta" }
func (fakeCluster) Supports(chaos.UpgradeType) bool { return true }

func (h fakeCluster) New(t *testing.T, s chaostest.Setup) chaos.Upgrader {
	c := newCluster(t, s, func(c *corev1.Container) string { return envOf(c, "RECEIVER_VERSION") })
	return &kubernetes.Upgrader{
		Client: c.cs, Namespace: ns, Deployment: "web",
		HTTP:        &httpdriver.Client{HTTP: c.http, Token: "t", Timeout: time.Second},
		Poll:        10 * time.Millisecond,
		StepTimeout: s.StepTimeout,
	}
}

func TestUpgraderContract(t *testing.T) { chaostest.TestUpgrader(t, fakeCluster{}) }

// imageCluster is fakeCluster with versions that are images (UPGRADE_BY=image): the pods'
// versions come from their spec, their readiness from their Ready condition or, byPath, from
// a GET of READINESS_PATH on them alone (their Ready condition then always says true, so a
// driver that did not ask would take a pod that never serves as ready).
type imageCluster struct{ byPath bool }

func (imageCluster) Versions() (string, string) {
	return "example.com/web:1.4", "example.com/web:1.5"
}

func (imageCluster) Supports(t chaos.UpgradeType) bool { return t != chaos.InPlace }

func (h imageCluster) New(t *testing.T, s chaostest.Setup) chaos.Upgrader {
	from, _ := h.Versions()
	c := newClusterOf(t, s, func(c *corev1.Container) string { return c.Image }, webDeployment(s.Replicas, from, true))
	c.readyByPath = h.byPath
	u := &kubernetes.Upgrader{
		Client: c.cs, Namespace: ns, Deployment: "web", ByImage: true,
		HTTP:  &httpdriver.Client{HTTP: c.http, Token: "t", Timeout: time.Second},
		Probe: c.http, Poll: 10 * time.Millisecond, StepTimeout: s.StepTimeout,
	}
	if h.byPath {
		u.ReadinessPath = "/status/200"
	}
	return u
}

func TestUpgraderContractByImage(t *testing.T) {
	t.Run("pod Ready", func(t *testing.T) { chaostest.TestUpgrader(t, imageCluster{}) })
	t.Run("READINESS_PATH", func(t *testing.T) { chaostest.TestUpgrader(t, imageCluster{byPath: true}) })
}

func envOf(c *corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// simCluster is one fake cluster: the API server, the Deployment "web" and its pods, and the
// loopback replica behind each pod IP.
type simCluster struct {
	t       *testing.T
	cs      *fake.Clientset
	http    *http.Client
	setup   chaostest.Setup
	version func(*corev1.Container) string // what the container's spec says it serves
	// serve, when set, is what pod i of generation gen serves instead of its spec's version.
	serve func(gen int64, i int) string

	// readyByPath leaves every pod's Ready condition true: only its loopback replica says
	// whether it is ready.
	readyByPath bool

	mu    sync.Mutex
	addrs map[string]string // pod IP:8000 -> loopback host:port
}

// webDeployment is a user's Deployment of one container named web serving from.
func webDeployment(n int, from string, byImage bool) *appsv1.Deployment {
	c := corev1.Container{Name: "web", Image: "example.com/web:1.4", Env: []corev1.EnvVar{{Name: "RECEIVER_VERSION", Value: from}}}
	if byImage {
		c = corev1.Container{Name: "web", Image: from}
	}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns, Generation: 1},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(int32(n)),
			Selector: &metav1.LabelSelector{MatchLabels: webLabels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: webLabels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{c}},
			},
		},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: int32(n), UpdatedReplicas: int32(n), ReadyReplicas: int32(n), AvailableReplicas: int32(n)},
	}
}

func newCluster(t *testing.T, s chaostest.Setup, version func(*corev1.Container) string) *simCluster {
	return newClusterOf(t, s, version, webDeployment(s.Replicas, "alpha", false))
}

func newClusterOf(t *testing.T, s chaostest.Setup, version func(*corev1.Container) string, d *appsv1.Deployment) *simCluster {
	c := &simCluster{t: t, cs: fake.NewClientset(d), setup: s, version: version, addrs: map[string]string{}}
	c.http = &http.Client{Transport: &http.Transport{DialContext: c.dial}}
	t.Cleanup(c.http.CloseIdleConnections)
	for i := range s.Replicas {
		c.startPod(1, i, d.Spec.Template, s.Faults[i])
	}
	refuse := false
	for _, f := range s.Faults {
		refuse = refuse || f == chaostest.Refuses
	}
	c.cs.PrependReactor("patch", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if refuse {
			return true, nil, apierrors.NewForbidden(appsv1.Resource("deployments"), "web",
				fmt.Errorf("admission webhook %q denied the request", "policy.example.com"))
		}
		return c.rollOut(a.(k8stesting.PatchActionImpl))
	})
	return c
}

// dial connects to the loopback replica behind a pod IP; an IP no pod has refuses.
func (c *simCluster) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c.mu.Lock()
	to, ok := c.addrs[addr]
	c.mu.Unlock()
	if !ok {
		return nil, &net.OpError{Op: "dial", Net: network, Err: fmt.Errorf("connect %s: connection refused", addr)}
	}
	var d net.Dialer
	return d.DialContext(ctx, network, to)
}

// startPod creates pod i of generation gen from template, with its loopback replica. A pod
// of the first generation takes fault as a replica; a later one with NeverServes never gets
// ready.
func (c *simCluster) startPod(gen int64, i int, template corev1.PodTemplateSpec, fault chaostest.Fault) {
	ready := gen == 1 || fault != chaostest.NeverServes
	replicaFault := fault
	if gen > 1 {
		replicaFault = ""
	}
	spec := template.Spec.DeepCopy()
	v := c.version(&spec.Containers[0])
	if c.serve != nil {
		v = c.serve(gen, i)
	}
	r := chaostest.NewReceiver(c.t, v, replicaFault)
	r.SetReady(ready)
	ip := fmt.Sprintf("10.0.%d.%d", gen, i+1)
	c.mu.Lock()
	c.addrs[ip+":8000"] = r.Addr()
	c.mu.Unlock()
	status := corev1.ConditionTrue
	if !ready && !c.readyByPath {
		status = corev1.ConditionFalse
	}
	name := fmt.Sprintf("web-%d-%d", gen, i)
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: template.Labels, UID: types.UID("uid-" + name)},
		Spec:       *spec,
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, PodIP: ip,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status}},
		},
	}
	if err := c.cs.Tracker().Add(p); err != nil {
		c.t.Errorf("adding pod %s: %v", name, err)
	}
}

// rollOut applies the patch, bumps the generation and, when the template changed, replaces
// every pod with one of the new template and sets the status the controller would.
func (c *simCluster) rollOut(pa k8stesting.PatchActionImpl) (bool, runtime.Object, error) {
	tracker := c.cs.Tracker()
	gvr := appsv1.SchemeGroupVersion.WithResource("deployments")
	if _, _, err := k8stesting.ObjectReaction(tracker)(pa); err != nil {
		return true, nil, err
	}
	obj, err := tracker.Get(gvr, pa.Namespace, pa.Name)
	if err != nil {
		return true, nil, err
	}
	d := obj.(*appsv1.Deployment)
	d.Generation++
	pods, err := tracker.List(corev1.SchemeGroupVersion.WithResource("pods"), corev1.SchemeGroupVersion.WithKind("Pod"), ns)
	if err != nil {
		return true, nil, err
	}
	for _, p := range pods.(*corev1.PodList).Items {
		if err := tracker.Delete(corev1.SchemeGroupVersion.WithResource("pods"), ns, p.Name); err != nil {
			return true, nil, err
		}
	}
	n := int(*d.Spec.Replicas)
	ready := int32(0)
	for i := range n {
		c.startPod(d.Generation, i, d.Spec.Template, c.setup.Faults[i])
		if c.setup.Faults[i] != chaostest.NeverServes || c.readyByPath {
			ready++ // by path, the platform takes every pod as ready
		}
	}
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: int32(n), UpdatedReplicas: int32(n), ReadyReplicas: ready, AvailableReplicas: ready, UnavailableReplicas: int32(n) - ready}
	if err := tracker.Update(gvr, d, pa.Namespace); err != nil {
		return true, nil, err
	}
	return true, d, nil
}
