package voracious

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"

	"go.yaml.in/yaml/v3"
)

// DefaultAdjustPayload is the ADJUST command's param when no file is configured: the
// kubecon2018 demo's settings, as the original emulator had built in.
const DefaultAdjustPayload = `{"state":{"application":{"components":{
"web":{"settings":{"cpu":{"value":1},"replicas":{"value":3}}},
"java":{"settings":{"mem":{"value":2},"GCTimeRatio":{"value":99}}},
"db":{"settings":{"cpu":{"value":1},"commit_delay":{"value":0}}}}}}}`

// LoadAdjustPayload reads the ADJUST param from a YAML or JSON file ("" gives the default)
// and checks its shape: state.application.components.<c>.settings.<s>.value for at least one
// component, every component with at least one setting and every setting with a value.
func LoadAdjustPayload(path string) (json.RawMessage, error) {
	raw := []byte(DefaultAdjustPayload)
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		raw = b
	}
	var doc any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("not YAML or JSON: %v", err)
	}
	if err := checkAdjust(doc); err != nil {
		return nil, err
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("cannot be sent as JSON: %v", err)
	}
	return out, nil
}

func checkAdjust(doc any) error {
	comps, err := dig(doc, "state", "application", "components")
	if err != nil {
		return err
	}
	cm, ok := comps.(map[string]any)
	if !ok || len(cm) == 0 {
		return fmt.Errorf("state.application.components must map component names to their settings")
	}
	names := make([]string, 0, len(cm))
	for c := range cm {
		names = append(names, c)
	}
	sort.Strings(names)
	for _, c := range names {
		settings, err := dig(cm[c], "settings")
		if err != nil {
			return fmt.Errorf("component %q: %v", c, err)
		}
		sm, ok := settings.(map[string]any)
		if !ok || len(sm) == 0 {
			return fmt.Errorf("component %q: settings must map setting names to {value: ...}", c)
		}
		for s, v := range sm {
			vm, ok := v.(map[string]any)
			if !ok {
				return fmt.Errorf("component %q setting %q: want {value: ...}", c, s)
			}
			if _, ok := vm["value"]; !ok {
				return fmt.Errorf("component %q setting %q has no value", c, s)
			}
		}
	}
	return nil
}

func dig(v any, path ...string) (any, error) {
	for i, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("want a mapping holding %q at %v", p, path[:i])
		}
		if v, ok = m[p]; !ok {
			return nil, fmt.Errorf("missing %q", joinPath(path[:i+1]))
		}
	}
	return v, nil
}

func joinPath(p []string) string {
	s := ""
	for i, x := range p {
		if i > 0 {
			s += "."
		}
		s += x
	}
	return s
}
