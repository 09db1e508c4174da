package main

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"chaossuite.dev/shared/chaos"
	"chaossuite.dev/shared/chaos/docker"
	"chaossuite.dev/shared/chaos/httpdriver"
	"chaossuite.dev/shared/chaos/kubernetes"
	"chaossuite.dev/shared/config"
	"chaossuite.dev/shared/httpclient"
	"chaossuite.dev/shared/telemetry"
)

// upgradeDrivers are the UPGRADE_DRIVER choices; newUpgrader builds each.
var upgradeDrivers = []string{"docker", "http", "kubernetes"}

// newUpgrader builds the upgrade driver cfg names and the function that releases it. A new
// driver is one more case here and one more name in upgradeDrivers.
func newUpgrader(ctx context.Context, cfg *Config, getenv func(string) string, tel *telemetry.Telemetry) (chaos.Upgrader, func(), error) {
	switch cfg.Driver {
	case "docker":
		return newDockerUpgrader(ctx, cfg, getenv, tel)
	case "http":
		return newHTTPUpgrader(cfg, tel)
	case "kubernetes":
		return newKubernetesUpgrader(cfg, getenv, tel)
	}
	return nil, nil, config.Invalid("UPGRADE_DRIVER", cfg.Driver, "one of "+strings.Join(upgradeDrivers, ", "))
}

func newHTTPUpgrader(cfg *Config, tel *telemetry.Telemetry) (chaos.Upgrader, func(), error) {
	return &httpdriver.Upgrader{
		Discovery:    cfg.discovery(),
		Client:       &httpdriver.Client{HTTP: httpclient.New(tel, 8), Token: cfg.AuthToken},
		StepTimeout:  cfg.StepTimeout,
		StepPause:    cfg.StepPause,
		ProbeTimeout: min(max(cfg.StatusInterval, 500*time.Millisecond), 2*time.Second),
	}, func() {}, nil
}

// newKubernetesUpgrader patches the receiver Deployment (K8S_NAMESPACE, K8S_DEPLOYMENT) and
// reaches the pods' admin API for IN_PLACE upgrades and resets, through the pod's
// ServiceAccount or outside a cluster through the kubeconfig.
func newKubernetesUpgrader(cfg *Config, getenv func(string) string, tel *telemetry.Telemetry) (chaos.Upgrader, func(), error) {
	kc, err := config.Load[kubernetes.UpgraderConfig](getenv)
	if err != nil {
		return nil, nil, err
	}
	up, conn, err := kubernetes.ConnectUpgrader(kc, &httpdriver.Client{HTTP: httpclient.New(tel, 8), Token: cfg.AuthToken})
	if err != nil {
		return nil, nil, err
	}
	up.StepTimeout = cfg.StepTimeout
	slog.Info("kubernetes driver connected", "namespace", conn.Namespace, "deployment", kc.Deployment, "through", conn.Source)
	return up, func() {}, nil
}

// newDockerUpgrader replaces the labelled containers of its own compose project for ROLLOUT
// and MAX_SURGE, and reaches their admin API for IN_PLACE upgrades and resets.
func newDockerUpgrader(ctx context.Context, cfg *Config, getenv func(string) string, tel *telemetry.Telemetry) (chaos.Upgrader, func(), error) {
	dc, err := docker.ConfigFromEnv(ctx, getenv, slog.Default())
	if err != nil {
		return nil, nil, err
	}
	up, err := docker.NewUpgrader(docker.UpgraderConfig{
		Client: dc.Client, Label: dc.Label, Project: dc.Project, Port: dc.Port,
		HTTP: &httpdriver.Client{HTTP: httpclient.New(tel, 8), Token: cfg.AuthToken},
	})
	if err != nil {
		return nil, nil, err
	}
	return up, func() { _ = dc.Client.Close() }, nil
}
