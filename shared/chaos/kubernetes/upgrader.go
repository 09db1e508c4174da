package kubernetes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"chaossuite.dev/shared/chaos"
	"chaossuite.dev/shared/chaos/httpdriver"
	"chaossuite.dev/shared/receiverapi"
)

// upgraderRole is the Role the helmsman's ServiceAccount is bound to.
const upgraderRole = "helmsman"

// UpgradedAtAnnotation is set on the pod template by every ROLLOUT and MAX_SURGE upgrade, so
// that each one replaces the pods even when the template's version env is already the target
// (an earlier IN_PLACE upgrade changed the pods, not the template).
const UpgradedAtAnnotation = "chaossuite.dev/upgraded-at"

// Upgrader upgrades a Deployment. ROLLOUT and MAX_SURGE patch the Deployment (its container's
// RECEIVER_VERSION and RECEIVER_MESSAGE env, or with ByImage its image, and its RollingUpdate
// strategy) and watch the rollout; IN_PLACE and Reset reconfigure the pods through the
// receiver's admin API, and are refused with ByImage: any service's image can be replaced,
// only the receiver can be reconfigured in place.
//
// It keeps the contract of chaos.Upgrader: an upgrade is done once every pod the API server
// lists is ready and serves the version, read back through the platform. Upgrade and Reset
// fail with a *chaos.UpgradeError: refused (the API server or an admission policy refused the
// patch, the Deployment is paused, or a pod's admin API refused the change), unreachable (the
// API server did not answer for StepTimeout, or IN_PLACE could not reach a pod), unverified
// (the rollout went StepTimeout without progress, stalled past the Deployment's progress
// deadline, or a pod did not serve the version when read back) or canceled.
type Upgrader struct {
	Client     kubernetes.Interface
	Namespace  string
	Deployment string
	// Container is the container of the pod template to upgrade (K8S_CONTAINER); empty: the
	// template's only one. A Deployment of several containers must name one.
	Container string
	// ByImage makes a version an image reference (UPGRADE_BY=image): ROLLOUT and MAX_SURGE
	// patch the container's image, and a pod's version is that container's image in its spec.
	// Otherwise a version is a receiver version (RECEIVER_VERSION, /admin/config).
	ByImage bool
	// ReadinessPath, when set (READINESS_PATH, such as /status/200), makes a pod ready when a
	// GET of its address plus this path answers 2xx, instead of its Ready condition.
	ReadinessPath string
	Probe         *http.Client        // client of the ReadinessPath GETs; nil: http.DefaultClient
	HTTP          *receiverapi.Client // admin API of the pods: IN_PLACE, Reset and live versions
	Port          int                 // port the pods serve on (TARGET_PORT); 0 means 8000
	Poll          time.Duration       // rollout re-check period besides watch events; 0 means 1s
	Now           func() time.Time    // clock for the upgraded-at annotation; nil means time.Now
	// StepTimeout bounds how long a rollout may go without progress (a pod more updated,
	// ready or available, or one fewer old one), and how long IN_PLACE gives each pod to take
	// the change and serve it. UPGRADE_STEP_TIMEOUT; 0 means 30s.
	StepTimeout time.Duration
}

func (u *Upgrader) stepTimeout() time.Duration {
	if u.StepTimeout > 0 {
		return u.StepTimeout
	}
	return 30 * time.Second
}

// Driver implements chaos.Upgrader.
func (u *Upgrader) Driver() string { return Driver }

func (u *Upgrader) deployment(ctx context.Context) (*appsv1.Deployment, error) {
	d, err := u.Client.AppsV1().Deployments(u.Namespace).Get(ctx, u.Deployment, metav1.GetOptions{})
	if err != nil {
		return nil, apiError(err, "get", "deployments.apps", u.Namespace, upgraderRole)
	}
	return d, nil
}

