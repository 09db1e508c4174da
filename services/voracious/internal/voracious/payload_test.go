package voracious

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAdjustPayloadOrder: the ADJUST param keeps the file's order of components and settings
// (web, java, db; cpu, replicas; mem, GCTimeRatio), from YAML as from JSON.
func TestAdjustPayloadOrder(t *testing.T) {
	const want = `{"state":{"application":{"components":{"web":{"settings":{"cpu":{"value":1},"replicas":{"value":3}}},` +
		`"java":{"settings":{"mem":{"value":2},"GCTimeRatio":{"value":99}}},"db":{"settings":{"cpu":{"value":1},"commit_delay":{"value":0}}}}}}}`
	got, err := LoadAdjustPayload("")
	require.NoError(t, err)
	assert.Equal(t, want, string(got), "the built-in default")

	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
		return p
	}
	// The original's own payload, as it wrote it.
	yamlFile := write("adjust.yaml", `
state:
    application:
        components:
            web:
                settings:
                    cpu: { value: 1 }
                    replicas: { value: 3 }
            java:
                settings:
                    mem: { value: 2 }
                    GCTimeRatio: { value: 99 }
            db:
                settings:
                    cpu: { value: 1 }
                    commit_delay: { value: 0 }
`)
	got, err = LoadAdjustPayload(yamlFile)
	require.NoError(t, err)
	assert.Equal(t, want, string(got))

	got, err = LoadAdjustPayload(write("adjust.json", "{\n\t\"state\": {\"application\": {\"components\": {\"z\": {\"settings\": {\"b\": {\"value\": 1.50}, \"a\": {\"value\": \"x\", \"min\": null}}}, \"y\": {\"settings\": {\"c\": {\"value\": [1, true]}}}}}}\n}\n"))
	require.NoError(t, err)
	assert.Equal(t, `{"state":{"application":{"components":{"z":{"settings":{"b":{"value":1.50},"a":{"value":"x","min":null}}},"y":{"settings":{"c":{"value":[1,true]}}}}}}}`, string(got),
		"JSON keeps its order and its numbers as written")

	// Anchors and merge keys: merged keys where << stands, an explicit key overriding in place.
	got, err = LoadAdjustPayload(write("merge.yaml", `
base: &base {cpu: {value: 1}, mem: {value: 2}}
state:
  application:
    components:
      web:
        settings:
          <<: *base
          cpu: {value: 4}
          replicas: {value: 3}
      db: {settings: *base}
`))
	require.NoError(t, err)
	assert.Equal(t, `{"base":{"cpu":{"value":1},"mem":{"value":2}},"state":{"application":{"components":{"web":{"settings":{"cpu":{"value":4},"mem":{"value":2},"replicas":{"value":3}}},"db":{"settings":{"cpu":{"value":1},"mem":{"value":2}}}}}}}`, string(got))

	for name, body := range map[string]string{
		"dup.yaml":  "state: {application: {components: {web: {settings: {cpu: {value: 1}, cpu: {value: 2}}}}}}",
		"dup.json":  `{"state": {"application": {"components": {"web": {"settings": {"cpu": {"value": 1}}}, "web": {"settings": {"cpu": {"value": 1}}}}}}}`,
		"inf.yaml":  "state: {application: {components: {web: {settings: {cpu: {value: .inf}}}}}}",
		"keys.yaml": "state: {application: {components: {web: {settings: {[a, b]: {value: 1}}}}}}",
		"two.json":  `{"state": {}} {}`,
	} {
		_, err := LoadAdjustPayload(write(name, body))
		assert.Error(t, err, name)
	}
}
