package httpdriver_test

import (
	"testing"
	"time"

	"chaossuite.dev/shared/chaos"
	"chaossuite.dev/shared/chaos/chaostest"
	"chaossuite.dev/shared/chaos/httpdriver"
)

// loopback is the http driver over loopback receivers, for the Upgrader contract.
type loopback struct{}

func (loopback) Versions() (string, string)      { return "alpha", "beta" }
func (loopback) Supports(chaos.UpgradeType) bool { return true }

func (loopback) New(t *testing.T, s chaostest.Setup) chaos.Upgrader {
	var targets []string
	for i := range s.Replicas {
		targets = append(targets, chaostest.NewReceiver(t, "alpha", s.Faults[i]).URL())
	}
	return &httpdriver.Upgrader{
		Discovery:   httpdriver.Discovery{Targets: targets},
		Client:      &httpdriver.Client{Token: "t", Timeout: time.Second},
		StepTimeout: s.StepTimeout,
		Poll:        10 * time.Millisecond,
	}
}

func TestUpgraderContract(t *testing.T) { chaostest.TestUpgrader(t, loopback{}) }
