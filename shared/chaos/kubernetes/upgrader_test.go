package kubernetes_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"chaossuite.dev/shared/chaos"
	"chaossuite.dev/shared/chaos/httpdriver"
	"chaossuite.dev/shared/chaos/kubernetes"
)

var at = time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)

func newUpgrader(cs *fake.Clientset, api *adminAPI) *kubernetes.Upgrader {
	u := &kubernetes.Upgrader{
		Client: cs, Namespace: ns, Deployment: "receiver",
		Poll: 5 * time.Millisecond, Now: func() time.Time { return at }, StepTimeout: 5 * time.Second,
	}
	if api != nil {
		u.HTTP = &httpdriver.Client{HTTP: &http.Client{Transport: api}, Token: "t"}
	}
	return u
}

func patches(cs *fake.Clientset) []k8stesting.PatchActionImpl {
	var out []k8stesting.PatchActionImpl
	for _, a := range cs.Actions() {
		if p, ok := a.(k8stesting.PatchActionImpl); ok {
			out = append(out, p)
		}
	}
	return out
}

// TestPatchChangesExactlyTheVersionAndStrategy patches the Deployment for ROLLOUT and MAX_SURGE
// and compares the whole result with the original: only the version env, the message env, the
// upgraded-at annotation and the rolling-update strategy may differ.
func TestPatchChangesExactlyTheVersionAndStrategy(t *testing.T) {
	tests := []struct {
		name                     string
		plan                     chaos.UpgradePlan
		maxSurge, maxUnavailable intstr.IntOrString
		message                  string
	}{
		{
			name:     "ROLLOUT",
			plan:     chaos.UpgradePlan{Type: chaos.Rollout, Version: "beta"},
			maxSurge: intstr.FromInt32(0), maxUnavailable: intstr.FromInt32(1),
			message: "Beta Receiver running!",
		},
		{
			name:     "MAX_SURGE 50%",
			plan:     chaos.UpgradePlan{Type: chaos.MaxSurge, SurgePercent: 50, Version: "beta", Message: "hello"},
			maxSurge: intstr.FromString("50%"), maxUnavailable: intstr.FromInt32(0),
			message: "hello",
		},
		{
			name:     "MAX_SURGE 20%",
			plan:     chaos.UpgradePlan{Type: chaos.MaxSurge, SurgePercent: 20, Version: "gamma"},
			maxSurge: intstr.FromString("20%"), maxUnavailable: intstr.FromInt32(0),
			message: "Gamma Receiver running!",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := deployment()
			cs := fake.NewClientset(orig.DeepCopy())
			got, err := newUpgrader(cs, nil).Patch(context.Background(), tt.plan)
			require.NoError(t, err)

			p := patches(cs)
			require.Len(t, p, 1)
			assert.Equal(t, types.StrategicMergePatchType, p[0].GetPatchType())
			assert.Equal(t, "receiver", p[0].Name)
			var body map[string]any
			require.NoError(t, json.Unmarshal(p[0].GetPatch(), &body))
			want := map[string]any{"spec": map[string]any{
				"strategy": map[string]any{"type": "RollingUpdate", "rollingUpdate": map[string]any{
					"maxSurge": ptr(tt.maxSurge).String(), "maxUnavailable": ptr(tt.maxUnavailable).String(),
				}},
				"template": map[string]any{
					"metadata": map[string]any{"annotations": map[string]any{kubernetes.UpgradedAtAnnotation: "2026-11-23T07:00:00Z"}},
					"spec": map[string]any{"containers": []any{map[string]any{
						"name": "receiver",
						"env": []any{
							map[string]any{"name": "RECEIVER_VERSION", "value": tt.plan.Version},
							map[string]any{"name": "RECEIVER_MESSAGE", "value": tt.message},
						},
					}}},
				},
			}}
			normalizeInts(body)
			assert.Equal(t, want, body)

			exp := orig.DeepCopy()
			exp.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: &tt.maxSurge, MaxUnavailable: &tt.maxUnavailable}
			exp.Spec.Template.Annotations[kubernetes.UpgradedAtAnnotation] = "2026-11-23T07:00:00Z"
			env := exp.Spec.Template.Spec.Containers[0].Env
			env[1].Value, env[2].Value = tt.plan.Version, tt.message
			assert.Equal(t, exp.Spec, got.Spec, "only version, message, annotation and strategy change")
			assert.Equal(t, exp.Labels, got.Labels)
		})
	}
}

