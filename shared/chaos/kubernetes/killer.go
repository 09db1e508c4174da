package kubernetes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"chaossuite.dev/shared/chaos"
)

// killerRole is the Role the nodekiller's ServiceAccount is bound to.
const killerRole = "nodekiller"

// Killer kills the target pods (those K8S_SELECTOR matches in its namespace, of any
// Deployment or none) through the Kubernetes API: stop deletes the pod with its own
// grace period (SIGTERM, the receiver drains), halt deletes it with grace period 0. Partition
// labels the pod PartitionLabel=true and creates a NetworkPolicy that selects it and allows no
// ingress and no egress; after the duration (or at Close) it deletes the policy and takes the
// label off. It cuts the pod off only where the cluster's network plugin enforces
// NetworkPolicy. Pause needs the node's container runtime and is not supported.
//
// Recovery (chaos.Prober): a deleted pod never comes back under its name; its ReplicaSet
// starts a replacement under a new one. A killed node counts as serving again when a pod of
// that name is ready again (a StatefulSet), or when as many pods matching the selector are
// ready as were ready just before the kill, which is the Deployment's ready replicas back to
// what they were. This needs nothing beyond the pods the Role already grants.
type Killer struct {
	Client    kubernetes.Interface
	Namespace string
	Selector  labels.Selector
	Self      string       // the killer's own pod name (POD_NAME), never a victim
	Port      int          // port the target pods serve on (TARGET_PORT); 0 means 8000
	Logger    *slog.Logger // where a failed heal is told; nil: slog's default

	mu     sync.Mutex
	killed map[string]kill // by pod name
	heals  *chaos.Undos    // the partitions not healed yet; they heal at once at Close
	cancel context.CancelFunc
}

// PartitionLabel marks a partitioned pod; the partition's NetworkPolicy selects it.
const PartitionLabel = "chaossuite.dev/partitioned"

// PartitionPolicyLabel names, on a partition's NetworkPolicy, the pod it cuts off.
const PartitionPolicyLabel = "chaossuite.dev/partition"

// PartitionPolicyName is the NetworkPolicy that partitions pod.
func PartitionPolicyName(pod string) string { return "chaos-partition-" + pod }

type kill struct {
	uid   types.UID
	ready int // pods ready just before the kill, the victim included
	at    time.Time
}

// forgetAfter bounds the kill records of victims nobody asked about again.
const forgetAfter = time.Hour

// NewKiller builds a killer of the pods matching selector in namespace.
func NewKiller(client kubernetes.Interface, namespace, selector, self string) (*Killer, error) {
	sel, err := labels.Parse(selector)
	if err != nil {
		return nil, fmt.Errorf("K8S_SELECTOR %q: %w", selector, err)
	}
	if sel.Empty() {
		return nil, fmt.Errorf("K8S_SELECTOR is empty: it would match every pod in %s, name the target pods (such as app=web or chaos.target=receiver)", namespace)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Killer{Client: client, Namespace: namespace, Selector: sel, Self: self, heals: chaos.NewUndos(ctx), cancel: cancel}, nil
}

// Close heals the pending partitions at once and waits for them.
func (k *Killer) Close() error {
	k.cancel()
	k.heals.Wait()
	return nil
}

// Driver implements chaos.Killer.
func (k *Killer) Driver() string { return Driver }

// Supports implements chaos.Killer: stop, halt and partition.
func (k *Killer) Supports(m chaos.KillMethod) bool {
	return m == chaos.Stop || m == chaos.Halt || m == chaos.Partition
}

// pods lists the eligible pods: matching the selector, never the killer's own, sorted by name.
func (k *Killer) pods(ctx context.Context) ([]corev1.Pod, error) {
	list, err := k.Client.CoreV1().Pods(k.Namespace).List(ctx, metav1.ListOptions{LabelSelector: k.Selector.String()})
	if err != nil {
		return nil, apiError(err, "list", "pods", k.Namespace, killerRole)
	}
	pods := make([]corev1.Pod, 0, len(list.Items))
	for _, p := range list.Items {
		// The API server filters by label already; a second check keeps the safety rule true
		// whatever answered the list.
		if p.Name == k.Self || !k.Selector.Matches(labels.Set(p.Labels)) {
			continue
		}
		pods = append(pods, p)
	}
	slices.SortFunc(pods, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	return pods, nil
}

// Nodes implements chaos.Killer: every eligible pod, ready when its Ready condition is true and
// it is not being deleted. Pods already terminating are left out: they are dying.
func (k *Killer) Nodes(ctx context.Context) ([]chaos.Node, error) {
	pods, err := k.pods(ctx)
	if err != nil {
		return nil, err
	}
	nodes := make([]chaos.Node, 0, len(pods))
	for i := range pods {
		p := &pods[i]
		if p.DeletionTimestamp != nil {
			continue
		}
		nodes = append(nodes, chaos.Node{Name: p.Name, Address: podAddress(p, k.Port), Ready: podReady(p)})
	}
	return nodes, nil
}

// Kill implements chaos.Killer. The victim must still be an eligible pod; the delete carries
// its UID as a precondition, so a replacement that took the name is never hit.
func (k *Killer) Kill(ctx context.Context, n chaos.Node, m chaos.KillMethod, d time.Duration) error {
	if !k.Supports(m) {
		return fmt.Errorf("the kubernetes driver cannot %s a pod (stop, halt and partition only)", m)
	}
	if n.Name == k.Self {
		return fmt.Errorf("refusing to kill %s: it is the nodekiller's own pod", n.Name)
	}
	pods, err := k.pods(ctx)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(pods, func(p corev1.Pod) bool { return p.Name == n.Name })
	if i < 0 {
		return fmt.Errorf("pod %s is not one of the pods matching %q in %s", n.Name, k.Selector, k.Namespace)
	}
	victim := pods[i]
	if m == chaos.Partition {
		return k.partition(ctx, victim, d)
	}
	ready := 0
	for j := range pods {
		if podReady(&pods[j]) {
			ready++
		}
	}
	opts := metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &victim.UID}}
	if m == chaos.Halt {
		zero := int64(0)
		opts.GracePeriodSeconds = &zero
	}
	if err := k.Client.CoreV1().Pods(k.Namespace).Delete(ctx, victim.Name, opts); err != nil {
		return apiError(err, "delete", "pods", k.Namespace, killerRole)
	}
	k.mu.Lock()
	if k.killed == nil {
		k.killed = map[string]kill{}
	}
	now := time.Now()
	for name, r := range k.killed {
		if now.Sub(r.at) > forgetAfter {
			delete(k.killed, name)
		}
	}
	k.killed[victim.Name] = kill{uid: victim.UID, ready: ready, at: now}
	k.mu.Unlock()
	return nil
}