// containerName is the container of d's pod template to upgrade: Container, or the only one.
func (u *Upgrader) containerName(d *appsv1.Deployment) (string, error) {
	cs := d.Spec.Template.Spec.Containers
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Name
	}
	switch {
	case u.Container != "" && slices.Contains(names, u.Container):
		return u.Container, nil
	case u.Container != "":
		return "", fmt.Errorf("deployment %s has no container %q (K8S_CONTAINER): its containers are %s", u.Deployment, u.Container, strings.Join(names, ", "))
	case len(names) == 1:
		return names[0], nil
	case len(names) == 0:
		return "", fmt.Errorf("deployment %s has no container", u.Deployment)
	}
	return "", fmt.Errorf("deployment %s has %d containers (%s): set K8S_CONTAINER to the one to upgrade", u.Deployment, len(names), strings.Join(names, ", "))
}

// container returns the container called name in spec, or nil.
func container(spec *corev1.PodSpec, name string) *corev1.Container {
	for i := range spec.Containers {
		if spec.Containers[i].Name == name {
			return &spec.Containers[i]
		}
	}
	return nil
}

// specVersion is the version c's spec says it serves: its image with ByImage, else its
// RECEIVER_VERSION ("alpha" when unset, the receiver's default).
func (u *Upgrader) specVersion(c *corev1.Container) string {
	if u.ByImage {
		if c == nil {
			return ""
		}
		return c.Image
	}
	if v := envValue(c, "RECEIVER_VERSION"); v != "" {
		return v
	}
	return "alpha"
}

