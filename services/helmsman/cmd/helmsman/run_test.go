package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/shared/chaos"
	"chaossuite.dev/shared/config"
	"chaossuite.dev/shared/service"
)

func TestBadConfigExits2WithOneLine(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"UPGRADE_TYPES": "IN_PLACE,SIDEWAYS"}, `invalid UPGRADE_TYPES="IN_PLACE,SIDEWAYS": want a comma-separated list of IN_PLACE, ROLLOUT, MAX_SURGE`},
		{map[string]string{"VERSIONS": "beta,,alpha"}, `invalid VERSIONS="beta,,alpha": want a comma-separated list of versions`},
		{map[string]string{"VERSIONS": "beta,beta"}, `invalid VERSIONS="beta,beta": want a list without repeats`},
		{map[string]string{"VERSIONS": "beta,al/pha"}, `invalid VERSIONS="beta,al/pha"`},
		{map[string]string{"SURGE_PERCENTS": "20,150"}, `invalid SURGE_PERCENTS="20,150"`},
		{map[string]string{"GRACE_PERIOD": "10s"}, `invalid GRACE_PERIOD="10s": want more than twice STATUS_INTERVAL (over 10s)`},
		{map[string]string{"STATUS_INTERVAL": "-1s"}, `invalid STATUS_INTERVAL="-1s"`},
		{map[string]string{"LOST_AFTER": "1s"}, `invalid LOST_AFTER="1s": want at least STATUS_INTERVAL (5s)`},
		{map[string]string{"EXPECTED_REPLICAS": "0"}, `invalid EXPECTED_REPLICAS="0"`},
		{map[string]string{"UPGRADE_DRIVER": "ssh"}, `invalid UPGRADE_DRIVER="ssh": want one of docker, http, kubernetes`},
		{map[string]string{"TARGETS": "receiver:8000"}, `invalid TARGETS="receiver:8000"`},
		{map[string]string{"TARGET_DNS": "receiver"}, `invalid TARGET_DNS="receiver": want host:port`},
		{map[string]string{"TARGET_DNS": "receiver:8000", "TARGETS": "http://a:1"}, `invalid TARGET_DNS="receiver:8000": want unset when TARGETS is set`},
		{map[string]string{"RECEIVER_TARGETS": "http://user:pw@a:1"}, `invalid RECEIVER_TARGETS="http://redacted@a:1": want it renamed: set TARGETS instead`},
		{map[string]string{"RECEIVER_DNS": "receiver:8000"}, `invalid RECEIVER_DNS="receiver:8000": want it renamed: set TARGET_DNS instead`},
		{map[string]string{"UPGRADE_BY": "tarball"}, `invalid UPGRADE_BY="tarball": want receiver or image`},
		{map[string]string{"UPGRADE_BY": "image"}, `invalid UPGRADE_BY="image": want receiver with UPGRADE_DRIVER=http`},
		{map[string]string{"UPGRADE_BY": "image", "UPGRADE_DRIVER": "docker"}, `invalid VERSIONS="beta,alpha": want with UPGRADE_BY=image a comma-separated list of image references with a tag or digest`},
		{map[string]string{"UPGRADE_BY": "image", "UPGRADE_DRIVER": "docker", "VERSIONS": "web:1,Bad Image:2"}, `invalid VERSIONS="web:1,Bad Image:2"`},
		{map[string]string{"UPGRADE_BY": "image", "UPGRADE_DRIVER": "docker", "VERSIONS": "web:1,web:2", "UPGRADE_TYPES": "ROLLOUT,IN_PLACE"},
			`invalid UPGRADE_TYPES="ROLLOUT,IN_PLACE": want ROLLOUT or MAX_SURGE only: IN_PLACE changes a receiver through its admin API`},
		{map[string]string{"UPGRADE_BY": "image", "UPGRADE_DRIVER": "docker", "VERSIONS": "web:1,web:2", "READINESS_PATH": "status"}, `invalid READINESS_PATH="status": want a path on the replicas`},
		{map[string]string{"UPGRADE_BY": "image", "UPGRADE_DRIVER": "docker", "VERSIONS": "web:1,web:2", "READINESS_PATH": "//evil.example/x"}, `invalid READINESS_PATH="//evil.example/x"`},
		{map[string]string{"READINESS_PATH": "/status/200"}, `invalid READINESS_PATH="/status/200": want unset unless UPGRADE_BY=image`},
		{map[string]string{"UPGRADE_DRIVER": "docker", "TARGET_LABEL": "web"}, `invalid TARGET_LABEL="web": want a label key=value`},
		{map[string]string{"UPGRADE_DRIVER": "docker", "TARGET_PORT": "99999"}, `invalid TARGET_PORT="99999"`},
		// Outside a container (no HOSTNAME) the project must be named; no engine is asked.
		{map[string]string{"UPGRADE_DRIVER": "docker", "DOCKER_HOST": "tcp://127.0.0.1:1"}, `invalid COMPOSE_PROJECT=""`},
		{map[string]string{"UPGRADE_INTERVAL": "soon"}, `invalid UPGRADE_INTERVAL="soon"`},
		{map[string]string{"STATUS_INTERVAL": "1ns"}, `invalid STATUS_INTERVAL="1ns": want a positive duration such as 5s, from 100ms to 1h`},
		{map[string]string{"STATUS_INTERVAL": "2000000h"}, `invalid STATUS_INTERVAL="2000000h0m0s"`},
		{map[string]string{"UPGRADE_INTERVAL": "1ns"}, `invalid UPGRADE_INTERVAL="1ns"`},
		{map[string]string{"UPGRADE_STEP_TIMEOUT": "1ns"}, `invalid UPGRADE_STEP_TIMEOUT="1ns"`},
		{map[string]string{"UPGRADE_STEP_PAUSE": "-1s"}, `invalid UPGRADE_STEP_PAUSE="-1s"`},
		{map[string]string{"GRACE_PERIOD": "1000h"}, `invalid GRACE_PERIOD="1000h0m0s": want a duration of at most 24h`},
		{map[string]string{"LOST_AFTER": "1000h"}, `invalid LOST_AFTER="1000h0m0s"`},
		{map[string]string{"EXPECTED_REPLICAS": "100000000"}, `invalid EXPECTED_REPLICAS="100000000"`},
		{map[string]string{"IDLE_TIMEOUT": "-1s"}, `invalid IDLE_TIMEOUT="-1s"`},
	} {
		var stderr bytes.Buffer
		err := run(context.Background(), []string{"helmsman"}, func(k string) string { return tc.env[k] }, &stderr, &stderr)
		var out bytes.Buffer
		assert.Equal(t, 2, service.ExitCode("helmsman", err, &out), "%v", tc.env)
		assert.Contains(t, out.String(), tc.want)
		assert.Equal(t, 1, bytes.Count(out.Bytes(), []byte("\n")), out.String())
	}
}

