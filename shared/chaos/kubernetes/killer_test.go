package kubernetes_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"chaossuite.dev/shared/chaos"
	"chaossuite.dev/shared/chaos/kubernetes"
)

const self = "nodekiller-7d9f-abcde"

// cluster holds three receivers (one not ready), the nodekiller itself (labelled like a
// receiver on purpose), another service's pod, and a receiver in another namespace.
func cluster() *fake.Clientset {
	other := pod("receiver-elsewhere", "10.0.9.1", receiverLabels, true)
	other.Namespace = "other"
	return fake.NewClientset(
		pod("receiver-a", "10.0.0.1", receiverLabels, true),
		pod("receiver-b", "10.0.0.2", receiverLabels, true),
		pod("receiver-c", "10.0.0.3", receiverLabels, false),
		pod(self, "10.0.0.9", map[string]string{"chaos.target": "receiver", "app.kubernetes.io/name": "nodekiller"}, true),
		pod("pinger-1", "10.0.0.5", map[string]string{"app.kubernetes.io/name": "pinger"}, true),
		other,
	)
}

func newKiller(t *testing.T, cs *fake.Clientset) *kubernetes.Killer {
	t.Helper()
	k, err := kubernetes.NewKiller(cs, ns, "chaos.target=receiver", self)
	require.NoError(t, err)
	return k
}

func TestNodesHonourSelectorNamespaceAndNeverSelf(t *testing.T) {
	k := newKiller(t, cluster())
	nodes, err := k.Nodes(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []chaos.Node{
		{Name: "receiver-a", Address: "http://10.0.0.1:8000", Ready: true},
		{Name: "receiver-b", Address: "http://10.0.0.2:8000", Ready: true},
		{Name: "receiver-c", Address: "http://10.0.0.3:8000", Ready: false},
	}, nodes)
}

func TestNodesLeaveOutTerminatingPodsAndMarkPendingNotReady(t *testing.T) {
	dying := pod("receiver-d", "10.0.0.4", receiverLabels, true)
	dying.DeletionTimestamp = &metav1.Time{Time: time.Unix(1, 0)}
	dying.Finalizers = []string{"test/keep"}
	pending := pod("receiver-e", "", receiverLabels, false)
	pending.Status.Phase = corev1.PodPending
	k := newKiller(t, fake.NewClientset(dying, pending))
	nodes, err := k.Nodes(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []chaos.Node{{Name: "receiver-e"}}, nodes)
}

func TestNewKillerRejectsEmptyOrBadSelectors(t *testing.T) {
	for _, sel := range []string{"", "chaos.target in (", "==x"} {
		_, err := kubernetes.NewKiller(fake.NewClientset(), ns, sel, self)
		assert.Error(t, err, sel)
	}
}

func TestVictimSelection(t *testing.T) {
	tests := []struct {
		name         string
		minAvailable int
		target       string
		want         []string // acceptable victims; none means ErrNoVictim
	}{
		{name: "random among ready, never self", minAvailable: 0, want: []string{"receiver-a", "receiver-b"}},
		{name: "min available 1 leaves one of the two ready", minAvailable: 1, want: []string{"receiver-a", "receiver-b"}},
		{name: "min available 2 refuses: only two ready", minAvailable: 2},
		{name: "named target", minAvailable: 1, target: "receiver-b", want: []string{"receiver-b"}},
		{name: "not-ready target breaks nothing", minAvailable: 2, target: "receiver-c", want: []string{"receiver-c"}},
		{name: "self is never eligible", target: self},
		{name: "another service's pod is never eligible", target: "pinger-1"},
		{name: "another namespace is never eligible", target: "receiver-elsewhere"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newKiller(t, cluster())
			sel := &chaos.Selector{Policy: chaos.Random, MinAvailable: tt.minAvailable}
			for range 20 {
				nodes, err := k.Nodes(context.Background())
				require.NoError(t, err)
				v, err := sel.Pick(nodes, tt.target)
				if len(tt.want) == 0 {
					require.ErrorIs(t, err, chaos.ErrNoVictim)
					return
				}
				require.NoError(t, err)
				assert.Contains(t, tt.want, v.Name)
			}
		})
	}
}

