package kubernetes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"chaossuite.dev/shared/chaos"
	"chaossuite.dev/shared/chaos/httpdriver"
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
type Upgrader struct {
	Client     kubernetes.Interface
	Namespace  string
	Deployment string
	Container  string             // container running the receiver; empty: "receiver", else the first
	HTTP       *httpdriver.Client // admin API of the pods: IN_PLACE, Reset and live versions
	Port       int                // receiver port on the pod IP; 0 means 8000
	Poll       time.Duration      // rollout re-check period besides watch events; 0 means 1s
	Now        func() time.Time   // clock for the upgraded-at annotation; nil means time.Now
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
// deleted. Version is what the pod serves when its admin API answers, otherwise the
// RECEIVER_VERSION of its spec ("alpha" when unset, the receiver's default).
func (u *Upgrader) Replicas(ctx context.Context) ([]chaos.Replica, error) {
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
	reps := make([]chaos.Replica, 0, len(list.Items))
	for i := range list.Items {
		p := &list.Items[i]
		if p.DeletionTimestamp != nil {
			continue
		}
		v := envValue(u.container(&p.Spec), "RECEIVER_VERSION")
		if v == "" {
			v = "alpha"
		}
		reps = append(reps, chaos.Replica{Name: p.Name, Address: podAddress(p, u.Port), Version: v, Ready: podReady(p)})
	}
	slices.SortFunc(reps, func(a, b chaos.Replica) int { return strings.Compare(a.Name, b.Name) })
	if u.HTTP != nil {
		var wg sync.WaitGroup
		for i := range reps {
			if reps[i].Address == "" {
				continue
			}
			wg.Go(func() {
				cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				defer cancel()
				cfg, err := u.HTTP.Config(cctx, reps[i].Address)
				if err != nil {
					reps[i].Ready = false
					return
				}
				reps[i].Version, reps[i].Generation = cfg.Version, cfg.Generation
			})
		}
		wg.Wait()
	}
	return reps, nil
}

// Upgrade implements chaos.Upgrader.
func (u *Upgrader) Upgrade(ctx context.Context, plan chaos.UpgradePlan) error {
	switch plan.Type {
	case chaos.InPlace:
		return u.inPlace(ctx, plan)
	case chaos.Rollout, chaos.MaxSurge:
		d, err := u.Patch(ctx, plan)
		if err != nil {
			return err
		}
		return u.waitRollout(ctx, d.Generation)
	}
	return fmt.Errorf("unknown upgrade type %q", plan.Type)
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
// updated and available, no old replica left; or until the rollout stalls past its progress
// deadline, or ctx ends. Watch events trigger a re-check; the poll period covers a watch the
// API server closed.
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
	for {
		st, err := u.Status(ctx)
		if err != nil {
			return err
		}
		if st.Paused {
			return fmt.Errorf("deployment %s is paused, nothing rolls out (kubectl -n %s rollout resume deployment/%s)", u.Deployment, u.Namespace, u.Deployment)
		}
		if st.ObservedGeneration >= generation {
			if st.Stalled {
				return fmt.Errorf("rollout of deployment %s stalled: %s", u.Deployment, st.Progress())
			}
			if st.Complete {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("rollout of deployment %s not done: %s: %w", u.Deployment, st.Progress(), ctx.Err())
		case _, ok := <-events:
			if !ok {
				events = nil
			}
		case <-tick.C:
		}
	}
}

// inPlace reconfigures every replica at once through its admin API, without a restart.
func (u *Upgrader) inPlace(ctx context.Context, plan chaos.UpgradePlan) error {
	if u.HTTP == nil {
		return errors.New("IN_PLACE needs the receivers' admin API client")
	}
	reps, err := u.Replicas(ctx)
	if err != nil {
		return err
	}
	if len(reps) == 0 {
		return fmt.Errorf("deployment %s has no pods to upgrade in place", u.Deployment)
	}
	errs := make([]error, len(reps))
	var wg sync.WaitGroup
	for i, r := range reps {
		if r.Address == "" {
			errs[i] = fmt.Errorf("%s has no pod IP yet", r.Name)
			continue
		}
		wg.Go(func() {
			if _, err := u.HTTP.SetConfig(ctx, r.Address, plan.Version, message(plan)); err != nil {
				errs[i] = fmt.Errorf("%s: %w", r.Name, err)
			}
		})
	}
	wg.Wait()
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
