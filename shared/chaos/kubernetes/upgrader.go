package kubernetes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
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

// Upgrader upgrades the receiver Deployment. ROLLOUT and MAX_SURGE patch the Deployment (the
// container's RECEIVER_VERSION and RECEIVER_MESSAGE env, and its RollingUpdate strategy) and
// watch the rollout; IN_PLACE and Reset reconfigure the pods through their admin API.
//
// Upgrade fails with a *chaos.UpgradeError: refused (the API server or an admission policy
// refused the patch, or the Deployment is paused), unreachable (the API server did not
// answer for StepTimeout, or IN_PLACE could not reach a pod), unverified (the rollout went
// StepTimeout without progress, or stalled past the Deployment's progress deadline) or
// canceled.
type Upgrader struct {
	Client     kubernetes.Interface
	Namespace  string
	Deployment string
	Container  string              // container running the receiver; empty: "receiver", else the first
	HTTP       *receiverapi.Client // admin API of the pods: IN_PLACE, Reset and live versions
	Port       int                 // receiver port on the pod IP; 0 means 8000
	Poll       time.Duration       // rollout re-check period besides watch events; 0 means 1s
	Now        func() time.Time    // clock for the upgraded-at annotation; nil means time.Now
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

// container returns the receiver container of the pod spec, or nil.
func (u *Upgrader) container(spec *corev1.PodSpec) *corev1.Container {
	name := u.Container
	if name == "" {
		name = "receiver"
	}
	for i := range spec.Containers {
		if spec.Containers[i].Name == name {
			return &spec.Containers[i]
		}
	}
	if u.Container == "" && len(spec.Containers) > 0 {
		return &spec.Containers[0]
	}
	return nil
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

// Replicas implements chaos.Upgrader: the pods of the Deployment's selector that are not being
// deleted. Ready is the pod's Ready condition, and Reason says why a pod is not ready. Version
// is what the pod serves when its admin API answers (the receiver's /admin/config), otherwise
// the RECEIVER_VERSION of its spec ("alpha" when unset, the receiver's default): a service
// without that API is still followed from its pods.
func (u *Upgrader) Replicas(ctx context.Context) ([]chaos.Replica, error) {
	pods, err := u.pods(ctx)
	if err != nil {
		return nil, err
	}
	reps := make([]chaos.Replica, 0, len(pods))
	for i := range pods {
		p := &pods[i]
		if p.DeletionTimestamp != nil {
			continue
		}
		v := envValue(u.container(&p.Spec), "RECEIVER_VERSION")
		if v == "" {
			v = "alpha"
		}
		r := chaos.Replica{Name: p.Name, Address: podAddress(p, u.Port), Version: v, Ready: podReady(p)}
		if !r.Ready {
			r.Reason = notReadyReason(p)
		}
		reps = append(reps, r)
	}
	slices.SortFunc(reps, func(a, b chaos.Replica) int { return strings.Compare(a.Name, b.Name) })
	if u.HTTP != nil {
		var wg sync.WaitGroup
		for i := range reps {
			if reps[i].Address == "" || !reps[i].Ready {
				continue
			}
			wg.Go(func() {
				cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				defer cancel()
				if cfg, err := u.HTTP.Config(cctx, reps[i].Address); err == nil {
					reps[i].Version, reps[i].Generation = cfg.Version, cfg.Generation
				}
			})
		}
		wg.Wait()
	}
	return reps, nil
}

// pods lists the pods of the Deployment's selector.
func (u *Upgrader) pods(ctx context.Context) ([]corev1.Pod, error) {
	d, err := u.deployment(ctx)
	if err != nil {
		return nil, err
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("deployment %s has a bad selector: %w", u.Deployment, err)
	}
	list, err := u.Client.CoreV1().Pods(u.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, apiError(err, "list", "pods", u.Namespace, upgraderRole)
	}
	return list.Items, nil
}

// notReadyReason says why a pod is not ready, from what the API server knows of it: not
// scheduled, a container waiting or terminated, a failing readiness probe, no IP yet.
func notReadyReason(p *corev1.Pod) string {
	if p.DeletionTimestamp != nil {
		return "terminating"
	}
	var parts []string
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status != corev1.ConditionTrue {
			parts = append(parts, strings.TrimSpace("not scheduled: "+c.Reason+" "+c.Message))
		}
	}
	for _, cs := range p.Status.ContainerStatuses {
		switch {
		case cs.State.Waiting != nil:
			parts = append(parts, strings.TrimSpace(fmt.Sprintf("container %s waiting: %s %s", cs.Name, cs.State.Waiting.Reason, cs.State.Waiting.Message)))
		case cs.State.Terminated != nil:
			parts = append(parts, fmt.Sprintf("container %s terminated: %s (exit %d)", cs.Name, cs.State.Terminated.Reason, cs.State.Terminated.ExitCode))
		case !cs.Ready:
			parts = append(parts, fmt.Sprintf("container %s running, readiness probe failing", cs.Name))
		}
	}
	if len(parts) == 0 {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status != corev1.ConditionTrue {
				why := "Ready condition " + string(c.Status)
				if detail := strings.TrimSpace(c.Reason + " " + c.Message); detail != "" {
					why += ": " + detail
				}
				parts = append(parts, why)
			}
		}
	}
	if len(parts) == 0 {
		parts = append(parts, "phase "+string(p.Status.Phase))
	}
	if p.Status.PodIP == "" {
		parts = append(parts, "no pod IP yet")
	}
	return strings.Join(parts, "; ")
}

