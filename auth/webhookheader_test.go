package auth

import "testing"

func TestCustomWebhookHeadersCannotReplaceTheProxysOwn(t *testing.T) {
	tests := []struct {
		name, header, value string
		ok                  bool
	}{
		{"an API key", "X-Api-Key", "s3cret", true},
		{"an empty value", "X-Flag", "", true},
		{"the signature", "X-LivePerson-Signature", "sha1=forged", false},
		{"the account", "x-liveperson-account-id", "other", false},
		{"the content type", "Content-Type", "text/plain", false},
		{"a name with a space", "X Api", "v", false},
		{"a name with a colon", "X:Api", "v", false},
		{"an empty name", "", "v", false},
		{"a value with a line break", "X-Api-Key", "a\r\nX-Injected: 1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := App{ClientID: "a", ClientSecret: "s", AccountID: "x",
				Webhooks:       map[string]string{WebhookContentEvent: "https://connector.example/h"},
				WebhookHeaders: map[string]map[string]string{WebhookContentEvent: {tt.header: tt.value}}}
			if err := CheckApp(app); (err == nil) != tt.ok {
				t.Fatalf("CheckApp = %v, want ok = %v", err, tt.ok)
			}
		})
	}
	orphan := App{ClientID: "a", ClientSecret: "s", AccountID: "x", WebhookHeaders: map[string]map[string]string{WebhookChatStateEvent: {"X-A": "b"}}}
	if CheckApp(orphan) == nil {
		t.Fatal("headers for an event key without an endpoint were accepted")
	}
}