// Serving implements chaos.Prober: the pod of that name is ready again (not the one killed), or
// the ready pods are back to their count before the kill.
func (k *Killer) Serving(ctx context.Context, n chaos.Node) bool {
	k.mu.Lock()
	before, killed := k.killed[n.Name]
	k.mu.Unlock()

	p, err := k.Client.CoreV1().Pods(k.Namespace).Get(ctx, n.Name, metav1.GetOptions{})
	switch {
	case err == nil && podReady(p) && (!killed || p.UID != before.uid):
		k.forget(n.Name)
		return true
	case err != nil && !apierrors.IsNotFound(err):
		return false
	case !killed:
		return false
	}
	pods, err := k.pods(ctx)
	if err != nil {
		return false
	}
	ready := 0
	for i := range pods {
		if podReady(&pods[i]) {
			ready++
		}
	}
	if ready >= before.ready {
		k.forget(n.Name)
		return true
	}
	return false
}

// partition cuts victim off for d: the label, then the deny-all NetworkPolicy selecting it.
// The label patch carries the pod's UID, so a replacement under the same name is never hit.
func (k *Killer) partition(ctx context.Context, victim corev1.Pod, d time.Duration) error {
	if d <= 0 {
		return errors.New("a partition needs a duration")
	}
	if slices.Contains(k.heals.Pending(), victim.Name) {
		return fmt.Errorf("pod %s is already partitioned", victim.Name)
	}
	label, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"uid": victim.UID, "labels": map[string]string{PartitionLabel: "true"},
	}})
	if err != nil {
		return err
	}
	pods := k.Client.CoreV1().Pods(k.Namespace)
	if _, err := pods.Patch(ctx, victim.Name, types.MergePatchType, label, metav1.PatchOptions{FieldManager: "nodekiller"}); err != nil {
		return apiError(err, "patch", "pods", k.Namespace, killerRole)
	}
	policy := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{
			Name: PartitionPolicyName(victim.Name), Namespace: k.Namespace,
			Labels: map[string]string{PartitionPolicyLabel: victim.Name, "app.kubernetes.io/managed-by": "nodekiller"},
		},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{PartitionLabel: "true"}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
		},
	}
	heal := func(ctx context.Context) error {
		var errs []error
		err := k.Client.NetworkingV1().NetworkPolicies(k.Namespace).Delete(ctx, policy.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, apiError(err, "delete", "networkpolicies.networking.k8s.io", k.Namespace, killerRole))
		}
		unlabel := []byte(`{"metadata":{"labels":{"` + PartitionLabel + `":null}}}`)
		_, err = pods.Patch(ctx, victim.Name, types.MergePatchType, unlabel, metav1.PatchOptions{FieldManager: "nodekiller"})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, apiError(err, "patch", "pods", k.Namespace, killerRole))
		}
		return errors.Join(errs...)
	}
	if _, err := k.Client.NetworkingV1().NetworkPolicies(k.Namespace).Create(ctx, policy, metav1.CreateOptions{FieldManager: "nodekiller"}); err != nil {
		err = apiError(err, "create", "networkpolicies.networking.k8s.io", k.Namespace, killerRole)
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		return errors.Join(err, heal(hctx))
	}
	k.heals.After(victim.Name, d, func(ctx context.Context) {
		if err := heal(ctx); err != nil {
			log := k.Logger
			if log == nil {
				log = slog.Default()
			}
			log.Warn("healing a partition failed", "pod", victim.Name, "error", err)
		}
	})
	return nil
}

// Partitioned lists the pods whose partition is not healed yet.
func (k *Killer) Partitioned() []string { return k.heals.Pending() }

func (k *Killer) forget(name string) {
	k.mu.Lock()
	delete(k.killed, name)
	k.mu.Unlock()
}

var (
	_ chaos.Killer = (*Killer)(nil)
	_ chaos.Prober = (*Killer)(nil)
)