// normalizeInts turns the JSON numbers of a decoded patch into the strings IntOrString prints.
func normalizeInts(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if f, ok := e.(float64); ok {
				x[k] = ptr(intstr.FromInt32(int32(f))).String()
				continue
			}
			normalizeInts(e)
		}
	case []any:
		for _, e := range x {
			normalizeInts(e)
		}
	}
}

func TestPatchAddsTheMessageEnvWhenMissing(t *testing.T) {
	d := deployment()
	d.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "LISTEN_ADDR", Value: ":8000"}}
	cs := fake.NewClientset(d)
	got, err := newUpgrader(cs, nil).Patch(context.Background(), chaos.UpgradePlan{Type: chaos.Rollout, Version: "beta"})
	require.NoError(t, err)
	// A strategic merge puts new list items first; the order of independent env vars is moot.
	assert.ElementsMatch(t, []corev1.EnvVar{
		{Name: "LISTEN_ADDR", Value: ":8000"},
		{Name: "RECEIVER_VERSION", Value: "beta"},
		{Name: "RECEIVER_MESSAGE", Value: "Beta Receiver running!"},
	}, got.Spec.Template.Spec.Containers[0].Env)
}

func TestPatchRefusesBadPlans(t *testing.T) {
	for _, plan := range []chaos.UpgradePlan{
		{Type: chaos.MaxSurge, SurgePercent: 0, Version: "beta"},
		{Type: chaos.MaxSurge, SurgePercent: 101, Version: "beta"},
		{Type: chaos.Rollout},
		{Type: chaos.InPlace, Version: "beta"},
	} {
		cs := fake.NewClientset(deployment())
		_, err := newUpgrader(cs, nil).Patch(context.Background(), plan)
		assert.Error(t, err, plan.String())
		assert.Empty(t, patches(cs), plan.String())
	}
}

// apiServer makes the fake bump metadata.generation on every patch, as the API server does
// when the spec changes, and resets the rollout counters the controller would recompute.
func apiServer(cs *fake.Clientset) {
	cs.PrependReactor("patch", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		pa := a.(k8stesting.PatchActionImpl)
		tracker := cs.Tracker()
		gvr := appsv1.SchemeGroupVersion.WithResource("deployments")
		if _, _, err := k8stesting.ObjectReaction(tracker)(a); err != nil {
			return true, nil, err
		}
		obj, err := tracker.Get(gvr, pa.Namespace, pa.Name)
		if err != nil {
			return true, nil, err
		}
		d := obj.(*appsv1.Deployment)
		d.Generation++
		if err := tracker.Update(gvr, d, pa.Namespace); err != nil {
			return true, nil, err
		}
		return true, d, nil
	})
}

// controller sets the Deployment's status as the deployment controller would.
func controller(t *testing.T, cs *fake.Clientset, mutate func(d *appsv1.Deployment)) {
	t.Helper()
	ctx := context.Background()
	d, err := cs.AppsV1().Deployments(ns).Get(ctx, "receiver", metav1.GetOptions{})
	require.NoError(t, err)
	mutate(d)
	_, err = cs.AppsV1().Deployments(ns).UpdateStatus(ctx, d, metav1.UpdateOptions{})
	require.NoError(t, err)
}

func progressing(status corev1.ConditionStatus, reason string) appsv1.DeploymentCondition {
	return appsv1.DeploymentCondition{Type: appsv1.DeploymentProgressing, Status: status, Reason: reason, Message: reason}
}

