package docker

import (
	"maps"
	"slices"

	"github.com/docker/docker/api/types/container"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
)

// withoutImageDefaults returns the container config cfg without what its image img gave it.
// The engine reports a container's config with its image's defaults merged in (environment,
// entrypoint, command, health check, labels): a replacement on a new image must take the new
// image's defaults, not carry the old image's, and keep only what the container itself set.
func withoutImageDefaults(cfg container.Config, img *dockerspec.DockerOCIImageConfig) container.Config {
	if img == nil {
		return cfg
	}
	cfg.Env = slices.DeleteFunc(slices.Clone(cfg.Env), func(kv string) bool { return slices.Contains(img.Env, kv) })
	// An entrypoint the container sets drops the image's command: keep the command with it.
	if slices.Equal(cfg.Entrypoint, img.Entrypoint) {
		cfg.Entrypoint = nil
		if slices.Equal(cfg.Cmd, img.Cmd) {
			cfg.Cmd = nil
		}
	}
	if cfg.WorkingDir == img.WorkingDir {
		cfg.WorkingDir = ""
	}
	if cfg.User == img.User {
		cfg.User = ""
	}
	if cfg.StopSignal == img.StopSignal {
		cfg.StopSignal = ""
	}
	if h, ih := cfg.Healthcheck, img.Healthcheck; h != nil && ih != nil && slices.Equal(h.Test, ih.Test) &&
		h.Interval == ih.Interval && h.Timeout == ih.Timeout && h.StartPeriod == ih.StartPeriod && h.Retries == ih.Retries {
		cfg.Healthcheck = nil
	}
	labels := maps.Clone(cfg.Labels)
	maps.DeleteFunc(labels, func(k, v string) bool { iv, ok := img.Labels[k]; return ok && iv == v })
	cfg.Labels = labels
	return cfg
}
