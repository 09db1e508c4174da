package docker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"chaossuite.dev/shared/config"
)

// DefaultLabel marks the containers the drivers may touch.
const DefaultLabel = "chaos.target=receiver"

// Engine is the part of the Docker Engine API the drivers use. *client.Client implements it.
type Engine interface {
	ContainerList(ctx context.Context, options container.ListOptions) ([]container.Summary, error)
	ContainerInspect(ctx context.Context, container string) (container.InspectResponse, error)
	ContainerCreate(ctx context.Context, config *container.Config, hostConfig *container.HostConfig, networkingConfig *network.NetworkingConfig, platform *ocispec.Platform, containerName string) (container.CreateResponse, error)
	ContainerStart(ctx context.Context, container string, options container.StartOptions) error
	ContainerStop(ctx context.Context, container string, options container.StopOptions) error
	ContainerKill(ctx context.Context, container, signal string) error
	ContainerPause(ctx context.Context, container string) error
	ContainerUnpause(ctx context.Context, container string) error
	ContainerRemove(ctx context.Context, container string, options container.RemoveOptions) error
	NetworkConnect(ctx context.Context, network, container string, config *network.EndpointSettings) error
	NetworkDisconnect(ctx context.Context, network, container string, force bool) error
	ImageInspect(ctx context.Context, image string, opts ...client.ImageInspectOption) (image.InspectResponse, error)
}

// RestartDelay is how long a node the killer stopped or halted stays down before the killer
// starts it again; 0 (NODE_RESTART_DELAY=never) leaves it down.
type RestartDelay time.Duration

// UnmarshalText implements encoding.TextUnmarshaler: a positive duration, or never.
func (d *RestartDelay) UnmarshalText(b []byte) error {
	s := string(b)
	if s == "never" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v <= 0 || v > 24*time.Hour {
		return config.Invalid("NODE_RESTART_DELAY", s, "a positive duration of at most 24h such as 5s, or never")
	}
	*d = RestartDelay(v)
	return nil
}

// String implements fmt.Stringer.
func (d RestartDelay) String() string {
	if d <= 0 {
		return "never"
	}
	return time.Duration(d).String()
}

// validateTarget checks the settings that say which containers are targets.
func validateTarget(label string, port int) error {
	if k, _, ok := strings.Cut(label, "="); !ok || k == "" {
		return config.Invalid("TARGET_LABEL", label, "a label key=value such as chaos.target=receiver or com.docker.compose.service=web")
	}
	if port < 1 || port > 65535 {
		return config.Invalid("TARGET_PORT", strconv.Itoa(port), "a port number from 1 to 65535")
	}
	return nil
}

// connect returns eng, or when it is nil a client of the engine at host (empty: the
// environment's DOCKER_HOST, else the local socket) with the close function to release it.
func connect(eng Engine, host string) (Engine, func() error, error) {
	if eng != nil {
		return eng, func() error { return nil }, nil
	}
	// client.FromEnv reads the TLS and API version settings the Docker CLI reads.
	opts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if host != "" {
		opts = append(opts, client.WithHost(host))
	}
	cl, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return nil, nil, config.Invalid("DOCKER_HOST", host, "a Docker Engine address such as unix:///var/run/docker.sock ("+err.Error()+")")
	}
	return cl, cl.Close, nil
}

// locate finds the driver's own container (self: its id or id prefix, the HOSTNAME docker
// gives a container) and the compose project it belongs to; project is the fallback when the
// own container cannot be read or carries no project label.
func locate(ctx context.Context, eng Engine, self, project string) (string, string, error) {
	var why error
	if self != "" {
		j, err := eng.ContainerInspect(ctx, self)
		switch {
		case err != nil:
			why = err
		default:
			self = j.ID
			if j.Config != nil && j.Config.Labels[ProjectLabel] != "" {
				project = j.Config.Labels[ProjectLabel]
			} else {
				why = fmt.Errorf("the own container has no %s label", ProjectLabel)
			}
		}
	} else {
		why = errors.New("HOSTNAME is unset")
	}
	if project == "" {
		return "", "", config.Invalid("COMPOSE_PROJECT", "", fmt.Sprintf("the compose project of the targets, since the own container (HOSTNAME=%q) gives none: %v", self, why))
	}
	return self, project, nil
}
