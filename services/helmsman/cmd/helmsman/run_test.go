package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"

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
		{map[string]string{"RECEIVER_TARGETS": "receiver:8000"}, `invalid RECEIVER_TARGETS="receiver:8000"`},
		{map[string]string{"RECEIVER_DNS": "receiver"}, `invalid RECEIVER_DNS="receiver": want host:port`},
		{map[string]string{"RECEIVER_DNS": "receiver:8000", "RECEIVER_TARGETS": "http://a:1"}, `invalid RECEIVER_DNS="receiver:8000": want unset when RECEIVER_TARGETS is set`},
		{map[string]string{"UPGRADE_INTERVAL": "soon"}, `invalid UPGRADE_INTERVAL="soon"`},
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
	cfg := Config{StatusInterval: 100e6, UpgradeInterval: 1, Versions: []string{"a"}, Types: []string{"rollout"},
		SurgePercents: []string{"50%"}, ExpectedReplicas: 1, StepTimeout: 1, Driver: "http"}
	cfg.ShutdownTimeout = 1
	assert.NoError(t, cfg.Validate())
	assert.Equal(t, "300ms", cfg.GracePeriod.String(), "three status rounds by default")
	assert.Equal(t, "300ms", cfg.LostAfter.String())
	assert.Equal(t, "receiver:8000", cfg.DNS)
	assert.Equal(t, []int{50}, cfg.surges)
}
