package docker_test

import (
	"fmt"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/shared/chaos"
	"chaossuite.dev/shared/chaos/chaostest"
	"chaossuite.dev/shared/chaos/docker"
)

// byImage is the docker driver by image over the fake engine, for the Upgrader contract: the
// replicas are containers of web:1, a fault rides on a label their replacements copy.
type byImage struct{}

const faultLabel = "chaostest.fault"

func (byImage) Versions() (string, string)        { return "web:1", "web:2" }
func (byImage) Supports(t chaos.UpgradeType) bool { return t != chaos.InPlace }
func (byImage) ResetReplaces() bool               { return true }

func (byImage) New(t *testing.T, s chaostest.Setup) chaos.Upgrader {
	f := newFakeEngine()
	f.image("web:1", newImage("web:1"))
	f.image("web:2", newImage("web:2"))
	for i := range s.Replicas {
		f.add(fmt.Sprintf("proj-web-%d", i+1), "web:1", map[string]string{
			docker.ProjectLabel: "proj", "com.docker.compose.service": "web", faultLabel: string(s.Faults[i]),
		}, true)
	}
	changed := func(c *container.Config, fault chaostest.Fault) bool {
		return c.Image == "web:2" && c.Labels[faultLabel] == string(fault)
	}
	f.refuses = func(c *container.Config) bool { return changed(c, chaostest.Refuses) }
	f.health = func(c *container.Config) container.HealthStatus {
		if changed(c, chaostest.NeverServes) {
			return container.Starting
		}
		return container.Healthy
	}
	u, err := docker.NewUpgrader(t.Context(), docker.UpgraderConfig{
		Client: f, Label: web, Project: "proj", ByImage: true, StepTimeout: s.StepTimeout,
	})
	require.NoError(t, err)
	return u
}

func TestUpgraderContract(t *testing.T) { chaostest.TestUpgrader(t, byImage{}) }
