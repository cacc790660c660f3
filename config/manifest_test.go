package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/connector-proxy/connector-proxy/auth"
)

// An app manifest's capabilities.webhooks, pasted under an app as LivePerson
// writes it (objects with endpoint, max_retries, headers, and the retry
// policy), loads: endpoints, custom headers and the retention are kept.
func TestManifestWebhookObjectsLoad(t *testing.T) {
	file := `
connector_api:
  apps:
    - client_id: 75588e18-0213-4e33-8174-883acac7e3c4
      client_secret: kgvbkk7glku72jgtmpi6l4a872
      account_id: le12345678
      webhooks:
        ms.MessagingEventNotification.ContentEvent:      { "endpoint": "https://connector.example/webhooks", "max_retries": 3 }
        ms.MessagingEventNotification.RichContentEvent:  { "endpoint": "https://connector.example/webhooks", "max_retries": 5 }
        ms.MessagingEventNotification.AcceptStatusEvent: { "endpoint": "https://connector.example/webhooks", "max_retries": 1 }
        ms.MessagingEventNotification.ChatStateEvent:    { "endpoint": "https://connector.example/webhooks" }
        cqm.ExConversationChangeNotification:
          endpoint: https://connector.example/conversations
          headers:
            - header_name: X-Api-Key
              header_value: s3cret
            - header_name: X-Tenant
              header_value: acme
        retry:
          retention_time: 7200
    - client_id: plain
      client_secret: s
      account_id: le12345678
      retention: 10m
      webhooks:
        cqm.ExConversationChangeNotification: https://connector.example/plain
        retry: {retention_time: 60}
`
	c, err := Load(writeFile(t, file), nil)
	if err != nil {
		t.Fatal(err)
	}
	a := c.ConnectorAPI.Apps[0]
	if len(a.Webhooks) != 5 || a.Webhooks[auth.WebhookContentEvent] != "https://connector.example/webhooks" ||
		a.Webhooks[auth.WebhookConversationChange] != "https://connector.example/conversations" {
		t.Fatalf("webhooks = %v", a.Webhooks)
	}
	if h := a.WebhookHeaders[auth.WebhookConversationChange]; h["X-Api-Key"] != "s3cret" || h["X-Tenant"] != "acme" || len(a.WebhookHeaders) != 1 {
		t.Fatalf("headers = %v", a.WebhookHeaders)
	}
	if a.Retention != 2*time.Hour {
		t.Fatalf("retention = %v, want the manifest's 7200 s", a.Retention)
	}
	if b := c.ConnectorAPI.Apps[1]; b.Retention != 10*time.Minute || b.Webhooks[auth.WebhookConversationChange] != "https://connector.example/plain" {
		t.Fatalf("second app: retention %v (its own wins over the manifest's), webhooks %v", b.Retention, b.Webhooks)
	}
}

// Every configuration error names its field, YAML type errors too, and
// says where it is in the file.
func TestConfigErrorsNameTheirField(t *testing.T) {
	app := func(extra string) string {
		return "connector_api:\n  apps:\n    - client_id: a\n      client_secret: b\n      account_id: c\n" + extra
	}
	tests := []struct {
		name, yaml, field, msg string
	}{
		{"an integer that is a word", "store:\n  cache_size: many\n", "store.cache_size", "must be an integer"},
		{"a duration that is not one", "axp:\n  timeout: soon\n", "axp.timeout", "must be a duration"},
		{"a long value yaml.v3 shortens", "store:\n  retention: 'seventy-two hours'\n", "store.retention", "must be a duration"},
		{"a list where a string goes", "listen:\n  - a\n", "listen", "must be a string"},
		{"apps as a mapping", "connector_api:\n  apps:\n    a: 1\n", "connector_api.apps", "must be a list"},
		{"an unknown top-level field", "listn: x\n", "listn", "unknown field"},
		{"an unknown app field", app("      client_secrett: x\n"), "connector_api.apps[0].client_secrett", "unknown field"},
		{"a webhook that is a list", app("      webhooks:\n        cqm.ExConversationChangeNotification: [a]\n"),
			`connector_api.apps[0].webhooks["cqm.ExConversationChangeNotification"]`, "must be a string, not a list (an endpoint URL, or a manifest's"},
		{"a webhook object without endpoint", app("      webhooks:\n        cqm.ExConversationChangeNotification: {max_retries: 1}\n"),
			`connector_api.apps[0].webhooks["cqm.ExConversationChangeNotification"].endpoint`, "is required"},
		{"max_retries out of range", app("      webhooks:\n        cqm.ExConversationChangeNotification: {endpoint: 'https://x.example', max_retries: 9}\n"),
			`connector_api.apps[0].webhooks["cqm.ExConversationChangeNotification"].max_retries`, "must be 0 to 5"},
		{"an unknown webhook object field", app("      webhooks:\n        cqm.ExConversationChangeNotification: {endpoint: 'https://x.example', secret: y}\n"),
			`connector_api.apps[0].webhooks["cqm.ExConversationChangeNotification"].secret`, "unknown field"},
		{"a header that is not a pair", app("      webhooks:\n        cqm.ExConversationChangeNotification: {endpoint: 'https://x.example', headers: [x]}\n"),
			`connector_api.apps[0].webhooks["cqm.ExConversationChangeNotification"].headers[0]`, "header_name"},
		{"a header replacing the signature", app("      webhooks:\n        cqm.ExConversationChangeNotification: {endpoint: 'https://x.example', headers: [{header_name: x-liveperson-signature, header_value: y}]}\n"),
			`connector_api.apps[0].webhook_headers["cqm.ExConversationChangeNotification"]`, "the proxy's own"},
		{"a bad retry policy", app("      webhooks:\n        retry: {retention_time: soon}\n"), `connector_api.apps[0].webhooks.retry.retention_time`, "seconds"},
		{"an unknown event key", app("      webhooks:\n        ms.Nope: 'https://x.example'\n"), `connector_api.apps[0].webhooks["ms.Nope"]`, "unknown event key"},
		{"a plain http endpoint", app("      webhooks:\n        ms.MessagingEventNotification.ContentEvent: 'http://x.example/h'\n"),
			`connector_api.apps[0].webhooks["ms.MessagingEventNotification.ContentEvent"]`, "plain http"},
		{"a retention out of range", app("      retention: 1s\n"), "connector_api.apps[0].retention", "between"},
		{"an unknown agent role", app("      agent_role: BOSS\n"), "connector_api.apps[0].agent_role", "ASSIGNED_AGENT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeFile(t, tt.yaml), nil)
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FieldError", err)
			}
			if fe.Field != tt.field || !strings.Contains(fe.Msg, tt.msg) {
				t.Fatalf("error %q: field %q msg %q, want %q with %q", err, fe.Field, fe.Msg, tt.field, tt.msg)
			}
			if strings.Contains(err.Error(), "!!") || strings.Contains(err.Error(), "yaml:") {
				t.Errorf("error %q speaks yaml.v3's language", err)
			}
		})
	}
}