func TestRoundRobinNeverPicksSelf(t *testing.T) {
	k := newKiller(t, cluster())
	sel := &chaos.Selector{Policy: chaos.RoundRobin}
	var got []string
	for range 4 {
		nodes, err := k.Nodes(context.Background())
		require.NoError(t, err)
		v, err := sel.Pick(nodes, "")
		require.NoError(t, err)
		got = append(got, v.Name)
	}
	assert.Equal(t, []string{"receiver-a", "receiver-b", "receiver-a", "receiver-b"}, got)
}

func deletes(cs *fake.Clientset) []k8stesting.DeleteActionImpl {
	var out []k8stesting.DeleteActionImpl
	for _, a := range cs.Actions() {
		if d, ok := a.(k8stesting.DeleteActionImpl); ok {
			out = append(out, d)
		}
	}
	return out
}

func TestKillDeletesThePod(t *testing.T) {
	tests := []struct {
		method chaos.KillMethod
		grace  *int64
	}{
		{chaos.Stop, nil},           // the pod's own grace period: SIGTERM, drain
		{chaos.Halt, ptr(int64(0))}, // at once
	}
	for _, tt := range tests {
		t.Run(string(tt.method), func(t *testing.T) {
			cs := cluster()
			k := newKiller(t, cs)
			require.NoError(t, k.Kill(context.Background(), chaos.Node{Name: "receiver-a"}, tt.method, 0))
			d := deletes(cs)
			require.Len(t, d, 1)
			assert.Equal(t, "receiver-a", d[0].Name)
			assert.Equal(t, ns, d[0].Namespace)
			assert.Equal(t, tt.grace, d[0].DeleteOptions.GracePeriodSeconds)
			require.NotNil(t, d[0].DeleteOptions.Preconditions)
			assert.Equal(t, "uid-receiver-a", string(*d[0].DeleteOptions.Preconditions.UID))
			_, err := cs.CoreV1().Pods(ns).Get(context.Background(), "receiver-a", metav1.GetOptions{})
			assert.True(t, apierrors.IsNotFound(err))
		})
	}
}

func TestKillRefusesWhatItMustNotTouch(t *testing.T) {
	tests := []struct {
		name   string
		node   string
		method chaos.KillMethod
		want   string
	}{
		{"self", self, chaos.Stop, "own pod"},
		{"other service", "pinger-1", chaos.Halt, "not one of the pods"},
		{"other namespace", "receiver-elsewhere", chaos.Stop, "not one of the pods"},
		{"gone", "receiver-z", chaos.Stop, "not one of the pods"},
		{"pause", "receiver-a", chaos.Pause, "cannot pause"},
		{"partition another service", "pinger-1", chaos.Partition, "not one of the pods"},
		{"partition self", self, chaos.Partition, "own pod"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := cluster()
			k := newKiller(t, cs)
			err := k.Kill(context.Background(), chaos.Node{Name: tt.node}, tt.method, time.Second)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Empty(t, deletes(cs))
			assert.Empty(t, writes(cs), "nothing labelled or created")
		})
	}
	k := newKiller(t, cluster())
	assert.True(t, k.Supports(chaos.Stop))
	assert.True(t, k.Supports(chaos.Halt))
	assert.False(t, k.Supports(chaos.Pause))
	assert.True(t, k.Supports(chaos.Partition))
	assert.Equal(t, "kubernetes", k.Driver())
}