func TestStatusFollowsASimulatedRollout(t *testing.T) {
	ctx := context.Background()
	cs := fake.NewClientset(deployment())
	apiServer(cs)
	u := newUpgrader(cs, nil)

	st, err := u.Status(ctx)
	require.NoError(t, err)
	assert.True(t, st.Complete)
	assert.Equal(t, "alpha", st.Version)

	done := make(chan error, 1)
	go func() { done <- u.Upgrade(ctx, chaos.UpgradePlan{Type: chaos.Rollout, Version: "beta"}) }()

	// The patch bumps the generation; until the controller observes it, the rollout is not
	// done even though the old counters say 3 of 3.
	require.Eventually(t, func() bool { return len(patches(cs)) == 1 }, 5*time.Second, time.Millisecond)
	steps := []struct {
		name   string
		status func(d *appsv1.Deployment)
		check  func(t *testing.T, st kubernetes.Status)
	}{
		{"observed, first old pod going", func(d *appsv1.Deployment) {
			d.Status = appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 3, UpdatedReplicas: 0, ReadyReplicas: 2, AvailableReplicas: 2, UnavailableReplicas: 1,
				Conditions: []appsv1.DeploymentCondition{
					{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable"},
					progressing(corev1.ConditionTrue, "ReplicaSetUpdated"),
				}}
		}, func(t *testing.T, st kubernetes.Status) {
			assert.Equal(t, kubernetes.Status{
				Deployment: "receiver", Version: "beta", Generation: 2, ObservedGeneration: 2,
				Desired: 3, Replicas: 3, Updated: 0, Ready: 2, Available: 2, Unavailable: 1,
				Conditions: []kubernetes.Condition{
					{Type: "Available", Status: "True", Reason: "MinimumReplicasAvailable"},
					{Type: "Progressing", Status: "True", Reason: "ReplicaSetUpdated", Message: "ReplicaSetUpdated"},
				},
			}, st)
		}},
		{"two updated", func(d *appsv1.Deployment) {
			d.Status.UpdatedReplicas, d.Status.AvailableReplicas, d.Status.ReadyReplicas, d.Status.UnavailableReplicas = 2, 2, 2, 1
		}, func(t *testing.T, st kubernetes.Status) {
			assert.False(t, st.Complete)
			assert.Equal(t, int32(2), st.Updated)
		}},
		{"three updated, one not yet available", func(d *appsv1.Deployment) {
			d.Status.UpdatedReplicas, d.Status.AvailableReplicas, d.Status.ReadyReplicas = 3, 2, 2
		}, func(t *testing.T, st kubernetes.Status) {
			assert.False(t, st.Complete)
		}},
	}
	for _, s := range steps {
		controller(t, cs, s.status)
		st, err := u.Status(ctx)
		require.NoError(t, err)
		s.check(t, st)
		select {
		case err := <-done:
			t.Fatalf("upgrade returned during %q: %v", s.name, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	controller(t, cs, func(d *appsv1.Deployment) {
		d.Status.AvailableReplicas, d.Status.ReadyReplicas, d.Status.UnavailableReplicas = 3, 3, 0
		d.Status.Conditions[1] = progressing(corev1.ConditionTrue, "NewReplicaSetAvailable")
	})
	// The new pods, which the upgrade reads back once the Deployment says it rolled out.
	addPods(t, cs, "beta", 3)
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("upgrade did not see the rollout complete")
	}
	st, err = u.Status(ctx)
	require.NoError(t, err)
	assert.True(t, st.Complete)
	assert.False(t, st.Stalled)
}

func TestUpgradeFailsWhenTheRolloutStalls(t *testing.T) {
	ctx := context.Background()
	cs := fake.NewClientset(deployment())
	apiServer(cs)
	u := newUpgrader(cs, nil)
	done := make(chan error, 1)
	go func() {
		done <- u.Upgrade(ctx, chaos.UpgradePlan{Type: chaos.MaxSurge, SurgePercent: 50, Version: "beta"})
	}()
	require.Eventually(t, func() bool { return len(patches(cs)) == 1 }, 5*time.Second, time.Millisecond)
	controller(t, cs, func(d *appsv1.Deployment) {
		d.Status.ObservedGeneration, d.Status.Replicas, d.Status.UpdatedReplicas = 2, 5, 2
		d.Status.Conditions[1] = appsv1.DeploymentCondition{
			Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse, Reason: "ProgressDeadlineExceeded",
			Message: `ReplicaSet "receiver-5d8" has timed out progressing.`,
		}
	})
	select {
	case err := <-done:
		require.Error(t, err)
		assert.Contains(t, err.Error(), "stalled")
		assert.Contains(t, err.Error(), "ProgressDeadlineExceeded")
		assert.Contains(t, err.Error(), "2 of 3 updated")
	case <-time.After(10 * time.Second):
		t.Fatal("upgrade did not notice the stalled rollout")
	}
	st, err := u.Status(ctx)
	require.NoError(t, err)
	assert.True(t, st.Stalled)
	assert.False(t, st.Complete)
}

func TestUpgradeStopsAtTheContextDeadline(t *testing.T) {
	cs := fake.NewClientset(deployment())
	apiServer(cs)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := newUpgrader(cs, nil).Upgrade(ctx, chaos.UpgradePlan{Type: chaos.Rollout, Version: "beta"})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "not done")
}

func TestUpgraderRBACErrorsNameVerbResourceAndRole(t *testing.T) {
	tests := []struct {
		verb, resource string
		call           func(u *kubernetes.Upgrader) error
	}{
		{"patch", "deployments", func(u *kubernetes.Upgrader) error {
			return u.Upgrade(context.Background(), chaos.UpgradePlan{Type: chaos.Rollout, Version: "beta"})
		}},
		{"get", "deployments", func(u *kubernetes.Upgrader) error { _, err := u.Status(context.Background()); return err }},
		{"list", "pods", func(u *kubernetes.Upgrader) error { _, err := u.Replicas(context.Background()); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.verb+" "+tt.resource, func(t *testing.T) {
			cs := fake.NewClientset(deployment())
			forbid(cs, tt.verb, tt.resource)
			err := tt.call(newUpgrader(cs, nil))
			var f *kubernetes.ForbiddenError
			require.ErrorAs(t, err, &f)
			assert.Equal(t, tt.verb, f.Verb)
			assert.Equal(t, "helmsman", f.Role)
			assert.Equal(t, ns, f.Namespace)
			assert.True(t, apierrors.IsForbidden(err))
			assert.Contains(t, err.Error(), `verb "`+tt.verb+`"`)
			assert.Contains(t, err.Error(), tt.resource)
			assert.Contains(t, err.Error(), "deploy/kubernetes/base/helmsman.yaml")
		})
	}
}

// addPods adds n ready receiver pods of the Deployment whose spec serves version.
func addPods(t *testing.T, cs *fake.Clientset, version string, n int) {
	t.Helper()
	for i := range n {
		p := pod(fmt.Sprintf("receiver-new-%d", i), fmt.Sprintf("10.0.1.%d", i+1), receiverLabels, true)
		p.Spec.Containers[0].Env[0].Value = version
		require.NoError(t, cs.Tracker().Add(p))
	}
}

func receiverPods() []runtime.Object {
	dying := pod("receiver-d", "10.0.0.4", receiverLabels, true)
	dying.DeletionTimestamp = &metav1.Time{Time: at}
	dying.Finalizers = []string{"test/keep"}
	beta := pod("receiver-b", "10.0.0.2", receiverLabels, true)
	beta.Spec.Containers[0].Env[0].Value = "beta"
	return []runtime.Object{
		deployment(),
		pod("receiver-a", "10.0.0.1", receiverLabels, true),
		beta,
		pod("receiver-c", "", receiverLabels, false),
		dying,
		pod("pinger-1", "10.0.0.5", map[string]string{"app.kubernetes.io/name": "pinger"}, true),
	}
}

func TestReplicasFromPodSpecs(t *testing.T) {
	reps, err := newUpgrader(fake.NewClientset(receiverPods()...), nil).Replicas(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []chaos.Replica{
		{Name: "receiver-a", Address: "http://10.0.0.1:8000", Version: "alpha", Ready: true},
		{Name: "receiver-b", Address: "http://10.0.0.2:8000", Version: "beta", Ready: true},
		{Name: "receiver-c", Version: "alpha", Reason: "Ready condition False; no pod IP yet"},
	}, reps)
}

func TestReplicasFromTheAdminAPI(t *testing.T) {
	api := &adminAPI{versions: map[string]string{"10.0.0.1:8000": "gamma"}, down: map[string]bool{"10.0.0.2:8000": true}}
	reps, err := newUpgrader(fake.NewClientset(receiverPods()...), api).Replicas(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []chaos.Replica{
		{Name: "receiver-a", Address: "http://10.0.0.1:8000", Version: "gamma", Generation: 2, Ready: true},
		// Its admin API does not answer: ready as its pod says, at the version of its spec.
		{Name: "receiver-b", Address: "http://10.0.0.2:8000", Version: "beta", Ready: true},
		{Name: "receiver-c", Version: "alpha", Reason: "Ready condition False; no pod IP yet"},
	}, reps)
}

func TestInPlaceReconfiguresEveryPodWithoutTouchingTheDeployment(t *testing.T) {
	objs := receiverPods()[:3] // the Deployment, receiver-a and receiver-b
	cs := fake.NewClientset(objs...)
	api := &adminAPI{}
	u := newUpgrader(cs, api)
	require.NoError(t, u.Upgrade(context.Background(), chaos.UpgradePlan{Type: chaos.InPlace, Version: "beta"}))
	assert.ElementsMatch(t, []string{
		`PUT 10.0.0.1:8000 /admin/config {"message":"Beta Receiver running!","version":"beta"}`,
		`PUT 10.0.0.2:8000 /admin/config {"message":"Beta Receiver running!","version":"beta"}`,
	}, putCalls(api))
	assert.Empty(t, patches(cs))
}

func putCalls(api *adminAPI) []string {
	var out []string
	for _, c := range api.Calls() {
		if len(c) > 3 && c[:3] == "PUT" {
			out = append(out, c)
		}
	}
	return out
}

func TestInPlaceReportsPodsItCouldNotReach(t *testing.T) {
	cs := fake.NewClientset(receiverPods()...)
	api := &adminAPI{down: map[string]bool{"10.0.0.2:8000": true}}
	u := newUpgrader(cs, api)
	u.StepTimeout = 300 * time.Millisecond
	err := u.Upgrade(context.Background(), chaos.UpgradePlan{Type: chaos.InPlace, Version: "beta"})
	require.Error(t, err)
	var ue *chaos.UpgradeError
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, "receiver-b", ue.Replica, "named by its pod")
	assert.Equal(t, chaos.ReasonUnreachable, chaos.UpgradeReason(err))
	assert.Contains(t, err.Error(), "replica receiver-c unreachable: has no pod IP yet")
	assert.NotContains(t, err.Error(), "receiver-a")
	assert.Contains(t, putCalls(api), `PUT 10.0.0.1:8000 /admin/config {"message":"Beta Receiver running!","version":"beta"}`)
}

func TestResetGoesThroughTheAdminAPI(t *testing.T) {
	api := &adminAPI{}
	u := newUpgrader(fake.NewClientset(), api)
	require.NoError(t, u.Reset(context.Background(), chaos.Replica{Name: "receiver-a", Address: "http://10.0.0.1:8000"}, "beta"))
	assert.Equal(t, []string{`PUT 10.0.0.1:8000 /admin/config {"message":"Beta Receiver running!","version":"beta"}`}, putCalls(api))
	assert.Error(t, u.Reset(context.Background(), chaos.Replica{Name: "receiver-c"}, "beta"))
	assert.Error(t, newUpgrader(fake.NewClientset(), nil).Reset(context.Background(), chaos.Replica{Name: "x", Address: "http://10.0.0.1:8000"}, "beta"))
}

func TestUpgradeFailsAtOnceOnAPausedDeployment(t *testing.T) {
	d := deployment()
	d.Spec.Paused = true
	cs := fake.NewClientset(d)
	apiServer(cs)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := newUpgrader(cs, nil).Upgrade(ctx, chaos.UpgradePlan{Type: chaos.Rollout, Version: "beta"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "rollout resume")
	assert.NoError(t, ctx.Err(), "did not wait for the deadline")
}

func TestReplicasSayWhyAPodIsNotReady(t *testing.T) {
	unscheduled := pod("receiver-u", "", receiverLabels, false)
	unscheduled.Status.Phase = corev1.PodPending
	unscheduled.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "0/3 nodes are available"}}
	pulling := pod("receiver-p", "10.0.0.6", receiverLabels, false)
	pulling.Status.Phase = corev1.PodPending
	pulling.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "receiver", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImagePull", Message: "no such image"}}}}
	probing := pod("receiver-r", "10.0.0.7", receiverLabels, false)
	probing.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "receiver", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
	crashed := pod("receiver-x", "10.0.0.8", receiverLabels, false)
	crashed.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "receiver", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Error", ExitCode: 2}}}}

	reps, err := newUpgrader(fake.NewClientset(deployment(), unscheduled, pulling, probing, crashed), nil).Replicas(context.Background())
	require.NoError(t, err)
	why := map[string]string{}
	for _, r := range reps {
		assert.False(t, r.Ready, r.Name)
		why[r.Name] = r.Reason
	}
	assert.Equal(t, map[string]string{
		"receiver-p": "container receiver waiting: ErrImagePull no such image",
		"receiver-r": "container receiver running, readiness probe failing",
		"receiver-u": "not scheduled: Unschedulable 0/3 nodes are available; no pod IP yet",
		"receiver-x": "container receiver terminated: Error (exit 2)",
	}, why)
}

