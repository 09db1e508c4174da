package main

import (
	"context"
	"maps"
	"slices"
	"strings"

	"chaossuite.dev/shared/chaos"
	"chaossuite.dev/shared/chaos/docker"
	"chaossuite.dev/shared/chaos/httpdriver"
	"chaossuite.dev/shared/chaos/kubernetes"
	"chaossuite.dev/shared/config"
	"chaossuite.dev/shared/httpclient"
	"chaossuite.dev/shared/receiverapi"
	"chaossuite.dev/shared/service"
)

// newDriver builds a kill driver and the function that releases it.
type newDriver func(ctx context.Context, cfg Config, rt *service.Runtime) (chaos.Killer, func(), error)

// drivers are the KILL_DRIVER choices.
var drivers = map[string]newDriver{
	"docker":     newDockerDriver,
	"http":       newHTTPDriver,
	"kubernetes": newKubernetesDriver,
}

func driverNames() string {
	return "one of " + strings.Join(slices.Sorted(maps.Keys(drivers)), ", ")
}

// HTTPDriverConfig is the http driver's settings: the receivers as a list or by DNS.
type HTTPDriverConfig struct {
	Targets   []string `env:"TARGETS" envSeparator:","`
	TargetDNS string   `env:"TARGET_DNS"`
}

func newHTTPDriver(_ context.Context, cfg Config, rt *service.Runtime) (chaos.Killer, func(), error) {
	d := httpdriver.Discovery{Targets: cfg.HTTP.Targets, DNS: cfg.HTTP.TargetDNS}
	if err := d.Validate(); err != nil {
		return nil, nil, config.Invalid("TARGETS", strings.Join(cfg.HTTP.Targets, ","), "receiver base URLs such as http://127.0.0.1:8000,... or TARGET_DNS=receiver:8000 ("+err.Error()+")")
	}
	k := &httpdriver.Killer{
		Discovery: d,
		Client:    &receiverapi.Client{HTTP: httpclient.New(rt.Telemetry, 8), Token: cfg.AuthToken},
		Self:      cfg.ListenAddr, // its own address in TARGETS is never a node
	}
	return k, func() {}, nil
}

// newKubernetesDriver deletes receiver pods (K8S_NAMESPACE, K8S_SELECTOR), never its own
// (POD_NAME), through the pod's ServiceAccount, or outside a cluster through the kubeconfig.
func newKubernetesDriver(_ context.Context, cfg Config, rt *service.Runtime) (chaos.Killer, func(), error) {
	k, conn, err := kubernetes.ConnectKiller(cfg.Kubernetes)
	if err != nil {
		return nil, nil, err
	}
	k.Logger = rt.Logger
	rt.Logger.Info("kubernetes driver connected", "namespace", conn.Namespace, "selector", cfg.Kubernetes.Selector, "through", conn.Source)
	return k, func() { _ = k.Close() }, nil // heals pending partitions
}

// newDockerDriver kills the containers carrying TARGET_LABEL in its own compose project through
// the Docker socket, never its own container, and starts a stopped one again after
// NODE_RESTART_DELAY.
func newDockerDriver(ctx context.Context, cfg Config, rt *service.Runtime) (chaos.Killer, func(), error) {
	dc := cfg.Docker
	dc.Logger = rt.Logger
	k, err := docker.NewKiller(ctx, dc)
	if err != nil {
		return nil, nil, err
	}
	return k, func() { _ = k.Close() }, nil
}
