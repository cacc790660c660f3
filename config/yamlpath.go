package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// decodeFile decodes a configuration file into c. The manifest's webhook
// objects are normalised first (manifest.go); then a strict decode refuses
// unknown fields, and each of its errors, which yaml.v3 gives as
// "line 11: cannot unmarshal !!map into string", is named by the field at
// that line instead: connector_api.apps[0].webhooks["…"]: must be a string.
func decodeFile(name string, raw []byte, c *Config) error {
	var root yaml.Node
	if err := yaml.Unmarshal(raw, &root); err != nil {
		return fmt.Errorf("config: %s: %w", name, err) // a syntax error has only its line
	}
	if root.Kind == 0 {
		return nil // an empty file is a valid, empty configuration
	}
	if err := normalizeManifests(&root); err != nil {
		return err
	}
	doc, err := yaml.Marshal(&root)
	if err != nil {
		return fmt.Errorf("config: %s: %w", name, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(doc))
	dec.KnownFields(true)
	err = dec.Decode(c)
	if err == nil || errors.Is(err, io.EOF) {
		return nil
	}
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return fmt.Errorf("config: %s: %w", name, err)
	}
	// The decoder read doc, so its lines are doc's; the original's line is
	// found again by the field's path.
	var decoded yaml.Node
	if yaml.Unmarshal(doc, &decoded) != nil {
		return fmt.Errorf("config: %s: %w", name, err)
	}
	errs := make([]error, 0, len(te.Errors))
	for _, msg := range te.Errors {
		errs = append(errs, typeFieldError(&decoded, &root, name, msg))
	}
	return errors.Join(errs...)
}

var (
	lineMsg     = regexp.MustCompile(`^line (\d+): (.*)$`)
	unknownMsg  = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
	unmarshaled = regexp.MustCompile("^cannot unmarshal !!(\\w+)(?: `(.*)`)? into (.+)$")
)

// typeFieldError turns one of yaml.v3's type error lines into a FieldError.
func typeFieldError(decoded, original *yaml.Node, file, msg string) error {
	m := lineMsg.FindStringSubmatch(msg)
	if m == nil {
		return fmt.Errorf("config: %s: %s", file, msg)
	}
	line, _ := strconv.Atoi(m[1])
	text := m[2]
	var segs []string
	var ok bool
	if u := unknownMsg.FindStringSubmatch(text); u != nil {
		segs, ok = keyAtLine(decoded, line, u[1], nil)
		text = "unknown field"
	} else if u := unmarshaled.FindStringSubmatch(text); u != nil {
		segs, ok = valueAtLine(decoded, line, u[1], u[2], nil)
		text = "must be " + expectedOf(u[3]) + ", not " + yamlKind(u[1], u[2])
		if len(segs) >= 2 && segs[len(segs)-2] == "webhooks" {
			text += " (an endpoint URL, or a manifest's {endpoint, max_retries, headers})"
		}
	}
	if !ok {
		return fmt.Errorf("config: %s: line %d: %s", file, line, text)
	}
	if n := nodeAt(original, segs); n != nil && n.Line > 0 {
		text += fmt.Sprintf(" (%s line %d)", file, n.Line)
	}
	return &FieldError{Field: formatPath(segs), Msg: text}
}

// expectedOf says in words what a Go type of the configuration takes.
func expectedOf(goType string) string {
	switch goType {
	case "string":
		return "a string"
	case "int":
		return "an integer"
	case "bool":
		return "true or false"
	case "time.Duration":
		return "a duration such as 15s or 1h"
	case "[]string":
		return "a list of strings"
	case "map[string]string":
		return "a mapping of names to strings (or, under webhooks, {endpoint, max_retries, headers})"
	}
	if strings.HasPrefix(goType, "[]") {
		return "a list"
	}
	if strings.HasPrefix(goType, "map[") || strings.Contains(goType, ".") {
		return "a mapping"
	}
	return "a " + goType
}