// A rollout that never moves fails once UPGRADE_STEP_TIMEOUT has gone by without progress,
// as unverified, naming the pod that is not ready and why; it does not wait for the
// Deployment's own progress deadline.
func TestUpgradeFailsAfterTheStepTimeoutWithoutProgress(t *testing.T) {
	stuck := pod("receiver-new", "10.0.0.9", receiverLabels, false)
	stuck.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "receiver", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}}}
	cs := fake.NewClientset(deployment(), pod("receiver-a", "10.0.0.1", receiverLabels, true), stuck)
	apiServer(cs)
	u := newUpgrader(cs, nil)
	u.StepTimeout = 200 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := u.Upgrade(ctx, chaos.UpgradePlan{Type: chaos.Rollout, Version: "beta"})
	require.Error(t, err)
	var ue *chaos.UpgradeError
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, chaos.ReasonUnverified, ue.Reason)
	assert.Equal(t, "receiver-new", ue.Replica)
	assert.Contains(t, err.Error(), "no progress for 200ms (UPGRADE_STEP_TIMEOUT)")
	assert.Contains(t, err.Error(), "receiver-new: container receiver waiting: CrashLoopBackOff")
	assert.NoError(t, ctx.Err(), "failed on the step timeout, not the context")
}

// A rollout longer than UPGRADE_STEP_TIMEOUT converges as long as each step is shorter: the
// controller here moves one pod on every look the upgrader takes.
func TestProgressResetsTheStepTimeout(t *testing.T) {
	cs := fake.NewClientset(deployment())
	apiServer(cs)
	addPods(t, cs, "beta", 3) // what the rollout leaves, read back at its end
	looks := 0
	cs.PrependReactor("get", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		obj, err := cs.Tracker().Get(appsv1.SchemeGroupVersion.WithResource("deployments"), ns, "receiver")
		if err != nil {
			return true, nil, err
		}
		d := obj.(*appsv1.Deployment)
		if d.Generation < 2 {
			return true, d, nil
		}
		// Three pods, each one updated then available: six steps.
		steps := [][2]int32{{1, 2}, {1, 3}, {2, 2}, {2, 3}, {3, 2}, {3, 3}}
		s := steps[min(looks, len(steps)-1)]
		looks++
		d.Status.ObservedGeneration = 2
		d.Status.UpdatedReplicas, d.Status.AvailableReplicas, d.Status.ReadyReplicas = s[0], s[1], s[1]
		return true, d, nil
	})
	u := newUpgrader(cs, nil)
	u.Poll = 150 * time.Millisecond
	u.StepTimeout = time.Second // the rollout takes 6 looks, about 0.9s, each a step
	require.NoError(t, u.Upgrade(context.Background(), chaos.UpgradePlan{Type: chaos.Rollout, Version: "beta"}))
	assert.GreaterOrEqual(t, looks, 6)
}

