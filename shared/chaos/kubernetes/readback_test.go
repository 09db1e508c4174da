package kubernetes_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"chaossuite.dev/shared/chaos"
	"chaossuite.dev/shared/chaos/chaostest"
	"chaossuite.dev/shared/chaos/httpdriver"
	"chaossuite.dev/shared/chaos/kubernetes"
)

func simUpgrader(c *simCluster, step time.Duration) *kubernetes.Upgrader {
	return &kubernetes.Upgrader{
		Client: c.cs, Namespace: ns, Deployment: "web",
		HTTP: &httpdriver.Client{HTTP: c.http, Token: "t", Timeout: time.Second},
		Poll: 10 * time.Millisecond, StepTimeout: step,
	}
}

// A pod that comes up from the old spec while IN_PLACE runs (a restart, a scale-up) is not
// among the pods the upgrade started with: the read back through the API server finds it and
// brings it to the version before the upgrade counts as done.
func TestInPlaceBringsAPodThatCameUpMeanwhile(t *testing.T) {
	c := newCluster(t, chaostest.Setup{Replicas: 2}, func(c *corev1.Container) string { return envOf(c, "RECEIVER_VERSION") })
	lists := 0
	c.cs.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		lists++
		if lists == 2 { // after the look the upgrade started from
			c.startPod(2, 0, webDeployment(2, "alpha", false).Spec.Template, "")
		}
		return false, nil, nil
	})
	u := simUpgrader(c, 5*time.Second)
	require.NoError(t, u.Upgrade(t.Context(), chaos.UpgradePlan{Type: chaos.InPlace, Version: "beta"}))
	reps, err := u.Replicas(t.Context())
	require.NoError(t, err)
	require.Len(t, reps, 3)
	for _, r := range reps {
		assert.Equal(t, "beta", r.Version, r.Name)
	}
}

// A rollout the Deployment reports complete is done only once its pods are read back at the
// version: a pod that serves another one (its image or config is not what the patch says)
// fails the upgrade as unverified, named.
func TestRolloutIsReadBackFromThePods(t *testing.T) {
	c := newCluster(t, chaostest.Setup{Replicas: 3}, func(c *corev1.Container) string { return envOf(c, "RECEIVER_VERSION") })
	c.serve = func(gen int64, i int) string {
		if gen == 1 || i == 2 {
			return "alpha"
		}
		return "beta"
	}
	err := simUpgrader(c, 300*time.Millisecond).Upgrade(t.Context(), chaos.UpgradePlan{Type: chaos.Rollout, Version: "beta"})
	var ue *chaos.UpgradeError
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, chaos.ReasonUnverified, ue.Reason)
	assert.Equal(t, "web-2-2", ue.Replica)
	assert.Contains(t, err.Error(), `serves "alpha", not "beta"`)
}