func yamlKind(tag, value string) string {
	kind := map[string]string{"map": "a mapping", "seq": "a list", "str": "the string", "int": "the integer",
		"bool": "the boolean", "float": "the number", "null": "null"}[tag]
	if kind == "" {
		kind = "!!" + tag
	}
	if value != "" {
		kind += " " + strconv.Quote(value)
	}
	return kind
}

// valueAtLine finds the first value node, in document order, that starts
// at line and is what the error says it found: of YAML tag tag (map, seq,
// str …) and, for a scalar the message quotes, that value.
func valueAtLine(n *yaml.Node, line int, tag, value string, path []string) ([]string, bool) {
	if n.Kind == yaml.DocumentNode {
		for _, c := range n.Content {
			if p, ok := valueAtLine(c, line, tag, value, path); ok {
				return p, true
			}
		}
		return nil, false
	}
	if n.Line == line && len(path) > 0 && nodeIs(n, tag, value) {
		return path, true
	}
	switch n.Kind {
	case yaml.MappingNode:
		for j := 0; j+1 < len(n.Content); j += 2 {
			if p, ok := valueAtLine(n.Content[j+1], line, tag, value, appendSeg(path, n.Content[j].Value)); ok {
				return p, true
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if p, ok := valueAtLine(c, line, tag, value, appendSeg(path, "["+strconv.Itoa(i)+"]")); ok {
				return p, true
			}
		}
	}
	return nil, false
}

func nodeIs(n *yaml.Node, tag, value string) bool {
	switch tag {
	case "map":
		return n.Kind == yaml.MappingNode
	case "seq":
		return n.Kind == yaml.SequenceNode
	}
	if n.Kind != yaml.ScalarNode {
		return false
	}
	if short, ok := strings.CutSuffix(value, "..."); ok { // yaml.v3 shortens long values
		return strings.HasPrefix(n.Value, short)
	}
	return value == "" || n.Value == value
}

// keyAtLine finds the mapping key called key at line.
func keyAtLine(n *yaml.Node, line int, key string, path []string) ([]string, bool) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if p, ok := keyAtLine(c, line, key, path); ok {
				return p, true
			}
		}
	case yaml.MappingNode:
		for j := 0; j+1 < len(n.Content); j += 2 {
			k := n.Content[j]
			if k.Line == line && k.Value == key {
				return appendSeg(path, key), true
			}
			if p, ok := keyAtLine(n.Content[j+1], line, key, appendSeg(path, k.Value)); ok {
				return p, true
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if p, ok := keyAtLine(c, line, key, appendSeg(path, "["+strconv.Itoa(i)+"]")); ok {
				return p, true
			}
		}
	}
	return nil, false
}

// nodeAt follows a path of segments from the root.
func nodeAt(n *yaml.Node, segs []string) *yaml.Node {
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	for _, s := range segs {
		switch {
		case strings.HasPrefix(s, "[") && n.Kind == yaml.SequenceNode:
			i, err := strconv.Atoi(s[1 : len(s)-1])
			if err != nil || i >= len(n.Content) {
				return nil
			}
			n = n.Content[i]
		case n.Kind == yaml.MappingNode:
			if n = mapValue(n, s); n == nil {
				return nil
			}
		default:
			return nil
		}
	}
	return n
}

func appendSeg(path []string, seg string) []string {
	return append(path[:len(path):len(path)], seg)
}

// formatPath writes segments as the configuration's field names:
// "a.b[0].c", with keys that hold a dot (webhook event keys) as ["…"].
func formatPath(segs []string) string {
	var b strings.Builder
	for _, s := range segs {
		if strings.HasPrefix(s, "[") {
			b.WriteString(s)
			continue
		}
		b.WriteString(keySegment(s))
	}
	return strings.TrimPrefix(b.String(), ".")
}

// keySegment is one key of a path, with its leading dot.
func keySegment(k string) string {
	if strings.ContainsAny(k, ".[] ") || k == "" {
		return "[" + strconv.Quote(k) + "]"
	}
	return "." + k
}
