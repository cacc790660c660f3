package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadWithNothingIsDemoMode(t *testing.T) {
	c, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.DemoMode() {
		t.Fatal("no axp.base_url must mean demo mode")
	}
	checks := map[string][2]string{
		"listen":        {c.Listen, ":8080"},
		"admin_listen":  {c.AdminListen, ":9090"},
		"sim_listen":    {c.Demo.SimListen, "127.0.0.1:8090"},
		"account":       {c.AXP.AccountID, DemoAccount},
		"store":         {c.Store.Driver, "bolt"},
		"demo app":      {c.ConnectorAPI.Apps[0].ClientID, DemoAppClientID},
		"legacy client": {c.LegacyV1.ClientID, DemoLegacyClientID},
	}
	for name, got := range checks {
		if got[0] != got[1] {
			t.Errorf("%s = %q, want %q", name, got[0], got[1])
		}
	}
}

func TestLoadEnvironmentOverridesFile(t *testing.T) {
	path := writeFile(t, `
listen: ":7000"
axp:
  base_url: https://na.cc.avayacloud.com
  account_id: ABCDEF
  client_id: file-id
  client_secret: file-secret
  channel_provider_id: ChatConnector01
  timeout: 3s
customer_channel:
  allowed_origins: [https://a.example]
connector_api:
  apps:
    - client_id: app1
      client_secret: s1
      account_id: ABCDEF
      webhooks:
        ms.MessagingEventNotification.ContentEvent: https://hooks.example/content
`)
	c, err := Load(path, []string{
		"CONNECTOR_PROXY_AXP_CLIENT_SECRET=env-secret",
		"CONNECTOR_PROXY_AXP_TIMEOUT=7s",
		"CONNECTOR_PROXY_CUSTOMER_CHANNEL_ALLOWED_ORIGINS=https://b.example, https://c.example",
		"CONNECTOR_PROXY_CUSTOMER_CHANNEL_MAX_PAYLOAD=2048",
		"UNRELATED=1",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.DemoMode() {
		t.Fatal("a base URL must leave demo mode")
	}
	if c.Listen != ":7000" || c.AXP.ClientID != "file-id" || c.AXP.ClientSecret != "env-secret" || c.AXP.Timeout != 7*time.Second {
		t.Fatalf("overrides not applied: %+v", c.AXP)
	}
	if got := strings.Join(c.CustomerChannel.AllowedOrigins, "|"); got != "https://b.example|https://c.example" {
		t.Fatalf("origins = %q", got)
	}
	if c.CustomerChannel.MaxPayload != 2048 {
		t.Fatalf("max payload %d", c.CustomerChannel.MaxPayload)
	}
}

func TestLoadNamesTheBadField(t *testing.T) {
	cases := []struct {
		name  string
		yaml  string
		env   []string
		field string
	}{
		{"unknown yaml key", "listn: x\n", nil, "listn"},
		{"bad account", "axp: {account_id: ABC}\n", nil, "axp.account_id"},
		{"base url without credentials", "axp: {base_url: 'https://x.example', account_id: ABCDEF, channel_provider_id: abc}\n", nil, "axp.client_id"},
		{"relative base url", "axp: {base_url: 'x.example', client_id: a, client_secret: b}\n", nil, "axp.base_url"},
		{"redis without url", "store: {driver: redis}\n", nil, "store.redis_url"},
		{"unknown driver", "store: {driver: etcd}\n", nil, "store.driver"},
		{"short webhook token", "axp: {webhook_token: short}\n", nil, "axp.webhook_token"},
		{"unknown webhook key", "connector_api: {apps: [{client_id: a, client_secret: b, account_id: c, webhooks: {ms.Nope: 'https://x'}}]}\n", nil, "connector_api.apps[0].webhooks"},
		{"duplicate app", "connector_api: {apps: [{client_id: a, client_secret: b, account_id: c}, {client_id: a, client_secret: b, account_id: c}]}\n", nil, "connector_api.apps[1].client_id"},
		{"bad env duration", "", []string{"CONNECTOR_PROXY_AXP_TIMEOUT=soon"}, "axp.timeout"},
		{"bad env int", "", []string{"CONNECTOR_PROXY_STORE_CACHE_SIZE=many"}, "store.cache_size"},
		{"bad log level", "log: {level: loud}\n", nil, "log.level"},
		{"v1 without an app key", "axp: {api_version: v1, base_url: 'https://na.api.avayacloud.com', account_id: ABCDEF, client_id: a, client_secret: b, channel_provider_id: abc}\n", nil, "axp.app_key"},
		{"v1 without an app key, from the environment", "", []string{"CONNECTOR_PROXY_AXP_API_VERSION=v1", "CONNECTOR_PROXY_AXP_BASE_URL=https://na.api.avayacloud.com",
			"CONNECTOR_PROXY_AXP_CLIENT_ID=a", "CONNECTOR_PROXY_AXP_CLIENT_SECRET=b", "CONNECTOR_PROXY_AXP_ACCOUNT_ID=ABCDEF", "CONNECTOR_PROXY_AXP_CHANNEL_PROVIDER_ID=abc"}, "axp.app_key"},
		{"unknown api version", "axp: {api_version: v2}\n", nil, "axp.api_version"},
		{"tracing endpoint without scheme", "tracing: {enabled: true, endpoint: 'collector:4318'}\n", nil, "tracing.endpoint"},
		{"tracing ratio above one", "", []string{"CONNECTOR_PROXY_TRACING_SAMPLE_RATIO=1.5"}, "tracing.sample_ratio"},
		{"tracing ratio negative", "tracing: {sample_ratio: -0.1}\n", nil, "tracing.sample_ratio"},
		{"legacy client without a secret", "legacy_v1: {client_id: legacy}\n", nil, "legacy_v1.client_secret"},
		{"v1 on the v1beta host", "axp: {api_version: v1, app_key: k, base_url: 'https://na.cc.avayacloud.com', account_id: ABCDEF, client_id: a, client_secret: b, channel_provider_id: abc}\n", nil, "axp.base_url"},
		{"v1beta on the GA host", "axp: {base_url: 'https://na.api.avayacloud.com', account_id: ABCDEF, client_id: a, client_secret: b, channel_provider_id: abc}\n", nil, "axp.base_url"},
		{"short admin token", "admin_token: short\n", nil, "admin_token"},
		{"admin token with a space", "", []string{"CONNECTOR_PROXY_ADMIN_TOKEN=long enough but spaced"}, "admin_token"},
		{"negative dropped max", "outbox: {dropped_max: -1}\n", nil, "outbox.dropped_max"},
		{"dropped kept for seconds", "outbox: {dropped_retention: 5s}\n", nil, "outbox.dropped_retention"},
		{"pauses read every hour", "", []string{"CONNECTOR_PROXY_OUTBOX_PAUSE_REFRESH=1h"}, "outbox.pause_refresh"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(writeFile(t, tc.yaml), tc.env)
			if err == nil {
				t.Fatal("loaded without error")
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("error %q does not name %q", err, tc.field)
			}
			var fe *FieldError
			if tc.name != "unknown yaml key" && !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FieldError", err)
			}
		})
	}
}

