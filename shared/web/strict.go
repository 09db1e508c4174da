package web

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"
)

// checkStrict reads body as JSON against t, the type it is to be decoded into, and refuses
// what encoding/json lets through: a key twice in an object (json keeps the last), a key that
// matches a field of t only when case is ignored (json matches {"VERSION": ...} to version),
// a NUL in a string, and invalid UTF-8 (json replaces it with U+FFFD). Syntax errors are left
// for json to report.
func checkStrict(body []byte, t reflect.Type) error {
	if !utf8.Valid(body) {
		return errors.New("the body is not valid UTF-8")
	}
	// A lone surrogate such as "\ud800" decodes to U+FFFD: a U+FFFD that the body does not
	// hold, as the character or its escape, was made up by the decoder.
	fffdAllowed := bytes.Contains(body, []byte("\uFFFD")) || bytes.Contains(bytes.ToLower(body), []byte(`\ufffd`))
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	w := walker{dec: dec, fffdAllowed: fffdAllowed}
	err := w.value(t, "")
	var syn *json.SyntaxError
	if errors.As(err, &syn) || errors.Is(err, errSyntax) {
		return nil // json reports it, with its offset
	}
	return err
}

var errSyntax = errors.New("syntax")

type walker struct {
	dec         *json.Decoder
	fffdAllowed bool
	depth       int
}

// maxDepth bounds the nesting the walk follows; json itself refuses beyond 10 000.
const maxDepth = 10000

func (w *walker) value(t reflect.Type, path string) error {
	tok, err := w.dec.Token()
	if err != nil {
		return errSyntax
	}
	return w.token(tok, t, path)
}

func (w *walker) token(tok json.Token, t reflect.Type, path string) error {
	t = deref(t)
	switch tok := tok.(type) {
	case string:
		return w.text(tok, path)
	case json.Delim:
		w.depth++
		defer func() { w.depth-- }()
		if w.depth > maxDepth {
			return errSyntax
		}
		switch tok {
		case '{':
			return w.object(t, path)
		case '[':
			var elem reflect.Type
			if t != nil && !custom(t) && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
				elem = t.Elem()
			}
			for i := 0; w.dec.More(); i++ {
				if err := w.value(elem, fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
			if _, err := w.dec.Token(); err != nil {
				return errSyntax
			}
		}
	}
	return nil
}

func (w *walker) object(t reflect.Type, path string) error {
	var fields map[string]reflect.Type
	var elem reflect.Type
	if t != nil && !custom(t) {
		switch t.Kind() {
		case reflect.Struct:
			fields = fieldsOf(t)
		case reflect.Map:
			elem = t.Elem()
		}
	}
	seen := map[string]bool{}
	for w.dec.More() {
		tok, err := w.dec.Token()
		if err != nil {
			return errSyntax
		}
		key, ok := tok.(string)
		if !ok {
			return errSyntax
		}
		where := joinPath(path, key)
		if err := w.text(key, where); err != nil {
			return err
		}
		if seen[key] {
			return fmt.Errorf("field %q appears twice", Truncate(where, 128))
		}
		seen[key] = true
		sub := elem
		if fields != nil {
			ft, ok := fields[key]
			if !ok {
				for name := range fields {
					if strings.EqualFold(name, key) {
						return fmt.Errorf("field %q: keys are case-sensitive, want %q", Truncate(where, 128), joinPath(path, name))
					}
				}
			}
			sub = ft // nil for an unknown field: json refuses it, or ignores it when asked to
		}
		if err := w.value(sub, where); err != nil {
			return err
		}
	}
	if _, err := w.dec.Token(); err != nil {
		return errSyntax
	}
	return nil
}

func (w *walker) text(s, path string) error {
	where := ""
	if path != "" {
		where = fmt.Sprintf(" in field %q", Truncate(path, 128))
	}
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("a string%s holds a NUL character", where)
	}
	if !w.fffdAllowed && strings.ContainsRune(s, utf8.RuneError) {
		return fmt.Errorf("a string%s is not valid UTF-8 (a lone surrogate escape)", where)
	}
	return nil
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func deref(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// custom reports whether t decodes itself: its keys are its own business.
func custom(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	return t.Implements(jsonUnmarshaler) || p.Implements(jsonUnmarshaler) ||
		t.Implements(textUnmarshaler) || p.Implements(textUnmarshaler)
}

var fieldCache sync.Map // reflect.Type -> map[string]reflect.Type

// fieldsOf maps the JSON name of each field json decodes into t to the field's type, with
// the fields of embedded structs, as encoding/json names them.
func fieldsOf(t reflect.Type) map[string]reflect.Type {
	if f, ok := fieldCache.Load(t); ok {
		return f.(map[string]reflect.Type)
	}
	out := map[string]reflect.Type{}
	collect(t, out, 0)
	fieldCache.Store(t, out)
	return out
}

func collect(t reflect.Type, out map[string]reflect.Type, depth int) {
	if depth > 8 {
		return
	}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := deref(f.Type)
			if ft.Kind() == reflect.Struct {
				collect(ft, out, depth+1)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, dup := out[name]; !dup {
			out[name] = f.Type
		}
	}
}