func envValue(c *corev1.Container, name string) string {
	if c == nil {
		return ""
	}
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// Upgrade implements chaos.Upgrader: IN_PLACE through the pods' admin API, ROLLOUT and
// MAX_SURGE by patching the Deployment and watching the rollout; either way it returns once
// every pod the API server lists is ready and serves plan.Version (readBack).
func (u *Upgrader) Upgrade(ctx context.Context, plan chaos.UpgradePlan) error {
	// The fake and a slow API server may both ignore an ended context: nothing starts then.
	if err := ctx.Err(); err != nil {
		return &chaos.UpgradeError{Reason: chaos.ReasonCanceled, Err: err}
	}
	switch plan.Type {
	case chaos.InPlace:
		return u.inPlace(ctx, plan)
	case chaos.Rollout, chaos.MaxSurge:
		d, err := u.Patch(ctx, plan)
		if err != nil {
			return apiReason(ctx, err)
		}
		if err := u.waitRollout(ctx, d.Generation); err != nil {
			return err
		}
		return u.readBack(ctx, plan.Version, nil)
	}
	return &chaos.UpgradeError{Reason: chaos.ReasonRefused, Err: fmt.Errorf("unknown upgrade type %q", plan.Type)}
}

// apiReason classifies a failed call: canceled when ctx ended, refused when the API server
// answered no (RBAC, an admission policy, validation) or the driver could not build the
// change (a bad plan, a Deployment without the container), unreachable when the API server
// did not answer or failed itself.
func apiReason(ctx context.Context, err error) error {
	var status apierrors.APIStatus
	var netErr *url.Error
	switch {
	case ctx.Err() != nil:
		return &chaos.UpgradeError{Reason: chaos.ReasonCanceled, Err: err}
	case errors.As(err, &status) && status.Status().Code >= 400 && status.Status().Code < 500 && !apierrors.IsTooManyRequests(err):
		return &chaos.UpgradeError{Reason: chaos.ReasonRefused, Err: err}
	case errors.As(err, &status), errors.As(err, &netErr):
		return &chaos.UpgradeError{Reason: chaos.ReasonUnreachable, Err: err}
	}
	return &chaos.UpgradeError{Reason: chaos.ReasonRefused, Err: err}
}

func message(plan chaos.UpgradePlan) string {
	if plan.Message != "" {
		return plan.Message
	}
	return chaos.DefaultMessage(plan.Version)
}

// PatchFor builds the strategic-merge patch of a ROLLOUT or MAX_SURGE plan: the container's
// RECEIVER_VERSION and RECEIVER_MESSAGE (other env untouched: env merges by name), the
// upgraded-at annotation, and the RollingUpdate strategy (ROLLOUT: maxSurge 0, maxUnavailable
// 1; MAX_SURGE p: maxSurge p%, maxUnavailable 0, so ceil(p·N) new pods start before old ones go).
func PatchFor(container string, plan chaos.UpgradePlan, at time.Time) ([]byte, error) {
	return patchFor(container, plan, at, false)
}

// patchFor is PatchFor, or byImage the same patch setting the container's image (a version
// that is an image reference) instead of its env.
func patchFor(container string, plan chaos.UpgradePlan, at time.Time, byImage bool) ([]byte, error) {
	var rolling map[string]any
	switch plan.Type {
	case chaos.Rollout:
		rolling = map[string]any{"maxSurge": 0, "maxUnavailable": 1}
	case chaos.MaxSurge:
		if plan.SurgePercent < 1 || plan.SurgePercent > 100 {
			return nil, fmt.Errorf("MAX_SURGE needs a surge of 1 to 100 %%, got %d", plan.SurgePercent)
		}
		rolling = map[string]any{"maxSurge": fmt.Sprintf("%d%%", plan.SurgePercent), "maxUnavailable": 0}
	default:
		return nil, fmt.Errorf("%s is not an upgrade by patching the Deployment", plan.Type)
	}
	if plan.Version == "" {
		return nil, errors.New("upgrade plan has no version")
	}
	change := map[string]any{"name": container}
	if byImage {
		change["image"] = plan.Version
	} else {
		change["env"] = []any{
			map[string]string{"name": "RECEIVER_VERSION", "value": plan.Version},
			map[string]string{"name": "RECEIVER_MESSAGE", "value": message(plan)},
		}
	}
	patch := map[string]any{
		"spec": map[string]any{
			"strategy": map[string]any{"type": "RollingUpdate", "rollingUpdate": rolling},
			"template": map[string]any{
				"metadata": map[string]any{"annotations": map[string]string{UpgradedAtAnnotation: at.UTC().Format(time.RFC3339Nano)}},
				"spec":     map[string]any{"containers": []any{change}},
			},
		},
	}
	return json.Marshal(patch)
}

// Patch applies plan's patch to the Deployment and returns the patched Deployment.
func (u *Upgrader) Patch(ctx context.Context, plan chaos.UpgradePlan) (*appsv1.Deployment, error) {
	d, err := u.deployment(ctx)
	if err != nil {
		return nil, err
	}
	name, err := u.containerName(d)
	if err != nil {
		return nil, err
	}
	now := time.Now
	if u.Now != nil {
		now = u.Now
	}
	body, err := patchFor(name, plan, now(), u.ByImage)
	if err != nil {
		return nil, err
	}
	d, err = u.Client.AppsV1().Deployments(u.Namespace).Patch(ctx, u.Deployment, types.StrategicMergePatchType, body, metav1.PatchOptions{FieldManager: "helmsman"})
	if err != nil {
		return nil, apiError(err, "patch", "deployments.apps", u.Namespace, upgraderRole)
	}
	return d, nil
}

// waitRollout waits until the Deployment has rolled out generation: observed, every replica
// updated and available, no old replica left. It fails when the rollout stalls past the
// Deployment's progress deadline, goes StepTimeout without progress, the API server stays
// unanswering for StepTimeout, or ctx ends. Watch events trigger a re-check; the poll period
// covers a watch the API server closed.
func (u *Upgrader) waitRollout(ctx context.Context, generation int64) error {
	var events <-chan watch.Event
	w, err := u.Client.AppsV1().Deployments(u.Namespace).Watch(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("metadata.name", u.Deployment).String(),
	})
	if err == nil {
		defer w.Stop()
		events = w.ResultChan()
	}
	tick := time.NewTicker(u.poll())
	defer tick.Stop()
	step := u.stepTimeout()
	var last Status
	lastProgress, lastAnswer := time.Now(), time.Now()
	for {
		st, err := u.Status(ctx)
		switch {
		case err == nil:
			lastAnswer = time.Now()
			if progress(last, st) {
				lastProgress = time.Now()
			}
			last = st
		case ctx.Err() != nil:
		case IsForbidden(err):
			return &chaos.UpgradeError{Reason: chaos.ReasonRefused, Err: err}
		case time.Since(lastAnswer) > step:
			return &chaos.UpgradeError{Reason: chaos.ReasonUnreachable, Err: fmt.Errorf("the API server did not answer for %s: %w", step, err)}
		}
		if err == nil {
			if st.Paused {
				return &chaos.UpgradeError{Reason: chaos.ReasonRefused, Err: fmt.Errorf("deployment %s is paused, nothing rolls out (kubectl -n %s rollout resume deployment/%s)", u.Deployment, u.Namespace, u.Deployment)}
			}
			if st.ObservedGeneration >= generation {
				if st.Stalled {
					return u.unverified(ctx, fmt.Sprintf("rollout of deployment %s stalled: %s", u.Deployment, st.Progress()))
				}
				if st.Complete {
					return nil
				}
			}
			if time.Since(lastProgress) > step {
				return u.unverified(ctx, fmt.Sprintf("rollout of deployment %s made no progress for %s (UPGRADE_STEP_TIMEOUT): %s", u.Deployment, step, st.Progress()))
			}
		}
		select {
		case <-ctx.Done():
			return &chaos.UpgradeError{Reason: chaos.ReasonCanceled, Err: fmt.Errorf("rollout of deployment %s not done: %s: %w", u.Deployment, last.Progress(), ctx.Err())}
		case _, ok := <-events:
			if !ok {
				events = nil
			}
		case <-tick.C:
		}
	}
}

