// Package kubernetes drives kills and upgrades through the Kubernetes API with client-go.
//
// A node is a pod. The Killer deletes pods chosen among those matching K8S_SELECTOR in
// K8S_NAMESPACE (stop: default grace period, so the receiver drains; halt: grace period 0).
// The Upgrader patches a Deployment's container (the receiver's version env, or any service's
// image with ByImage) and rolling-update strategy and watches the rollout; in-place upgrades
// and resets go to the receiver pods' admin API through the http driver's Client. Both take a kubernetes.Interface, so tests use client-go's fake clientset;
// Connect builds the real one: from the pod's ServiceAccount in a pod, from KUBECONFIG (or
// ~/.kube/config) and its current context outside one, as kubectl does.
package kubernetes

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"chaossuite.dev/shared/config"
	"chaossuite.dev/shared/receiverapi"
)

// Driver is the name both drivers answer to.
const Driver = "kubernetes"

// DefaultPort is the receiver's port on its pod IP.
const DefaultPort = 8000

// serviceAccountNamespace is where Kubernetes mounts the pod's namespace.
const serviceAccountNamespace = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// KillerConfig is the kill driver's environment (nodekiller, KILL_DRIVER=kubernetes).
type KillerConfig struct {
	Namespace string `env:"K8S_NAMESPACE"` // empty: the pod's own namespace
	Selector  string `env:"K8S_SELECTOR" envDefault:"chaos.target=receiver"`
	PodName   string `env:"POD_NAME"`                      // the nodekiller's own pod, never a victim
	Port      int    `env:"TARGET_PORT" envDefault:"8000"` // port the target pods serve on
}

// UpgraderConfig is the upgrade driver's environment (helmsman, UPGRADE_DRIVER=kubernetes).
type UpgraderConfig struct {
	Namespace  string `env:"K8S_NAMESPACE"` // empty: the pod's own namespace
	Deployment string `env:"K8S_DEPLOYMENT" envDefault:"receiver"`
	// Container is the Deployment's container to upgrade; empty: its only one.
	Container string `env:"K8S_CONTAINER"`
	Port      int    `env:"TARGET_PORT" envDefault:"8000"` // port the pods serve on; 0 means 8000
	// ByImage and ReadinessPath are the helmsman's UPGRADE_BY=image and READINESS_PATH, which
	// the docker driver shares: see Upgrader.
	ByImage       bool   `env:"-"`
	ReadinessPath string `env:"-"`
}

// Connection is where the drivers talk to: the API client, the namespace they work in, and
// whether they run in a pod.
type Connection struct {
	Client    kubernetes.Interface
	Namespace string
	InCluster bool
	Source    string // "in-cluster ServiceAccount" or the kubeconfig files and context used
}

// Connect builds the client and namespace the drivers use. In a pod (KUBERNETES_SERVICE_HOST
// set, a ServiceAccount token mounted) it uses the pod's ServiceAccount and namespace.
// Outside one it loads the kubeconfig as kubectl does (KUBECONFIG, a list of files, else
// ~/.kube/config), with its current context's cluster, user and namespace ("default" when
// the context names none). A namespace given (K8S_NAMESPACE) wins over both.
func Connect(namespace string) (Connection, error) {
	cfg, err := rest.InClusterConfig()
	if err == nil {
		ns, err := Namespace(namespace)
		if err != nil {
			return Connection{}, err
		}
		return connection(cfg, ns, true, "in-cluster ServiceAccount")
	}
	if !errors.Is(err, rest.ErrNotInCluster) {
		return Connection{}, fmt.Errorf("kubernetes driver in a pod without a usable ServiceAccount token: %w", err)
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	// No fallback to in-cluster: that was tried above.
	rules.WarnIfAllMissing = false
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{})
	raw, err := loader.RawConfig()
	if err != nil {
		return Connection{}, fmt.Errorf("kubernetes driver outside a pod: reading kubeconfig %s: %w", strings.Join(rules.GetLoadingPrecedence(), ":"), err)
	}
	if raw.CurrentContext == "" {
		return Connection{}, fmt.Errorf("kubernetes driver outside a pod needs a kubeconfig with a current context (KUBECONFIG or ~/.kube/config; looked in %s), or a pod with a ServiceAccount",
			strings.Join(rules.GetLoadingPrecedence(), ":"))
	}
	cfg, err = loader.ClientConfig()
	if err != nil {
		return Connection{}, fmt.Errorf("kubernetes driver outside a pod: kubeconfig context %q: %w", raw.CurrentContext, err)
	}
	ns := namespace
	if ns == "" {
		if ns, _, err = loader.Namespace(); err != nil {
			return Connection{}, fmt.Errorf("kubernetes driver outside a pod: namespace of context %q: %w", raw.CurrentContext, err)
		}
	}
	return connection(cfg, ns, false, fmt.Sprintf("kubeconfig %s, context %q", strings.Join(rules.GetLoadingPrecedence(), ":"), raw.CurrentContext))
}

func connection(cfg *rest.Config, ns string, inCluster bool, source string) (Connection, error) {
	cfg.UserAgent = "chaossuite"
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return Connection{}, err
	}
	return Connection{Client: cs, Namespace: ns, InCluster: inCluster, Source: source}, nil
}

