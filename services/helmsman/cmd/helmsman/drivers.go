package main

import (
	"context"
	"strings"
	"time"

	"chaossuite.dev/shared/chaos"
	"chaossuite.dev/shared/chaos/docker"
	"chaossuite.dev/shared/chaos/httpdriver"
	"chaossuite.dev/shared/chaos/kubernetes"
	"chaossuite.dev/shared/config"
	"chaossuite.dev/shared/httpclient"
	"chaossuite.dev/shared/receiverapi"
	"chaossuite.dev/shared/service"
	"chaossuite.dev/shared/telemetry"
)

// upgradeDrivers are the UPGRADE_DRIVER choices; newUpgrader builds each.
var upgradeDrivers = []string{"docker", "http", "kubernetes"}

// newUpgrader builds the upgrade driver cfg names and the function that releases it. A new
// driver is one more case here and one more name in upgradeDrivers.
func newUpgrader(ctx context.Context, cfg *Config, rt *service.Runtime) (chaos.Upgrader, func(), error) {
	switch cfg.Driver {
	case "docker":
		return newDockerUpgrader(ctx, cfg, rt)
	case "http":
		return newHTTPUpgrader(cfg, rt.Telemetry)
	case "kubernetes":
		return newKubernetesUpgrader(cfg, rt)
	}
	return nil, nil, config.Invalid("UPGRADE_DRIVER", cfg.Driver, "one of "+strings.Join(upgradeDrivers, ", "))
}

func newHTTPUpgrader(cfg *Config, tel *telemetry.Telemetry) (chaos.Upgrader, func(), error) {
	return &httpdriver.Upgrader{
		Discovery:    cfg.discovery(),
		Client:       &receiverapi.Client{HTTP: httpclient.New(tel, 8), Token: cfg.AuthToken},
		StepTimeout:  cfg.StepTimeout,
		StepPause:    cfg.StepPause,
		ProbeTimeout: min(max(cfg.StatusInterval, 500*time.Millisecond), 2*time.Second),
	}, func() {}, nil
}

// newKubernetesUpgrader patches the receiver Deployment (K8S_NAMESPACE, K8S_DEPLOYMENT) and
// reaches the pods' admin API for IN_PLACE upgrades and resets, through the pod's
// ServiceAccount or outside a cluster through the kubeconfig.
func newKubernetesUpgrader(cfg *Config, rt *service.Runtime) (chaos.Upgrader, func(), error) {
	kc := cfg.Kubernetes
	kc.ByImage, kc.ReadinessPath = cfg.byImage(), cfg.ReadinessPath
	up, conn, err := kubernetes.ConnectUpgrader(kc, &receiverapi.Client{HTTP: httpclient.New(rt.Telemetry, 8), Token: cfg.AuthToken})
	if err != nil {
		return nil, nil, err
	}
	up.StepTimeout = cfg.StepTimeout
	rt.Logger.Info("kubernetes driver connected", "namespace", conn.Namespace, "deployment", kc.Deployment, "through", conn.Source)
	return up, func() {}, nil
}

// newDockerUpgrader replaces the containers carrying TARGET_LABEL in its own compose project
// for ROLLOUT and MAX_SURGE, and reaches their admin API for IN_PLACE upgrades and resets (by
// receiver version), or replaces them with the new image (by image).
func newDockerUpgrader(ctx context.Context, cfg *Config, rt *service.Runtime) (chaos.Upgrader, func(), error) {
	up, err := docker.NewUpgrader(ctx, cfg.dockerUpgrader(rt))
	if err != nil {
		return nil, nil, err
	}
	return up, func() { _ = up.Close() }, nil
}

// dockerUpgrader is the docker driver's configuration: DOCKER_HOST and the target settings,
// with the helmsman's own upgrade settings.
func (cfg *Config) dockerUpgrader(rt *service.Runtime) docker.UpgraderConfig {
	dc := cfg.Docker
	dc.ByImage, dc.ReadinessPath, dc.StepTimeout, dc.Logger = cfg.byImage(), cfg.ReadinessPath, cfg.StepTimeout, rt.Logger
	hc := httpclient.New(rt.Telemetry, 8)
	dc.HTTP = &receiverapi.Client{HTTP: hc, Token: cfg.AuthToken}
	dc.Probe = hc
	return dc
}