// progress reports whether the rollout moved between two looks.
func progress(before, now Status) bool {
	return now.ObservedGeneration != before.ObservedGeneration || now.Updated != before.Updated ||
		now.Ready != before.Ready || now.Available != before.Available || now.Replicas != before.Replicas
}

// unverified is a rollout that took the change but did not serve it: the error names the first
// pod that is not ready, and says why each is not.
func (u *Upgrader) unverified(ctx context.Context, msg string) error {
	e := &chaos.UpgradeError{Reason: chaos.ReasonUnverified}
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if reps, err := u.Replicas(lctx); err == nil {
		var why []string
		for _, r := range reps {
			if !r.Ready {
				if e.Replica == "" {
					e.Replica = r.Name
				}
				why = append(why, r.Name+": "+r.Reason)
			}
		}
		if len(why) > 0 {
			msg += "; not ready: " + strings.Join(why, ", ")
		}
	}
	e.Err = errors.New(msg)
	return e
}

// inPlace reconfigures every replica at once through its admin API, without a restart: the
// http driver's upgrade over the pods' addresses, each given StepTimeout to take the change
// and serve it, then the read back through the API server, which brings the pods that came
// up meanwhile to the version too. Failures name the pod.
func (u *Upgrader) inPlace(ctx context.Context, plan chaos.UpgradePlan) error {
	if u.ByImage {
		return &chaos.UpgradeError{Reason: chaos.ReasonRefused, Err: errInPlaceByImage}
	}
	if u.HTTP == nil {
		return &chaos.UpgradeError{Reason: chaos.ReasonRefused, Err: errors.New("IN_PLACE needs the receivers' admin API client")}
	}
	reps, err := u.Replicas(ctx)
	if err != nil {
		return apiReason(ctx, err)
	}
	if len(reps) == 0 {
		return &chaos.UpgradeError{Reason: chaos.ReasonUnreachable, Err: fmt.Errorf("deployment %s has no pods to upgrade in place", u.Deployment)}
	}
	var errs []error
	var ready []chaos.Replica
	for _, r := range reps {
		if r.Address == "" {
			// Not started yet: it is upgraded by the read back once it serves.
			errs = append(errs, &chaos.UpgradeError{Replica: r.Name, Reason: chaos.ReasonUnreachable, Err: fmt.Errorf("has no pod IP yet (%s)", r.Reason)})
			continue
		}
		ready = append(ready, r)
	}
	if err := u.apply(ctx, plan, ready, u.stepTimeout()); err != nil {
		return errors.Join(append([]error{err}, errs...)...)
	}
	return u.readBack(ctx, plan.Version, func(ctx context.Context, lagging []chaos.Replica, left time.Duration) error {
		var reachable []chaos.Replica
		for _, r := range lagging {
			if r.Address != "" && r.Ready {
				reachable = append(reachable, r)
			}
		}
		return u.apply(ctx, plan, reachable, left)
	})
}

