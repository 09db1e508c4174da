package voracious

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// DefaultAdjustPayload is the ADJUST command's param when no file is configured: the
// kubecon2018 demo's settings, as the original emulator had built in, in its order.
const DefaultAdjustPayload = `{"state":{"application":{"components":{
"web":{"settings":{"cpu":{"value":1},"replicas":{"value":3}}},
"java":{"settings":{"mem":{"value":2},"GCTimeRatio":{"value":99}}},
"db":{"settings":{"cpu":{"value":1},"commit_delay":{"value":0}}}}}}}`

// LoadAdjustPayload reads the ADJUST param from a JSON or YAML file ("" gives the default),
// keeping every mapping in the file's order (a servo applies the adjustments in the order it
// reads them), and checks its shape: state.application.components.<c>.settings.<s>.value for
// at least one component, every component with at least one setting and every setting with a
// value. It returns the param as compact JSON.
func LoadAdjustPayload(path string) (json.RawMessage, error) {
	raw := []byte(DefaultAdjustPayload)
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		raw = b
	}
	var doc *ordered
	var err error
	if json.Valid(raw) {
		doc, err = decodeOrderedJSON(raw)
	} else {
		doc, err = decodeOrderedYAML(raw)
	}
	if err != nil {
		return nil, err
	}
	if err := checkAdjust(doc); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := doc.writeJSON(&out); err != nil {
		return nil, fmt.Errorf("cannot be sent as JSON: %v", err)
	}
	return out.Bytes(), nil
}

// ordered is a JSON or YAML value whose mappings keep their keys in the document's order.
type ordered struct {
	keys  []string   // a mapping's keys, in order; nil for other kinds
	vals  []*ordered // a mapping's values (beside keys) or a sequence's items
	isMap bool
	isSeq bool
	// scalar is the JSON text of anything else (a number, a string, true, false, null).
	scalar json.RawMessage
}

func (o *ordered) get(key string) (*ordered, bool) {
	if o == nil || !o.isMap {
		return nil, false
	}
	for i, k := range o.keys {
		if k == key {
			return o.vals[i], true
		}
	}
	return nil, false
}

func (o *ordered) writeJSON(w *bytes.Buffer) error {
	switch {
	case o.isMap:
		w.WriteByte('{')
		for i, k := range o.keys {
			if i > 0 {
				w.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			w.Write(kb)
			w.WriteByte(':')
			if err := o.vals[i].writeJSON(w); err != nil {
				return err
			}
		}
		w.WriteByte('}')
	case o.isSeq:
		w.WriteByte('[')
		for i, v := range o.vals {
			if i > 0 {
				w.WriteByte(',')
			}
			if err := v.writeJSON(w); err != nil {
				return err
			}
		}
		w.WriteByte(']')
	default:
		return json.Compact(w, o.scalar)
	}
	return nil
}

// decodeOrderedJSON reads one JSON value token by token, so that object keys keep their order.
func decodeOrderedJSON(raw []byte) (*ordered, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var read func() (*ordered, error)
	read = func() (*ordered, error) {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case json.Delim:
			o := &ordered{isMap: t == '{', isSeq: t == '['}
			seen := map[string]bool{}
			for dec.More() {
				if o.isMap {
					kt, err := dec.Token()
					if err != nil {
						return nil, err
					}
					k := kt.(string)
					if seen[k] {
						return nil, fmt.Errorf("key %q appears twice in one object", k)
					}
					seen[k] = true
					o.keys = append(o.keys, k)
				}
				v, err := read()
				if err != nil {
					return nil, err
				}
				o.vals = append(o.vals, v)
			}
			if _, err := dec.Token(); err != nil { // the closing delimiter
				return nil, err
			}
			return o, nil
		case json.Number:
			return &ordered{scalar: json.RawMessage(t.String())}, nil
		default:
			b, err := json.Marshal(t)
			if err != nil {
				return nil, err
			}
			return &ordered{scalar: b}, nil
		}
	}
	o, err := read()
	if err != nil {
		return nil, fmt.Errorf("not JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("not JSON: more than one value")
	}
	return o, nil
}

// decodeOrderedYAML reads a YAML document through its node tree, so that mappings keep their
// order. Aliases are followed; a merge key (<<) adds the merged keys where it stands, and an
// explicit key overrides a merged one in place, as PyYAML's dict does.
func decodeOrderedYAML(raw []byte) (*ordered, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(raw, &root); err != nil {
		return nil, fmt.Errorf("not YAML or JSON: %v", err)
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) != 1 {
		return nil, errors.New("not YAML or JSON: want one document")
	}
	budget := maxYAMLNodes
	o, err := fromNode(root.Content[0], 0, &budget)
	if err != nil {
		return nil, fmt.Errorf("not YAML or JSON: %v", err)
	}
	return o, nil
}

// maxYAMLNodes bounds the nodes one document may expand to through aliases.
const maxYAMLNodes = 1_000_000

func fromNode(n *yaml.Node, depth int, budget *int) (*ordered, error) {
	if *budget--; *budget < 0 {
		return nil, errors.New("expands to over a million nodes through aliases")
	}
	if depth > 100 {
		return nil, errors.New("nested too deep (or aliases loop)")
	}
	switch n.Kind {
	case yaml.AliasNode:
		return fromNode(n.Alias, depth+1, budget)
	case yaml.SequenceNode:
		o := &ordered{isSeq: true}
		for _, c := range n.Content {
			v, err := fromNode(c, depth+1, budget)
			if err != nil {
				return nil, err
			}
			o.vals = append(o.vals, v)
		}
		return o, nil
	case yaml.MappingNode:
		o := &ordered{isMap: true}
		explicit := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
				if err := o.merge(v, depth, budget); err != nil {
					return nil, err
				}
				continue
			}
			if k.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: a mapping key must be a scalar", k.Line)
			}
			if explicit[k.Value] {
				return nil, fmt.Errorf("line %d: key %q appears twice in one mapping", k.Line, k.Value)
			}
			explicit[k.Value] = true
			val, err := fromNode(v, depth+1, budget)
			if err != nil {
				return nil, err
			}
			o.set(k.Value, val)
		}
		return o, nil
	case yaml.ScalarNode:
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, err
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("line %d: %q cannot be sent as JSON: %v", n.Line, n.Value, err)
		}
		return &ordered{scalar: b}, nil
	}
	return nil, fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

