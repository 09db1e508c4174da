package kubernetes

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"chaossuite.dev/shared/chaos"
)

// Replicas implements chaos.Upgrader: the pods of the Deployment's selector that are not being
// deleted. Ready is the pod's Ready condition (or, with ReadinessPath, a GET of that path on
// the pod answering 2xx), and Reason says why a pod is not ready. With ByImage, Version is the
// image of the upgraded container in the pod's spec. Otherwise it is what the pod serves when
// its admin API answers (the receiver's /admin/config), else the RECEIVER_VERSION of its spec
// ("alpha" when unset, the receiver's default): a service without that API is still followed
// from its pods.
func (u *Upgrader) Replicas(ctx context.Context) ([]chaos.Replica, error) {
	obs, err := u.observe(ctx)
	if err != nil {
		return nil, err
	}
	reps := make([]chaos.Replica, len(obs))
	for i, o := range obs {
		reps[i] = o.Replica
	}
	return reps, nil
}

// observed is one replica as the platform shows it, and whether its version is the replica's
// own word (its admin API answered) rather than what its spec says it should serve.
type observed struct {
	chaos.Replica
	served bool
}

// lag says why o does not count as serving version, or "" when it does.
func (o observed) lag(version string) string {
	switch {
	case !o.Ready:
		return "is not ready: " + o.Reason
	case !o.served:
		return "did not answer with the version it serves"
	case o.Version != version:
		return fmt.Sprintf("serves %q, not %q", o.Version, version)
	}
	return ""
}

// observe lists the replicas: with ReadinessPath it asks each pod that path; without ByImage
// it asks each ready pod's admin API (when there is a client) what it serves.
func (u *Upgrader) observe(ctx context.Context) ([]observed, error) {
	d, pods, err := u.pods(ctx)
	if err != nil {
		return nil, err
	}
	name, err := u.containerName(d)
	if err != nil {
		return nil, err
	}
	obs := make([]observed, 0, len(pods))
	for i := range pods {
		p := &pods[i]
		if p.DeletionTimestamp != nil {
			continue
		}
		r := chaos.Replica{Name: p.Name, Address: podAddress(p, u.Port), Version: u.specVersion(container(&p.Spec, name)), Ready: podReady(p)}
		if !r.Ready {
			r.Reason = notReadyReason(p)
		}
		obs = append(obs, observed{Replica: r, served: u.ByImage || u.HTTP == nil})
	}
	slices.SortFunc(obs, func(a, b observed) int { return strings.Compare(a.Name, b.Name) })
	if u.ReadinessPath != "" {
		var wg sync.WaitGroup
		for i := range obs {
			wg.Go(func() { obs[i].Ready, obs[i].Reason = u.probe(ctx, obs[i].Address) })
		}
		wg.Wait()
	}
	if u.HTTP != nil && !u.ByImage {
		var wg sync.WaitGroup
		for i := range obs {
			if obs[i].Address == "" || !obs[i].Ready {
				continue
			}
			wg.Go(func() {
				cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				defer cancel()
				if cfg, err := u.HTTP.Config(cctx, obs[i].Address); err == nil {
					obs[i].Version, obs[i].Generation, obs[i].served = cfg.Version, cfg.Generation, true
				}
			})
		}
		wg.Wait()
	}
	return obs, nil
}

// readBack returns once every pod the API server lists is ready and serves version, read
// back through the platform, giving them StepTimeout. fix, when not nil, is asked on each
// look to bring the pods that lag to version, within the time left (IN_PLACE: a pod that
// came up meanwhile from the old spec). It fails as unverified naming the first pod that
// lags and why, unreachable when the API server stops answering, or canceled.
func (u *Upgrader) readBack(ctx context.Context, version string, fix func(ctx context.Context, lagging []chaos.Replica, left time.Duration) error) error {
	deadline := time.Now().Add(u.stepTimeout())
	tick := time.NewTicker(u.poll())
	defer tick.Stop()
	for {
		var why error
		obs, err := u.observe(ctx)
		switch {
		case err != nil && IsForbidden(err):
			return &chaos.UpgradeError{Reason: chaos.ReasonRefused, Err: err}
		case err != nil:
			why = &chaos.UpgradeError{Reason: chaos.ReasonUnreachable, Err: err}
		case len(obs) == 0:
			why = &chaos.UpgradeError{Reason: chaos.ReasonUnverified, Err: fmt.Errorf("deployment %s has no pods", u.Deployment)}
		default:
			var lagging []chaos.Replica
			for _, o := range obs {
				if lag := o.lag(version); lag != "" {
					if why == nil {
						why = &chaos.UpgradeError{Replica: o.Name, Reason: chaos.ReasonUnverified, Err: fmt.Errorf("read back after the upgrade to %q: %s", version, lag)}
					}
					lagging = append(lagging, o.Replica)
				}
			}
			if why == nil {
				return nil
			}
			if fix != nil {
				if err := fix(ctx, lagging, time.Until(deadline)); err != nil {
					why = err
				}
			}
		}
		if ctx.Err() != nil {
			return &chaos.UpgradeError{Reason: chaos.ReasonCanceled, Err: fmt.Errorf("%w: %w", ctx.Err(), why)}
		}
		if !time.Now().Before(deadline) {
			return why
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
}

func (u *Upgrader) poll() time.Duration {
	if u.Poll > 0 {
		return u.Poll
	}
	return time.Second
}

// probe GETs ReadinessPath on a pod's address: ready on a 2xx answer, else why not.
func (u *Upgrader) probe(ctx context.Context, base string) (bool, string) {
	if base == "" {
		return false, "no pod IP yet"
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+u.ReadinessPath, nil)
	if err != nil {
		return false, err.Error()
	}
	hc := u.Probe
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return false, fmt.Sprintf("GET %s: %v", u.ReadinessPath, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return false, fmt.Sprintf("GET %s answered %d", u.ReadinessPath, resp.StatusCode)
	}
	return true, ""
}

// pods reads the Deployment and lists the pods of its selector.
func (u *Upgrader) pods(ctx context.Context) (*appsv1.Deployment, []corev1.Pod, error) {
	d, err := u.deployment(ctx)
	if err != nil {
		return nil, nil, err
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil, nil, fmt.Errorf("deployment %s has a bad selector: %w", u.Deployment, err)
	}
	list, err := u.Client.CoreV1().Pods(u.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, nil, apiError(err, "list", "pods", u.Namespace, upgraderRole)
	}
	return d, list.Items, nil
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
