package kubernetes_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

const ns = "chaos"

var receiverLabels = map[string]string{"app.kubernetes.io/name": "receiver", "chaos.target": "receiver"}

// pod builds a running pod in ns; ready sets its Ready condition.
func pod(name, ip string, lbls map[string]string, ready bool) *corev1.Pod {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: lbls, UID: types.UID("uid-" + name)},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "receiver", Image: "chaossuite/receiver:dev",
			Env: []corev1.EnvVar{{Name: "RECEIVER_VERSION", Value: "alpha"}},
		}}},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, PodIP: ip,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status}},
		},
	}
}

func ptr[T any](v T) *T { return &v }

// deployment is the receiver Deployment as deploy/kubernetes/base has it, rolled out.
func deployment() *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "receiver", Namespace: ns, Generation: 1, Labels: map[string]string{"app.kubernetes.io/name": "receiver"}},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(int32(3)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": "receiver"}},
			Strategy: appsv1.DeploymentStrategy{
				Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{
					MaxSurge: ptr(intstr.FromString("25%")), MaxUnavailable: ptr(intstr.FromString("25%")),
				},
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: receiverLabels, Annotations: map[string]string{"prometheus.io/scrape": "true"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "receiver", Image: "chaossuite/receiver:dev",
					Env: []corev1.EnvVar{
						{Name: "LISTEN_ADDR", Value: ":8000"},
						{Name: "RECEIVER_VERSION", Value: "alpha"},
						{Name: "RECEIVER_MESSAGE", Value: "Alpha Receiver running!"},
						{Name: "AUTH_TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
							LocalObjectReference: corev1.LocalObjectReference{Name: "chaos-auth"}, Key: "AUTH_TOKEN",
						}}},
						{Name: "SHUTDOWN_DELAY", Value: "5s"},
					},
				}}},
			},
		},
		Status: appsv1.DeploymentStatus{
			ObservedGeneration: 1, Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 3,
			Conditions: []appsv1.DeploymentCondition{
				{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable"},
				{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable"},
			},
		},
	}
}

// adminAPI answers the receivers' /admin/config as every pod would, recording calls.
type adminAPI struct {
	mu       sync.Mutex
	versions map[string]string // host -> version served
	calls    []string          // "METHOD host path body"
	down     map[string]bool   // hosts that refuse
}

func (a *adminAPI) RoundTrip(r *http.Request) (*http.Response, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
	}
	a.calls = append(a.calls, strings.TrimSpace(r.Method+" "+r.URL.Host+" "+r.URL.Path+" "+string(body)))
	if a.down[r.URL.Host] {
		return nil, &netError{}
	}
	if a.versions == nil {
		a.versions = map[string]string{}
	}
	if r.Method == http.MethodPut {
		var in struct{ Version string }
		_ = json.Unmarshal(body, &in)
		a.versions[r.URL.Host] = in.Version
	}
	v := a.versions[r.URL.Host]
	if v == "" {
		v = "alpha"
	}
	out, _ := json.Marshal(map[string]any{"version": v, "message": "m", "generation": 2, "node": r.URL.Host})
	return &http.Response{
		StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(out)), Request: r,
	}, nil
}

func (a *adminAPI) Calls() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.calls...)
}

type netError struct{}

func (*netError) Error() string { return "connection refused" }