func TestDefaults(t *testing.T) {
	// Intervals of a nanosecond are refused now (sane ranges at start): a second each.
	cfg := Config{StatusInterval: 100e6, UpgradeInterval: time.Second, Versions: []string{"a"}, Types: []string{"rollout"},
		SurgePercents: []string{"50%"}, ExpectedReplicas: 1, StepTimeout: time.Second, Driver: "http", UpgradeBy: byReceiver}
	common, err := config.Load[service.Common](func(string) string { return "" })
	require.NoError(t, err)
	cfg.Common = common
	assert.NoError(t, cfg.Validate())
	assert.Equal(t, "300ms", cfg.GracePeriod.String(), "three status rounds by default")
	assert.Equal(t, "300ms", cfg.LostAfter.String())
	assert.Equal(t, "receiver:8000", cfg.DNS)
	assert.Equal(t, []int{50}, cfg.surges)
}

func TestUpgradeTypesByMode(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want []chaos.UpgradeType
	}{
		{map[string]string{}, []chaos.UpgradeType{chaos.InPlace, chaos.Rollout, chaos.MaxSurge}},
		{map[string]string{"UPGRADE_BY": "image", "UPGRADE_DRIVER": "docker", "VERSIONS": "chaossuite-httpbin:v2.25.0,chaossuite-httpbin:v2.26.0", "READINESS_PATH": "/status/200"},
			[]chaos.UpgradeType{chaos.Rollout, chaos.MaxSurge}},
		{map[string]string{"UPGRADE_BY": "image", "UPGRADE_DRIVER": "docker", "VERSIONS": "ghcr.io/acme/web:1.4,ghcr.io/acme/web@sha256:" + strings.Repeat("ab", 32), "UPGRADE_TYPES": "MAX_SURGE"},
			[]chaos.UpgradeType{chaos.MaxSurge}},
	} {
		cfg, err := config.Load[Config](func(k string) string { return tc.env[k] })
		require.NoError(t, err, "%v", tc.env)
		assert.Equal(t, tc.want, cfg.types, "%v", tc.env)
		assert.Equal(t, tc.env["UPGRADE_BY"] == "image", cfg.refused()[chaos.InPlace] != "", "IN_PLACE refused through the API by image only")
	}
}

// The docker driver is handed the helmsman's own upgrade settings: UPGRADE_STEP_TIMEOUT bounds
// how long a replacement may take to get healthy, as it bounds a step of the other drivers.
func TestDockerUpgraderTakesTheHelmsmansSettings(t *testing.T) {
	env := map[string]string{"UPGRADE_DRIVER": "docker", "UPGRADE_BY": "image", "UPGRADE_STEP_TIMEOUT": "7s",
		"READINESS_PATH": "/status/200", "TARGET_LABEL": "com.docker.compose.service=web", "TARGET_PORT": "8080",
		"VERSIONS": "chaossuite-httpbin:v2.25.0,chaossuite-httpbin:v2.26.0"}
	cfg, err := config.Load[Config](func(k string) string { return env[k] })
	require.NoError(t, err)
	dc := cfg.dockerUpgrader(&service.Runtime{Logger: slog.New(slog.DiscardHandler)})
	assert.Equal(t, 7*time.Second, dc.StepTimeout)
	assert.True(t, dc.ByImage)
	assert.Equal(t, "/status/200", dc.ReadinessPath)
	assert.Equal(t, "com.docker.compose.service=web", dc.Label)
	assert.Equal(t, 8080, dc.Port)
	assert.NoError(t, dc.Validate())
}