func forbid(cs *fake.Clientset, verb, resource string) {
	cs.PrependReactor(verb, resource, func(a k8stesting.Action) (bool, runtime.Object, error) {
		gr := schema.GroupResource{Group: a.GetResource().Group, Resource: resource}
		return true, nil, apierrors.NewForbidden(gr, "", errors.New("User \"system:serviceaccount:chaos:x\" cannot "+verb+" resource"))
	})
}

func TestKillerRBACErrorsNameVerbResourceAndRole(t *testing.T) {
	for _, verb := range []string{"list", "delete"} {
		t.Run(verb, func(t *testing.T) {
			cs := cluster()
			forbid(cs, verb, "pods")
			k := newKiller(t, cs)
			var err error
			if verb == "list" {
				_, err = k.Nodes(context.Background())
			} else {
				err = k.Kill(context.Background(), chaos.Node{Name: "receiver-a"}, chaos.Stop, 0)
			}
			require.Error(t, err)
			var f *kubernetes.ForbiddenError
			require.ErrorAs(t, err, &f)
			assert.Equal(t, verb, f.Verb)
			assert.Equal(t, "pods", f.Resource)
			assert.Equal(t, "nodekiller", f.Role)
			assert.True(t, kubernetes.IsForbidden(err))
			assert.True(t, apierrors.IsForbidden(err), "the API error stays reachable")
			assert.Contains(t, err.Error(), `must allow verb "`+verb+`" on "pods"`)
			assert.Contains(t, err.Error(), `Role "nodekiller"`)
		})
	}
}

