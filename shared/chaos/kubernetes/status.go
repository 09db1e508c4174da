package kubernetes

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

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
	Version            string      `json:"version"` // RECEIVER_VERSION of the pod template, or its image by image
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
	name, err := u.containerName(d)
	if err != nil {
		return Status{}, err
	}
	st := deploymentStatus(d, container(&d.Spec.Template.Spec, name))
	if u.ByImage {
		st.Version = u.specVersion(container(&d.Spec.Template.Spec, name))
	}
	return st, nil
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