func TestLoadAPIVersion(t *testing.T) {
	cases := []struct {
		name            string
		yaml            string
		version, appKey string
	}{
		{"the default is v1beta", "", "v1beta", ""},
		{"GA by configuration", "axp: {api_version: v1, app_key: k-1, base_url: 'https://na.api.avayacloud.com', account_id: ABCDEF, client_id: a, client_secret: b, channel_provider_id: abc}\n", "v1", "k-1"},
		{"a local AXP may be GA on any host", "axp: {api_version: v1, app_key: k-1, base_url: 'http://127.0.0.1:8090', account_id: ABCDEF, client_id: a, client_secret: b, channel_provider_id: abc}\n", "v1", "k-1"},
		{"demo mode on GA takes the simulator's app key", "axp: {api_version: v1}\n", "v1", DemoAppKey},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(writeFile(t, tc.yaml), nil)
			if err != nil {
				t.Fatal(err)
			}
			if c.AXP.APIVersion != tc.version || c.AXP.AppKey != tc.appKey {
				t.Fatalf("api_version, app_key = %q, %q; want %q, %q", c.AXP.APIVersion, c.AXP.AppKey, tc.version, tc.appKey)
			}
		})
	}
}

func TestLoadEmptyFileIsValid(t *testing.T) {
	if _, err := Load(writeFile(t, ""), nil); err != nil {
		t.Fatal(err)
	}
}

func TestTracingIsOffByDefaultAndSetFromTheEnvironment(t *testing.T) {
	c, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Tracing.Enabled || c.Tracing.ServiceName != "connector-proxy" || c.Tracing.SampleRatio != 1 {
		t.Fatalf("default tracing = %+v", c.Tracing)
	}
	c, err = Load("", []string{"CONNECTOR_PROXY_TRACING_ENABLED=true", "CONNECTOR_PROXY_TRACING_ENDPOINT=http://otel:4318",
		"CONNECTOR_PROXY_TRACING_SAMPLE_RATIO=0.25", "OTEL_SERVICE_NAME=ignored-here"})
	if err != nil {
		t.Fatal(err)
	}
	tc := c.TracingConfig([]string{"OTEL_TRACES_SAMPLER=always_on", "PATH=/bin"})
	if !tc.Enabled || tc.Endpoint != "http://otel:4318" || tc.SampleRatio != 0.25 || tc.Getenv("OTEL_TRACES_SAMPLER") != "always_on" || tc.Getenv("PATH") != "" {
		t.Fatalf("tracing = %+v", tc)
	}
}
