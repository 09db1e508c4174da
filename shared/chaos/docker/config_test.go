package docker_test

import (
	"context"
	"testing"
	"time"

	"chaossuite.dev/shared/chaos/docker"
)

func TestConfigFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		delay   time.Duration
		label   string
		wantErr bool
	}{
		{"defaults", map[string]string{"COMPOSE_PROJECT": "p"}, 5 * time.Second, "chaos.target=receiver", false},
		{"never", map[string]string{"COMPOSE_PROJECT": "p", "NODE_RESTART_DELAY": "never"}, 0, "chaos.target=receiver", false},
		{"delay and label", map[string]string{"COMPOSE_PROJECT": "p", "NODE_RESTART_DELAY": "2s", "TARGET_LABEL": "a=b"}, 2 * time.Second, "a=b", false},
		{"bad delay", map[string]string{"COMPOSE_PROJECT": "p", "NODE_RESTART_DELAY": "soon"}, 0, "", true},
		{"no project", map[string]string{"DOCKER_HOST": "tcp://127.0.0.1:1"}, 0, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"DOCKER_HOST": "tcp://127.0.0.1:1"} // nothing answers: no engine is needed
			for k, v := range tt.env {
				env[k] = v
			}
			cfg, err := docker.ConfigFromEnv(context.Background(), func(k string) string { return env[k] }, nil)
			if tt.wantErr {
				if err == nil {
					t.Fatal("want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.RestartDelay != tt.delay || cfg.Label != tt.label || cfg.Project != "p" {
				t.Fatalf("got %+v", cfg)
			}
		})
	}
}