var (
	errInPlaceByImage = errors.New("IN_PLACE reconfigures a running receiver through its admin API; with UPGRADE_BY=image a version is an image, which only ROLLOUT and MAX_SURGE replace")
	errResetByImage   = errors.New("a pod cannot be reset in place when versions are images (UPGRADE_BY=image): the Deployment's rollout gives every pod its image")
)

// apply reconfigures reps at once through the http driver, each given step, and names the
// failed replica by its pod.
func (u *Upgrader) apply(ctx context.Context, plan chaos.UpgradePlan, reps []chaos.Replica, step time.Duration) error {
	if len(reps) == 0 {
		return nil
	}
	names := map[string]string{} // host:port -> pod
	addrs := make([]string, 0, len(reps))
	for _, r := range reps {
		names[httpdriver.NodeName(r.Address)] = r.Name
		addrs = append(addrs, r.Address)
	}
	h := &httpdriver.Upgrader{Discovery: httpdriver.Discovery{Targets: addrs}, Client: u.HTTP, StepTimeout: max(step, time.Millisecond), Poll: min(u.poll(), 100*time.Millisecond)}
	err := h.Upgrade(ctx, plan)
	var ue *chaos.UpgradeError
	if errors.As(err, &ue) && names[ue.Replica] != "" {
		ue.Replica = names[ue.Replica]
	}
	return err
}

// Reset implements chaos.Upgrader: one pod back to version in place through its admin API,
// given StepTimeout to take the change and serve it.
func (u *Upgrader) Reset(ctx context.Context, r chaos.Replica, version string) error {
	if u.ByImage {
		return &chaos.UpgradeError{Replica: r.Name, Reason: chaos.ReasonRefused, Err: errResetByImage}
	}
	if u.HTTP == nil {
		return &chaos.UpgradeError{Replica: r.Name, Reason: chaos.ReasonRefused, Err: errors.New("reset needs the receivers' admin API client")}
	}
	if err := ctx.Err(); err != nil {
		return &chaos.UpgradeError{Replica: r.Name, Reason: chaos.ReasonCanceled, Err: err}
	}
	if r.Address == "" {
		return &chaos.UpgradeError{Replica: r.Name, Reason: chaos.ReasonUnreachable, Err: errors.New("has no pod IP yet")}
	}
	h := &httpdriver.Upgrader{Client: u.HTTP, StepTimeout: u.stepTimeout(), Poll: min(u.poll(), 100*time.Millisecond)}
	err := h.Reset(ctx, r, version)
	var ue *chaos.UpgradeError
	if errors.As(err, &ue) {
		ue.Replica = r.Name
		ue.Err = fmt.Errorf("resetting to %s: %w", version, ue.Err)
	}
	return err
}

var _ chaos.Upgrader = (*Upgrader)(nil)
