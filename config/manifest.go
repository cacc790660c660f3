package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/connector-proxy/connector-proxy/auth"
	"gopkg.in/yaml.v3"
)

// A LivePerson app manifest's capabilities.webhooks has objects, not URLs:
//
//	ms.MessagingEventNotification.ContentEvent:
//	  endpoint: https://connector.example/hooks
//	  max_retries: 3
//	  headers: [{header_name: X-Api-Key, header_value: s3cret}]
//	retry: {retention_time: 3600}
//
// so that block can be pasted under an app's webhooks as it is. Before the
// file is decoded, each object becomes its endpoint, its headers move to
// the app's webhook_headers, retry.retention_time becomes the app's
// retention (when it has none of its own) and max_retries is checked and
// dropped: the proxy retries by retention only, as LivePerson's
// retention-time policy does.

// maxManifestRetries is the manifest's bound on max_retries.
const maxManifestRetries = 5

// normalizeManifests rewrites, in place, every app's webhooks of the
// manifest's object form into the form auth.App decodes; what it cannot
// read is a FieldError naming the field.
func normalizeManifests(root *yaml.Node) error {
	doc := root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	apps := mapValue(mapValue(doc, "connector_api"), "apps")
	if apps == nil || apps.Kind != yaml.SequenceNode {
		return nil // absent, or a type error the decoder names
	}
	for i, app := range apps.Content {
		if err := normalizeApp(app, fmt.Sprintf("connector_api.apps[%d]", i)); err != nil {
			return err
		}
	}
	return nil
}

func normalizeApp(app *yaml.Node, path string) error {
	hooks := mapValue(app, "webhooks")
	if hooks == nil || hooks.Kind != yaml.MappingNode {
		return nil
	}
	base := path + ".webhooks"
	headers := map[string][][2]string{}
	var order []string
	kept := hooks.Content[:0:0]
	for j := 0; j+1 < len(hooks.Content); j += 2 {
		k, v := hooks.Content[j], hooks.Content[j+1]
		at := base + keySegment(k.Value)
		switch {
		case k.Value == "retry":
			if err := applyRetry(app, v, at); err != nil {
				return err
			}
			continue // not an event key
		case v.Kind == yaml.MappingNode:
			endpoint, hs, err := readWebhookObject(v, at)
			if err != nil {
				return err
			}
			if len(hs) > 0 {
				headers[k.Value] = hs
				order = append(order, k.Value)
			}
			v = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: endpoint, Line: v.Line, Column: v.Column}
		}
		kept = append(kept, k, v)
	}
	hooks.Content = kept
	if len(order) == 0 {
		return nil
	}
	if mapValue(app, "webhook_headers") != nil {
		return &FieldError{Field: path + ".webhook_headers", Msg: "set it or give headers in the webhooks' manifest form, not both"}
	}
	hn := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for _, key := range order {
		m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, h := range headers[key] {
			m.Content = append(m.Content, str(h[0]), str(h[1]))
		}
		hn.Content = append(hn.Content, str(key), m)
	}
	app.Content = append(app.Content, str("webhook_headers"), hn)
	return nil
}