// set adds key with v, or replaces the value in place when key is there already.
func (o *ordered) set(key string, v *ordered) {
	for i, k := range o.keys {
		if k == key {
			o.vals[i] = v
			return
		}
	}
	o.keys = append(o.keys, key)
	o.vals = append(o.vals, v)
}

// merge adds the keys of the mapping (or sequence of mappings) v that o lacks.
func (o *ordered) merge(v *yaml.Node, depth int, budget *int) error {
	src, err := fromNode(v, depth+1, budget)
	if err != nil {
		return err
	}
	maps := []*ordered{src}
	if src.isSeq {
		maps = src.vals
	}
	for _, m := range maps {
		if !m.isMap {
			return fmt.Errorf("line %d: a merge key (<<) must name mappings", v.Line)
		}
		for i, k := range m.keys {
			if _, ok := o.get(k); !ok {
				o.keys = append(o.keys, k)
				o.vals = append(o.vals, m.vals[i])
			}
		}
	}
	return nil
}

func checkAdjust(doc *ordered) error {
	cm, err := dig(doc, "state", "application", "components")
	if err != nil {
		return err
	}
	if !cm.isMap || len(cm.keys) == 0 {
		return errors.New("state.application.components must map component names to their settings")
	}
	for i, c := range cm.keys {
		sm, err := dig(cm.vals[i], "settings")
		if err != nil {
			return fmt.Errorf("component %q: %v", c, err)
		}
		if !sm.isMap || len(sm.keys) == 0 {
			return fmt.Errorf("component %q: settings must map setting names to {value: ...}", c)
		}
		for j, s := range sm.keys {
			v := sm.vals[j]
			if !v.isMap {
				return fmt.Errorf("component %q setting %q: want {value: ...}", c, s)
			}
			if _, ok := v.get("value"); !ok {
				return fmt.Errorf("component %q setting %q has no value", c, s)
			}
		}
	}
	return nil
}

func dig(v *ordered, path ...string) (*ordered, error) {
	for i, p := range path {
		if !v.isMap {
			return nil, fmt.Errorf("want a mapping holding %q at %v", p, path[:i])
		}
		next, ok := v.get(p)
		if !ok {
			return nil, fmt.Errorf("missing %q", strings.Join(path[:i+1], "."))
		}
		v = next
	}
	return v, nil
}