// Upgrade implements chaos.Upgrader.
func (u *Upgrader) Upgrade(ctx context.Context, plan chaos.UpgradePlan) error {
	switch plan.Type {
	case chaos.InPlace:
		return u.inPlace(ctx, plan)
	case chaos.Rollout, chaos.MaxSurge:
		d, err := u.Patch(ctx, plan)
		if err != nil {
			return patchError(ctx, err)
		}
		return u.waitRollout(ctx, d.Generation)
	}
	return &chaos.UpgradeError{Reason: chaos.ReasonOther, Err: fmt.Errorf("unknown upgrade type %q", plan.Type)}
}

// patchError classifies a failed patch: refused when the API server answered no (RBAC, an
// admission policy, validation), unreachable when it did not answer or failed itself,
// canceled, or other (a bad plan, a Deployment without the container).
func patchError(ctx context.Context, err error) error {
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
	return &chaos.UpgradeError{Reason: chaos.ReasonOther, Err: err}
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
	patch := map[string]any{
		"spec": map[string]any{
			"strategy": map[string]any{"type": "RollingUpdate", "rollingUpdate": rolling},
			"template": map[string]any{
				"metadata": map[string]any{"annotations": map[string]string{UpgradedAtAnnotation: at.UTC().Format(time.RFC3339Nano)}},
				"spec": map[string]any{
					"containers": []any{map[string]any{
						"name": container,
						"env": []any{
							map[string]string{"name": "RECEIVER_VERSION", "value": plan.Version},
							map[string]string{"name": "RECEIVER_MESSAGE", "value": message(plan)},
						},
					}},
				},
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
	c := u.container(&d.Spec.Template.Spec)
	if c == nil {
		return nil, fmt.Errorf("deployment %s has no container %q", u.Deployment, u.Container)
	}
	now := time.Now
	if u.Now != nil {
		now = u.Now
	}
	body, err := PatchFor(c.Name, plan, now())
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
	poll := u.Poll
	if poll <= 0 {
		poll = time.Second
	}
	tick := time.NewTicker(poll)
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
// and serve it. Failures name the pod.
func (u *Upgrader) inPlace(ctx context.Context, plan chaos.UpgradePlan) error {
	if u.HTTP == nil {
		return &chaos.UpgradeError{Reason: chaos.ReasonOther, Err: errors.New("IN_PLACE needs the receivers' admin API client")}
	}
	reps, err := u.Replicas(ctx)
	if err != nil {
		if IsForbidden(err) {
			return &chaos.UpgradeError{Reason: chaos.ReasonRefused, Err: err}
		}
		return &chaos.UpgradeError{Reason: chaos.ReasonUnreachable, Err: err}
	}
	if len(reps) == 0 {
		return &chaos.UpgradeError{Reason: chaos.ReasonUnreachable, Err: fmt.Errorf("deployment %s has no pods to upgrade in place", u.Deployment)}
	}
	names := map[string]string{} // host:port -> pod
	var addrs []string
	var errs []error
	for _, r := range reps {
		if r.Address == "" {
			// Not started yet: it is upgraded by the next reconcile once it serves.
			errs = append(errs, &chaos.UpgradeError{Replica: r.Name, Reason: chaos.ReasonUnreachable, Err: fmt.Errorf("has no pod IP yet (%s)", r.Reason)})
			continue
		}
		names[httpdriver.NodeName(r.Address)] = r.Name
		addrs = append(addrs, r.Address)
	}
	if len(addrs) > 0 {
		h := &httpdriver.Upgrader{Discovery: httpdriver.Discovery{Targets: addrs}, Client: u.HTTP, StepTimeout: u.stepTimeout()}
		err = h.Upgrade(ctx, plan)
		var ue *chaos.UpgradeError
		if errors.As(err, &ue) && names[ue.Replica] != "" {
			ue.Replica = names[ue.Replica]
		}
		if err != nil {
			errs = append([]error{err}, errs...)
		}
	}
	return errors.Join(errs...)
}

// Reset implements chaos.Upgrader: one pod back to version in place.
func (u *Upgrader) Reset(ctx context.Context, r chaos.Replica, version string) error {
	if u.HTTP == nil {
		return errors.New("reset needs the receivers' admin API client")
	}
	if r.Address == "" {
		return fmt.Errorf("%s has no pod IP yet", r.Name)
	}
	if _, err := u.HTTP.SetConfig(ctx, r.Address, version, chaos.DefaultMessage(version)); err != nil {
		return fmt.Errorf("resetting %s to %s: %w", r.Name, version, err)
	}
	return nil
}

// Condition is one of the Deployment's status conditions.
type Condition struct {
	Type    string    `json:"type"`
	Status  string    `json:"status"`
	Reason  string    `json:"reason,omitempty"`
	Message string    `json:"message,omitempty"`
	Updated time.Time `json:"last_update,omitzero"`
}

// Status is the Deployment as the helmsman reports it.
type Status struct {
	Deployment         string      `json:"deployment"`
	Version            string      `json:"version"` // RECEIVER_VERSION of the pod template
	Generation         int64       `json:"generation"`
	ObservedGeneration int64       `json:"observed_generation"`
	Desired            int32       `json:"desired"`
	Replicas           int32       `json:"replicas"` // pods of every ReplicaSet, old ones included
	Updated            int32       `json:"updated"`
	Ready              int32       `json:"ready"`
	Available          int32       `json:"available"`
	Unavailable        int32       `json:"unavailable"`
	Conditions         []Condition `json:"conditions"`
	Complete           bool        `json:"complete"` // the current generation is rolled out
	Stalled            bool        `json:"stalled"`  // Progressing False, ProgressDeadlineExceeded
	Paused             bool        `json:"paused"`   // spec.paused: nothing rolls out until resumed
}

// Progress sums the rollout up for errors and logs.
func (s Status) Progress() string {
	p := fmt.Sprintf("%d of %d updated, %d available, %d in all (generation %d observed %d)",
		s.Updated, s.Desired, s.Available, s.Replicas, s.Generation, s.ObservedGeneration)
	for _, c := range s.Conditions {
		if c.Status != string(corev1.ConditionTrue) && c.Message != "" {
			p += fmt.Sprintf("; %s %s: %s", c.Type, c.Reason, c.Message)
		}
	}
	return p
}

// Status reads the Deployment's replica counts and conditions.
func (u *Upgrader) Status(ctx context.Context) (Status, error) {
	d, err := u.deployment(ctx)
	if err != nil {
		return Status{}, err
	}
	return deploymentStatus(d, u.container(&d.Spec.Template.Spec)), nil
}

func deploymentStatus(d *appsv1.Deployment, c *corev1.Container) Status {
	desired := int32(1)
	if d.Spec.Replicas != nil {
		desired = *d.Spec.Replicas
	}
	s := Status{
		Deployment:         d.Name,
		Version:            envValue(c, "RECEIVER_VERSION"),
		Generation:         d.Generation,
		ObservedGeneration: d.Status.ObservedGeneration,
		Desired:            desired,
		Replicas:           d.Status.Replicas,
		Updated:            d.Status.UpdatedReplicas,
		Ready:              d.Status.ReadyReplicas,
		Available:          d.Status.AvailableReplicas,
		Unavailable:        d.Status.UnavailableReplicas,
		Conditions:         make([]Condition, 0, len(d.Status.Conditions)),
		Paused:             d.Spec.Paused,
	}
	for _, c := range d.Status.Conditions {
		s.Conditions = append(s.Conditions, Condition{
			Type: string(c.Type), Status: string(c.Status), Reason: c.Reason, Message: c.Message, Updated: c.LastUpdateTime.Time,
		})
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
			s.Stalled = true
		}
	}
	s.Complete = s.ObservedGeneration >= s.Generation && !s.Stalled &&
		s.Updated == desired && s.Replicas == desired && s.Available == desired
	return s
}

var _ chaos.Upgrader = (*Upgrader)(nil)