func TestUpgradeFailuresCarryBoundedReasons(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(cs *fake.Clientset, d *appsv1.Deployment)
		ctx    func() (context.Context, context.CancelFunc)
		reason string
		msg    string
	}{
		{
			name: "admission refuses the patch",
			setup: func(cs *fake.Clientset, _ *appsv1.Deployment) {
				cs.PrependReactor("patch", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, apierrors.NewInvalid(appsv1.SchemeGroupVersion.WithKind("Deployment").GroupKind(), "receiver", nil)
				})
			},
			reason: chaos.ReasonRefused, msg: "receiver",
		},
		{
			name:   "RBAC refuses the patch",
			setup:  func(cs *fake.Clientset, _ *appsv1.Deployment) { forbid(cs, "patch", "deployments") },
			reason: chaos.ReasonRefused, msg: `verb "patch"`,
		},
		{
			name:   "paused",
			setup:  func(_ *fake.Clientset, d *appsv1.Deployment) { d.Spec.Paused = true },
			reason: chaos.ReasonRefused, msg: "rollout resume",
		},
		{
			name: "API server gone",
			setup: func(cs *fake.Clientset, _ *appsv1.Deployment) {
				cs.PrependReactor("get", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, apierrors.NewServiceUnavailable("etcd is down")
				})
			},
			reason: chaos.ReasonUnreachable, msg: "etcd is down",
		},
		{
			name: "canceled",
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 50*time.Millisecond)
			},
			reason: chaos.ReasonCanceled, msg: "not done",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := deployment()
			cs := fake.NewClientset()
			apiServer(cs)
			if tt.setup != nil {
				tt.setup(cs, d) // its reactors come before the API server's
			}
			require.NoError(t, cs.Tracker().Add(d))
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if tt.ctx != nil {
				cancel()
				ctx, cancel = tt.ctx()
			}
			defer cancel()
			err := newUpgrader(cs, nil).Upgrade(ctx, chaos.UpgradePlan{Type: chaos.Rollout, Version: "beta"})
			require.Error(t, err)
			assert.Equal(t, tt.reason, chaos.UpgradeReason(err), err.Error())
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
}
