package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connector-proxy/connector-proxy/config"
)

// goodSecrets are the secrets of testdata/good.yaml.
func goodSecrets() []string {
	return []string{
		"redis-pass-6d1f", "axp-secret-90c2", "tokenFromTheFile_0123456789abcdefghijkl", "app-secret-3b77",
		"connector-secret-a4e0", "smtp-pass-51c9",
	}
}

func check(t *testing.T, path string, env ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = checkConfig(&out, &errOut, path, env)
	return code, out.String(), errOut.String()
}

func TestCheckConfigPassesAGoodFile(t *testing.T) {
	code, out, errOut := check(t, filepath.Join("testdata", "good.yaml"),
		"CONNECTOR_PROXY_LOG_LEVEL=debug", "CONNECTOR_PROXY_REPLICA_ID=proxy-0")
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errOut)
	}
	if !strings.Contains(errOut, "is valid") {
		t.Errorf("stderr %q does not say the configuration is valid", errOut)
	}
	// What is printed is the resolved configuration: the file, the
	// environment over it, the defaults.
	for _, want := range []string{"level: debug", "replica_id: proxy-0", "lease_ttl: 15s", "retention: 1h0m0s", "agent_role: ASSIGNED_AGENT", "public_url: https://chat.example.com"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// …and a file: with the secrets put back, it loads.
	restored := strings.Replace(out, "redis://default:"+config.Mask+"@", "redis://default:x@", 1)
	restored = strings.ReplaceAll(restored, "'"+config.Mask+"'", "restored-secret")
	restored = strings.Replace(restored, "webhook_token: restored-secret", "webhook_token: restored_token_0123456789abcdefghijkl", 1)
	p := filepath.Join(t.TempDir(), "printed.yaml")
	if err := os.WriteFile(p, []byte(restored), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load(p, nil); err != nil {
		t.Fatalf("the printed configuration does not load: %v\n%s", err, restored)
	}
}

func TestCheckConfigPassesDemoMode(t *testing.T) {
	code, out, errOut := check(t, "")
	if code != 0 || !strings.Contains(out, "demo mode") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
}

func TestCheckConfigNamesEachBadField(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "good.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// edit returns good.yaml with one line replaced.
	edit := func(old, new string) string {
		if !strings.Contains(string(good), old) {
			t.Fatalf("good.yaml has no %q", old)
		}
		return strings.Replace(string(good), old, new, 1)
	}
	cases := []struct {
		name  string
		yaml  string
		env   []string
		field string
	}{
		{"unknown key in the file", edit("  level: info", "  levle: info"), nil, "levle"},
		{"listen without a port", edit(`listen: ":8080"`, `listen: "8080"`), nil, "listen"},
		{"admin listener with a named port", edit(`admin_listen: ":9090"`, `admin_listen: ":metrics"`), nil, "admin_listen"},
		{"relative public url", edit("public_url: https://chat.example.com", "public_url: chat.example.com"), nil, "public_url"},
		{"negative shutdown timeout", edit("shutdown_timeout: 15s", "shutdown_timeout: -1s"), nil, "shutdown_timeout"},
		{"log format", edit("  format: json", "  format: xml"), nil, "log.format"},
		{"store driver", edit("  driver: redis", "  driver: etcd"), nil, "store.driver"},
		{"redis without its url", edit("  redis_url: redis://default:redis-pass-6d1f@redis.example:6379/0", ""), nil, "store.redis_url"},
		{"axp base url", edit("  base_url: https://na.cc.avayacloud.com", "  base_url: na.cc.avayacloud.com"), nil, "axp.base_url"},
		{"axp account", edit("  account_id: ABCDEF", "  account_id: ABC123"), nil, "axp.account_id"},
		{"axp client secret missing", edit("  client_secret: axp-secret-90c2", ""), nil, "axp.client_secret"},
		{"axp channel provider", edit("  channel_provider_id: ChatConnector01", "  channel_provider_id: C"), nil, "axp.channel_provider_id"},
		{"webhook token too short", edit("  webhook_token: tokenFromTheFile_0123456789abcdefghijkl", "  webhook_token: short"), nil, "axp.webhook_token"},
		{"app without secret", edit("      client_secret: app-secret-3b77", ""), nil, "connector_api.apps[0].client_secret"},
		{"app webhook key", edit("        cqm.ExConversationChangeNotification:", "        cqm.Nope:"), nil, "connector_api.apps[0].webhooks"},
		{"app retention", edit("      account_id: le12345678", "      account_id: le12345678\n      retention: 1s"), nil, "connector_api.apps[0]"},
		{"max payload", edit("  connector_secret: connector-secret-a4e0", "  connector_secret: connector-secret-a4e0\n  max_payload: 10"), nil, "customer_channel.max_payload"},
		{"tls key without certificate", edit("log:", "tls:\n  key_file: /nonexistent.key\nlog:"), nil, "tls.cert_file"},
		{"key file missing", edit("connector_api:", "connector_api:\n  key_file: /nonexistent/appjwt.pem"), nil, "connector_api.key_file"},
		{"bad duration from the environment", string(good), []string{"CONNECTOR_PROXY_AXP_TIMEOUT=soon"}, "axp.timeout"},
		{"bad number from the environment", string(good), []string{"CONNECTOR_PROXY_STORE_CACHE_SIZE=many"}, "store.cache_size"},
		{"bad level from the environment", string(good), []string{"CONNECTOR_PROXY_LOG_LEVEL=loud"}, "log.level"},
		{"misspelt variable", string(good), []string{"CONNECTOR_PROXY_AXP_CLIENTSECRET=x"}, "CONNECTOR_PROXY_AXP_CLIENTSECRET"},
		{"app index the file lacks", string(good), []string{"CONNECTOR_PROXY_CONNECTOR_API_APPS_3_CLIENT_SECRET=x"}, "CONNECTOR_PROXY_CONNECTOR_API_APPS_3_CLIENT_SECRET"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(p, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := check(t, p, tc.env...)
			if code == 0 {
				t.Fatalf("exit 0 for a bad configuration; output:\n%s", out)
			}
			if out != "" {
				t.Errorf("a bad configuration printed a configuration:\n%s", out)
			}
			if !strings.Contains(errOut, tc.field) {
				t.Errorf("stderr does not name %s:\n%s", tc.field, errOut)
			}
			for _, s := range goodSecrets() {
				if strings.Contains(errOut, s) {
					t.Errorf("stderr holds the secret %q:\n%s", s, errOut)
				}
			}
		})
	}
}

func TestCheckConfigNamesEveryFaultAtOnce(t *testing.T) {
	code, _, errOut := check(t, "", "CONNECTOR_PROXY_AXP_ACCOUNT_ID=ABC", "CONNECTOR_PROXY_LOG_FORMAT=xml", "CONNECTOR_PROXY_NOPE=1")
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	for _, f := range []string{"axp.account_id", "log.format", "CONNECTOR_PROXY_NOPE"} {
		if !strings.Contains(errOut, f) {
			t.Errorf("stderr does not name %s:\n%s", f, errOut)
		}
	}
}

func TestCheckConfigPrintsNoSecret(t *testing.T) {
	env := []string{
		// The environment's secrets replace some of the file's.
		"CONNECTOR_PROXY_AXP_CLIENT_SECRET=env-axp-secret-f00d",
		"CONNECTOR_PROXY_CONNECTOR_API_APPS_0_CLIENT_SECRET=env-app-secret-cafe",
		"CONNECTOR_PROXY_CUSTOMER_CHANNEL_SMTP_PASSWORD=env-smtp-pass-0b0e",
		"CONNECTOR_PROXY_STORE_REDIS_URL=redis://:env-redis-pass-1dea@redis.internal:6380/2",
	}
	secrets := append([]string{"env-axp-secret-f00d", "env-app-secret-cafe", "env-smtp-pass-0b0e", "env-redis-pass-1dea"}, goodSecrets()...)
	code, out, errOut := check(t, filepath.Join("testdata", "good.yaml"), env...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, s := range secrets {
		if strings.Contains(out+errOut, s) {
			t.Errorf("the output holds the secret %q:\n%s%s", s, out, errOut)
		}
	}
	// Masked, not dropped: the operator sees that each one is set.
	if n := strings.Count(out, config.Mask); n < 6 {
		t.Errorf("%d masks in the output, want one per secret (6):\n%s", n, out)
	}
	if !strings.Contains(out, "redis_url: redis://:"+config.Mask+"@redis.internal:6380/2") {
		t.Errorf("redis_url not shown with its password masked:\n%s", out)
	}
}