// Namespace returns ns, or when it is empty the namespace the pod runs in.
func Namespace(ns string) (string, error) {
	if ns != "" {
		return ns, nil
	}
	b, err := os.ReadFile(serviceAccountNamespace)
	if err != nil {
		return "", fmt.Errorf("K8S_NAMESPACE is empty and the pod namespace is unknown: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// ForbiddenError is the API server refusing a call for want of RBAC: it names what was refused
// and the Role to extend.
type ForbiddenError struct {
	Verb      string // get, list, watch, delete, patch
	Resource  string // pods, deployments.apps
	Namespace string
	Role      string // the Role in deploy/kubernetes/base that should allow it
	Err       error
}

// Error implements error.
func (e *ForbiddenError) Error() string {
	return fmt.Sprintf("kubernetes API forbids %s on %s in namespace %q: the Role %q bound to this ServiceAccount must allow verb %q on %q (deploy/kubernetes/base/%s.yaml): %v",
		e.Verb, e.Resource, e.Namespace, e.Role, e.Verb, e.Resource, e.Role, e.Err)
}

// Unwrap gives the API error.
func (e *ForbiddenError) Unwrap() error { return e.Err }

// apiError wraps err from verb on resource: a ForbiddenError when RBAC refused it, otherwise
// err with what was being done.
func apiError(err error, verb, resource, ns, role string) error {
	if err == nil {
		return nil
	}
	if apierrors.IsForbidden(err) {
		return &ForbiddenError{Verb: verb, Resource: resource, Namespace: ns, Role: role, Err: err}
	}
	return fmt.Errorf("kubernetes %s %s in namespace %q: %w", verb, resource, ns, err)
}

// IsForbidden reports whether err is an RBAC refusal.
func IsForbidden(err error) bool {
	var f *ForbiddenError
	return errors.As(err, &f) || apierrors.IsForbidden(err)
}

// podReady reports whether the pod is running, not being deleted and its Ready condition true.
func podReady(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func podAddress(p *corev1.Pod, port int) string {
	if p.Status.PodIP == "" {
		return ""
	}
	if port == 0 {
		port = DefaultPort
	}
	ip := p.Status.PodIP
	if strings.Contains(ip, ":") {
		ip = "[" + ip + "]"
	}
	return fmt.Sprintf("http://%s:%d", ip, port)
}

// ConnectKiller builds the kill driver from its environment (see Connect). In a pod, POD_NAME
// falls back to the hostname, which Kubernetes sets to the pod name; outside one there is no
// own pod to spare unless POD_NAME names one.
func ConnectKiller(cfg KillerConfig) (*Killer, Connection, error) {
	conn, err := Connect(cfg.Namespace)
	if err != nil {
		return nil, Connection{}, err
	}
	self := cfg.PodName
	if self == "" && conn.InCluster {
		if self, err = os.Hostname(); err != nil {
			return nil, Connection{}, fmt.Errorf("POD_NAME is empty and the hostname unknown: %w", err)
		}
	}
	k, err := NewKiller(conn.Client, conn.Namespace, cfg.Selector, self)
	if err != nil {
		return nil, Connection{}, err
	}
	k.Port = cfg.Port
	return k, conn, nil
}

// ConnectUpgrader builds the upgrade driver from its environment (see Connect); admin is the
// receivers' admin API client (IN_PLACE, resets, live versions), whose HTTP client also asks
// the pods ReadinessPath.
func ConnectUpgrader(cfg UpgraderConfig, admin *receiverapi.Client) (*Upgrader, Connection, error) {
	if err := cfg.Validate(); err != nil {
		return nil, Connection{}, err
	}
	conn, err := Connect(cfg.Namespace)
	if err != nil {
		return nil, Connection{}, err
	}
	return NewUpgrader(conn.Client, conn.Namespace, cfg, admin), conn, nil
}

// Validate checks cfg without the API server: a Deployment named, a port, a readiness path
// that is a path. Each error is a *config.Error naming its setting (config.Load and
// ConnectUpgrader call it).
func (cfg UpgraderConfig) Validate() error {
	switch {
	case cfg.Deployment == "":
		return config.Invalid("K8S_DEPLOYMENT", "", "the name of the Deployment to upgrade")
	case cfg.Port < 0 || cfg.Port > 65535:
		return config.Invalid("TARGET_PORT", strconv.Itoa(cfg.Port), "the port the pods serve on, 1 to 65535")
	case cfg.ReadinessPath != "" && !strings.HasPrefix(cfg.ReadinessPath, "/"):
		return config.Invalid("READINESS_PATH", cfg.ReadinessPath, "a path such as /status/200")
	}
	return nil
}

// NewUpgrader builds the upgrade driver of cfg over client in namespace; admin is the
// receivers' admin API client, nil for none.
func NewUpgrader(client kubernetes.Interface, namespace string, cfg UpgraderConfig, admin *receiverapi.Client) *Upgrader {
	u := &Upgrader{
		Client: client, Namespace: namespace, Deployment: cfg.Deployment, Container: cfg.Container, Port: cfg.Port,
		ByImage: cfg.ByImage, ReadinessPath: cfg.ReadinessPath, HTTP: admin,
	}
	if admin != nil {
		u.Probe = admin.HTTP
	}
	return u
}
