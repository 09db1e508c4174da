package docker

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/docker/docker/client"
)

// DefaultLabel marks the containers the drivers may touch.
const DefaultLabel = "chaos.target=receiver"

// ConfigFromEnv builds a KillerConfig from the environment: DOCKER_HOST (and the other
// variables client.FromEnv reads), TARGET_LABEL, NODE_RESTART_DELAY (5s; "never" leaves a
// killed node down) and COMPOSE_PROJECT, the fallback when the label of the own container
// (id from HOSTNAME) cannot be read.
func ConfigFromEnv(ctx context.Context, getenv func(string) string, logger *slog.Logger) (KillerConfig, error) {
	cfg := KillerConfig{Label: getenv("TARGET_LABEL"), Port: 8000, RestartDelay: 5 * time.Second, Logger: logger}
	if cfg.Label == "" {
		cfg.Label = DefaultLabel
	}
	switch d := getenv("NODE_RESTART_DELAY"); d {
	case "":
	case "never":
		cfg.RestartDelay = 0
	default:
		v, err := time.ParseDuration(d)
		if err != nil || v <= 0 {
			return cfg, fmt.Errorf("NODE_RESTART_DELAY=%q: want a positive duration or never", d)
		}
		cfg.RestartDelay = v
	}
	// client.FromEnv reads the process environment; mirror getenv's DOCKER_* into options.
	opts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if h := getenv("DOCKER_HOST"); h != "" && h != os.Getenv("DOCKER_HOST") {
		opts = append(opts, client.WithHost(h))
	}
	cl, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return cfg, fmt.Errorf("docker client: %w", err)
	}
	cfg.Client = cl
	cfg.Self = getenv("HOSTNAME")
	cfg.Project = getenv("COMPOSE_PROJECT")
	if cfg.Self != "" {
		if j, err := cl.ContainerInspect(ctx, cfg.Self); err == nil {
			cfg.Self = j.ID
			if p := j.Config.Labels[ProjectLabel]; p != "" {
				cfg.Project = p
			}
		}
	}
	if cfg.Project == "" {
		return cfg, fmt.Errorf("no compose project: the own container (HOSTNAME=%q) has no %s label and COMPOSE_PROJECT is unset", cfg.Self, ProjectLabel)
	}
	return cfg, nil
}