// readWebhookObject reads {endpoint, max_retries, headers}.
func readWebhookObject(v *yaml.Node, at string) (string, [][2]string, error) {
	var endpoint string
	var headers [][2]string
	for j := 0; j+1 < len(v.Content); j += 2 {
		k, f := v.Content[j], v.Content[j+1]
		switch k.Value {
		case "endpoint":
			if f.Kind != yaml.ScalarNode || f.Value == "" {
				return "", nil, &FieldError{Field: at + ".endpoint", Msg: "must be a URL"}
			}
			endpoint = f.Value
		case "max_retries":
			n, err := strconv.Atoi(f.Value)
			if f.Kind != yaml.ScalarNode || err != nil || n < 0 || n > maxManifestRetries {
				return "", nil, &FieldError{Field: at + ".max_retries", Msg: fmt.Sprintf("must be 0 to %d, got %q", maxManifestRetries, f.Value)}
			}
		case "headers":
			if f.Kind != yaml.SequenceNode {
				return "", nil, &FieldError{Field: at + ".headers", Msg: "must be a list of {header_name, header_value}"}
			}
			for h, item := range f.Content {
				name, value := mapValue(item, "header_name"), mapValue(item, "header_value")
				if item.Kind != yaml.MappingNode || name == nil || name.Kind != yaml.ScalarNode || (value != nil && value.Kind != yaml.ScalarNode) {
					return "", nil, &FieldError{Field: fmt.Sprintf("%s.headers[%d]", at, h), Msg: "must be {header_name, header_value}"}
				}
				val := ""
				if value != nil {
					val = value.Value
				}
				headers = append(headers, [2]string{name.Value, val})
			}
		default:
			return "", nil, &FieldError{Field: at + "." + k.Value, Msg: "unknown field (a manifest webhook has endpoint, max_retries, headers)"}
		}
	}
	if endpoint == "" {
		return "", nil, &FieldError{Field: at + ".endpoint", Msg: "is required"}
	}
	return endpoint, headers, nil
}

// applyRetry turns the manifest's retry {retention_time: seconds} into the
// app's retention, unless the app sets one itself.
func applyRetry(app, v *yaml.Node, at string) error {
	rt := mapValue(v, "retention_time")
	if v.Kind != yaml.MappingNode || rt == nil {
		return &FieldError{Field: at, Msg: "must be {retention_time: seconds}"}
	}
	secs, err := strconv.Atoi(rt.Value)
	if rt.Kind != yaml.ScalarNode || err != nil || secs <= 0 {
		return &FieldError{Field: at + ".retention_time", Msg: fmt.Sprintf("must be a positive number of seconds, got %q", rt.Value)}
	}
	if mapValue(app, "retention") == nil {
		app.Content = append(app.Content, str("retention"), str(strconv.Itoa(secs)+"s"))
	}
	return nil
}

// mapValue is the value of key in a mapping node, nil when n is not a
// mapping or has no such key.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for j := 0; j+1 < len(n.Content); j += 2 {
		if n.Content[j].Value == key {
			return n.Content[j+1]
		}
	}
	return nil
}

func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

// checkAppFields makes auth.CheckApp's checks field by field, so that each
// error names the field at fault (connector_api.apps[0].webhooks["…"]).
func checkAppFields(a auth.App, path string) []*FieldError {
	var errs []*FieldError
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	keys := make([]string, 0, len(a.Webhooks))
	for k := range a.Webhooks {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, key := range keys {
		at := path + ".webhooks" + keySegment(key)
		if !slices.Contains(auth.WebhookKeys(), key) {
			bad(at, "unknown event key (known: %s)", strings.Join(auth.WebhookKeys(), ", "))
			continue
		}
		if err := auth.CheckEndpoint(a.Webhooks[key], a.AllowInsecureWebhooks); err != nil {
			bad(at, "%v", err)
		}
	}
	for key, hs := range a.WebhookHeaders {
		at := path + ".webhook_headers" + keySegment(key)
		if _, ok := a.Webhooks[key]; !ok {
			bad(at, "no webhook endpoint for this event key")
		}
		for name, v := range hs {
			if err := auth.CheckWebhookHeader(name, v); err != nil {
				bad(at, "%v", err)
			}
		}
	}
	if a.Retention != 0 && (a.Retention < auth.MinRetention || a.Retention > auth.MaxRetention) {
		bad(path+".retention", "must be between %v and %v, got %v", auth.MinRetention, auth.MaxRetention, a.Retention)
	}
	switch a.AgentRole {
	case "", auth.RoleAssignedAgent, auth.RoleManager, auth.RoleController:
	default:
		bad(path+".agent_role", "must be %s, %s or %s, got %q", auth.RoleAssignedAgent, auth.RoleManager, auth.RoleController, a.AgentRole)
	}
	return errs
}
