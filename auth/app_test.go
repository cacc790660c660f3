package auth

import (
	"errors"
	"strings"
	"testing"
)

func TestWebhookEndpointSchemes(t *testing.T) {
	tests := []struct {
		name          string
		url           string
		allowInsecure bool
		ok            bool
	}{
		{"plain http on 127.0.0.1 (a connector under development)", "http://127.0.0.1:3000/hooks", false, true},
		{"plain http on another loopback address", "http://127.0.0.2/hooks", false, true},
		{"plain http on ::1", "http://[::1]:3000/hooks", false, true},
		{"plain http on localhost", "http://localhost:3000/hooks", false, true},
		{"https to a remote host", "https://connector.example/hooks", false, true},
		{"plain http to a remote host", "http://connector.example/hooks", false, false},
		{"plain http to a private address", "http://10.0.0.5/hooks", false, false},
		{"plain http to a remote host when allowed", "http://connector.example/hooks", true, true},
		{"another scheme", "ftp://connector.example/hooks", true, false},
		{"no host", "https:///hooks", false, false},
		{"not a URL", "http://[::1/hooks", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckApp(App{ClientID: "a", ClientSecret: "s", AccountID: "x", AllowInsecureWebhooks: tt.allowInsecure,
				Webhooks: map[string]string{WebhookContentEvent: tt.url}})
			if (err == nil) != tt.ok {
				t.Fatalf("CheckApp(%q, allow_insecure=%v) = %v, want ok=%v", tt.url, tt.allowInsecure, err, tt.ok)
			}
			if err != nil && !strings.Contains(err.Error(), WebhookContentEvent) {
				t.Fatalf("error %q does not name the webhook", err)
			}
			if err != nil && errors.Unwrap(err) == nil {
				t.Fatalf("error %q does not wrap its cause", err)
			}
		})
	}
}

func TestSetWebhooksReplacesAnAppsEndpoints(t *testing.T) {
	s, err := New(Options{Apps: []App{{ClientID: "demo", ClientSecret: "s", AccountID: "ACC"}}, DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		clientID string
		hooks    map[string]string
		ok       bool
	}{
		{"loopback endpoints", "demo", map[string]string{WebhookContentEvent: "http://127.0.0.1:8080/demo/hooks/c"}, true},
		{"an unknown app", "other", map[string]string{WebhookContentEvent: "https://x.example/h"}, false},
		{"an unknown key", "demo", map[string]string{"ms.Nope": "https://x.example/h"}, false},
		{"plain http to a remote host", "demo", map[string]string{WebhookContentEvent: "http://x.example/h"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := s.App("ACC", "demo")
			want := before.Webhook(WebhookContentEvent)
			err := s.SetWebhooks(tt.clientID, tt.hooks)
			if (err == nil) != tt.ok {
				t.Fatalf("SetWebhooks = %v, want ok=%v", err, tt.ok)
			}
			if tt.ok {
				want = tt.hooks[WebhookContentEvent]
			}
			if a, _ := s.App("ACC", "demo"); a.Webhook(WebhookContentEvent) != want || a.Retention != DefaultRetention {
				t.Fatalf("after SetWebhooks: %+v, want ContentEvent %q", a, want)
			}
		})
	}
}