func TestServingAfterKill(t *testing.T) {
	ctx := context.Background()
	cs := cluster()
	k := newKiller(t, cs)
	assert.False(t, k.Serving(ctx, chaos.Node{Name: "receiver-x"}), "unknown pod, never killed")

	require.NoError(t, k.Kill(ctx, chaos.Node{Name: "receiver-a"}, chaos.Halt, 0))
	assert.False(t, k.Serving(ctx, chaos.Node{Name: "receiver-a"}), "one ready of the two before")

	// The ReplicaSet's replacement starts under a new name, not ready yet, then ready.
	repl := pod("receiver-n", "10.0.0.7", receiverLabels, false)
	_, err := cs.CoreV1().Pods(ns).Create(ctx, repl, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.False(t, k.Serving(ctx, chaos.Node{Name: "receiver-a"}))
	repl.Status.Conditions[0].Status = corev1.ConditionTrue
	_, err = cs.CoreV1().Pods(ns).UpdateStatus(ctx, repl, metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.True(t, k.Serving(ctx, chaos.Node{Name: "receiver-a"}))
}

func TestServingWhenThePodComesBackUnderItsName(t *testing.T) {
	ctx := context.Background()
	cs := cluster()
	k := newKiller(t, cs)
	require.NoError(t, k.Kill(ctx, chaos.Node{Name: "receiver-b"}, chaos.Stop, 0))
	back := pod("receiver-b", "10.0.0.8", receiverLabels, true)
	back.UID = "uid-new"
	_, err := cs.CoreV1().Pods(ns).Create(ctx, back, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.True(t, k.Serving(ctx, chaos.Node{Name: "receiver-b"}))
}

// writes are the patches and creates the killer made.
func writes(cs *fake.Clientset) []string {
	var out []string
	for _, a := range cs.Actions() {
		switch a := a.(type) {
		case k8stesting.PatchActionImpl:
			out = append(out, "patch "+a.GetResource().Resource+"/"+a.Name+" "+string(a.GetPatch()))
		case k8stesting.CreateActionImpl:
			out = append(out, "create "+a.GetResource().Resource)
		case k8stesting.DeleteActionImpl:
			if a.GetResource().Resource != "pods" {
				out = append(out, "delete "+a.GetResource().Resource+"/"+a.Name)
			}
		}
	}
	return out
}

func partitionPolicies(t *testing.T, cs *fake.Clientset) []networkingv1.NetworkPolicy {
	t.Helper()
	list, err := cs.NetworkingV1().NetworkPolicies(ns).List(context.Background(), metav1.ListOptions{})
	require.NoError(t, err)
	return list.Items
}

func podLabels(t *testing.T, cs *fake.Clientset, name string) map[string]string {
	t.Helper()
	p, err := cs.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
	require.NoError(t, err)
	return p.Labels
}

func TestPartitionLabelsThePodAndDeniesItsTrafficForTheDuration(t *testing.T) {
	ctx := context.Background()
	cs := cluster()
	k := newKiller(t, cs)
	t.Cleanup(func() { _ = k.Close() })
	require.NoError(t, k.Kill(ctx, chaos.Node{Name: "receiver-a"}, chaos.Partition, 300*time.Millisecond))

	assert.Equal(t, "true", podLabels(t, cs, "receiver-a")[kubernetes.PartitionLabel])
	assert.NotContains(t, podLabels(t, cs, "receiver-b"), kubernetes.PartitionLabel)
	pols := partitionPolicies(t, cs)
	require.Len(t, pols, 1)
	p := pols[0]
	assert.Equal(t, "chaos-partition-receiver-a", p.Name)
	assert.Equal(t, "receiver-a", p.Labels[kubernetes.PartitionPolicyLabel])
	assert.Equal(t, "nodekiller", p.Labels["app.kubernetes.io/managed-by"])
	assert.Equal(t, metav1.LabelSelector{MatchLabels: map[string]string{kubernetes.PartitionLabel: "true"}}, p.Spec.PodSelector)
	assert.Equal(t, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}, p.Spec.PolicyTypes)
	assert.Empty(t, p.Spec.Ingress, "no ingress allowed")
	assert.Empty(t, p.Spec.Egress, "no egress allowed")
	assert.Equal(t, []string{"receiver-a"}, k.Partitioned())
	assert.Empty(t, deletes(cs), "a partition deletes no pod")

	err := k.Kill(ctx, chaos.Node{Name: "receiver-a"}, chaos.Partition, time.Second)
	assert.ErrorContains(t, err, "already partitioned")

	require.Eventually(t, func() bool { return len(k.Partitioned()) == 0 }, 10*time.Second, 5*time.Millisecond)
	assert.Empty(t, partitionPolicies(t, cs))
	assert.NotContains(t, podLabels(t, cs, "receiver-a"), kubernetes.PartitionLabel)
	assert.Equal(t, receiverLabels, podLabels(t, cs, "receiver-a"), "its other labels untouched")
	assert.Equal(t, []string{
		`patch pods/receiver-a {"metadata":{"labels":{"chaossuite.dev/partitioned":"true"},"uid":"uid-receiver-a"}}`,
		"create networkpolicies",
		"delete networkpolicies/chaos-partition-receiver-a",
		`patch pods/receiver-a {"metadata":{"labels":{"chaossuite.dev/partitioned":null}}}`,
	}, writes(cs))
}

func TestCloseHealsPartitionsAtOnce(t *testing.T) {
	cs := cluster()
	k := newKiller(t, cs)
	require.NoError(t, k.Kill(context.Background(), chaos.Node{Name: "receiver-b"}, chaos.Partition, time.Hour))
	require.Len(t, partitionPolicies(t, cs), 1)
	require.NoError(t, k.Close())
	assert.Empty(t, partitionPolicies(t, cs))
	assert.NotContains(t, podLabels(t, cs, "receiver-b"), kubernetes.PartitionLabel)
	assert.Empty(t, k.Partitioned())
}

// A heal that fails is told through the killer's logger, the service's own.
func TestAFailedHealIsLogged(t *testing.T) {
	cs := cluster()
	k := newKiller(t, cs)
	var logged bytes.Buffer
	k.Logger = slog.New(slog.NewTextHandler(&logged, nil))
	require.NoError(t, k.Kill(context.Background(), chaos.Node{Name: "receiver-b"}, chaos.Partition, time.Hour))
	forbid(cs, "delete", "networkpolicies")
	require.NoError(t, k.Close())
	assert.Contains(t, logged.String(), "healing a partition failed")
	assert.Contains(t, logged.String(), "pod=receiver-b")
}

func TestPartitionRefusedByRBACLeavesNothingBehind(t *testing.T) {
	cs := cluster()
	forbid(cs, "create", "networkpolicies")
	k := newKiller(t, cs)
	t.Cleanup(func() { _ = k.Close() })
	err := k.Kill(context.Background(), chaos.Node{Name: "receiver-a"}, chaos.Partition, time.Minute)
	var f *kubernetes.ForbiddenError
	require.ErrorAs(t, err, &f)
	assert.Equal(t, "create", f.Verb)
	assert.Equal(t, "networkpolicies.networking.k8s.io", f.Resource)
	assert.NotContains(t, podLabels(t, cs, "receiver-a"), kubernetes.PartitionLabel, "the label is taken off again")
	assert.Empty(t, k.Partitioned())
}

func TestPartitionNeedsADuration(t *testing.T) {
	cs := cluster()
	k := newKiller(t, cs)
	assert.ErrorContains(t, k.Kill(context.Background(), chaos.Node{Name: "receiver-a"}, chaos.Partition, 0), "duration")
	assert.Empty(t, writes(cs))
}

// The selection is the same for any Deployment: the pods K8S_SELECTOR matches in the killer's
// namespace, never one elsewhere, never one the selector does not match, never the killer's
// own even when it carries the target's labels; every other pod's kill is refused untouched.
func TestSelectionWorksForAnyDeployment(t *testing.T) {
	web := map[string]string{"app": "web", "tier": "frontend"}
	elsewhere := pod("web-elsewhere", "10.0.9.1", web, true)
	elsewhere.Namespace = "other"
	tests := []struct {
		selector string
		want     []string
	}{
		{"app=web", []string{"web-1", "web-2"}},
		{"app=web,tier in (frontend)", []string{"web-1", "web-2"}},
		{"app in (web),!canary", []string{"web-1", "web-2"}},
		{"app.kubernetes.io/name=receiver", nil},
	}
	for _, tt := range tests {
		t.Run(tt.selector, func(t *testing.T) {
			canary := pod("web-canary", "10.0.0.3", map[string]string{"app": "web-canary", "tier": "frontend"}, true)
			cs := fake.NewClientset(
				pod("web-1", "10.0.0.1", web, true), pod("web-2", "10.0.0.2", web, true), canary,
				pod(self, "10.0.0.9", web, true), elsewhere.DeepCopy(),
			)
			k, err := kubernetes.NewKiller(cs, ns, tt.selector, self)
			require.NoError(t, err)
			k.Port = 8080
			t.Cleanup(func() { _ = k.Close() })
			nodes, err := k.Nodes(context.Background())
			require.NoError(t, err)
			var names []string
			for _, n := range nodes {
				names = append(names, n.Name)
				assert.Equal(t, "http://"+map[string]string{"web-1": "10.0.0.1", "web-2": "10.0.0.2"}[n.Name]+":8080", n.Address)
			}
			assert.Equal(t, tt.want, names)
			for _, victim := range []string{self, "web-canary", "web-elsewhere"} {
				assert.Error(t, k.Kill(context.Background(), chaos.Node{Name: victim}, chaos.Stop, 0), victim)
			}
			for _, a := range cs.Actions() {
				assert.NotEqual(t, "delete", a.GetVerb(), "nothing deleted: %v", a)
			}
			if len(tt.want) > 0 {
				require.NoError(t, k.Kill(context.Background(), chaos.Node{Name: "web-2"}, chaos.Halt, 0))
				_, err := cs.CoreV1().Pods("other").Get(context.Background(), "web-elsewhere", metav1.GetOptions{})
				assert.NoError(t, err, "the namesake elsewhere lives")
			}
		})
	}
}
