package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const oneApp = `
connector_api:
  apps:
    - client_id: chat-server
      client_secret: from-the-file
      account_id: le12345678
`

func TestEnvironmentSetsAppFieldsByIndex(t *testing.T) {
	c, err := Load(writeFile(t, oneApp), []string{
		"CONNECTOR_PROXY_CONNECTOR_API_APPS_0_CLIENT_SECRET=from-a-secret",
		"CONNECTOR_PROXY_CONNECTOR_API_APPS_0_RETENTION=2h",
	})
	if err != nil {
		t.Fatal(err)
	}
	a := c.ConnectorAPI.Apps[0]
	if a.ClientSecret != "from-a-secret" || a.Retention.String() != "2h0m0s" || a.ClientID != "chat-server" {
		t.Fatalf("app = %+v", a)
	}
}

func TestEnvironmentCannotSetAnAppMap(t *testing.T) {
	_, err := Load(writeFile(t, oneApp), []string{"CONNECTOR_PROXY_CONNECTOR_API_APPS_0_WEBHOOKS=x"})
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "connector_api.apps[0].webhooks" {
		t.Fatalf("error %v, want one naming connector_api.apps[0].webhooks", err)
	}
}

func TestUnknownVariablesAreIgnoredByLoadAndNamedByCheck(t *testing.T) {
	cases := []struct {
		name    string
		yaml    string
		env     string
		unknown bool
	}{
		{"a misspelt field", "", "CONNECTOR_PROXY_AXP_CLIENT_SECRT=x", true},
		{"a section that does not exist", "", "CONNECTOR_PROXY_PROFILING_ENDPOINT=x", true},
		{"an app index the file does not have", oneApp, "CONNECTOR_PROXY_CONNECTOR_API_APPS_1_CLIENT_SECRET=x", true},
		// Demo mode adds its app after the environment is applied: the
		// variable would not reach it.
		{"an app variable in demo mode without apps", "", "CONNECTOR_PROXY_CONNECTOR_API_APPS_0_CLIENT_SECRET=x", true},
		{"the configuration path", "", "CONNECTOR_PROXY_CONFIG=/etc/cp.yaml", false},
		{"a known field", "", "CONNECTOR_PROXY_LOG_LEVEL=debug", false},
		{"an app field the file has", oneApp, "CONNECTOR_PROXY_CONNECTOR_API_APPS_0_CLIENT_SECRET=x", false},
		{"Kubernetes service host", "", "CONNECTOR_PROXY_SERVICE_HOST=10.0.0.1", false},
		{"Kubernetes named service port", "", "CONNECTOR_PROXY_SERVICE_PORT_HTTP=8080", false},
		{"Kubernetes link", "", "CONNECTOR_PROXY_PORT=tcp://10.0.0.1:8080", false},
		{"Kubernetes link address", "", "CONNECTOR_PROXY_ADMIN_PORT_9090_TCP_ADDR=10.0.0.2", false},
		{"not quite a Kubernetes link", "", "CONNECTOR_PROXY_PORT_HTTP_TCP=1", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, tc.yaml)
			env := []string{tc.env}
			if _, err := Load(path, env); err != nil {
				t.Fatalf("Load must not refuse it: %v", err)
			}
			name, _, _ := strings.Cut(tc.env, "=")
			_, err := Check(path, env)
			if !tc.unknown {
				if err != nil {
					t.Fatalf("Check refused a known variable: %v", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != name {
				t.Fatalf("Check error %v, want one naming %s", err, name)
			}
		})
	}
}

func TestCheckReadsTheKeyFile(t *testing.T) {
	dir := t.TempDir()
	writePEM := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKCS8PrivateKey(ek)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, path string
		ok         bool
	}{
		{"an RSA key", writePEM("rsa.pem", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rk)), true},
		{"a missing file", filepath.Join(dir, "none.pem"), false},
		{"an EC key", writePEM("ec.pem", "PRIVATE KEY", ecDER), false},
		{"not PEM", writeFile(t, "hello"), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Check("", []string{"CONNECTOR_PROXY_CONNECTOR_API_KEY_FILE=" + tc.path})
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != "connector_api.key_file" {
				t.Fatalf("error %v, want one naming connector_api.key_file", err)
			}
		})
	}
}

func TestListenAddressesAreChecked(t *testing.T) {
	cases := []struct{ env, field string }{
		{"CONNECTOR_PROXY_LISTEN=8080", "listen"},
		{"CONNECTOR_PROXY_ADMIN_LISTEN=:http", "admin_listen"},
		{"CONNECTOR_PROXY_DEMO_SIM_LISTEN=127.0.0.1:70000", "demo.sim_listen"},
	}
	for _, tc := range cases {
		t.Run(tc.field, func(t *testing.T) {
			_, err := Load("", []string{tc.env})
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("error %v, want one naming %s", err, tc.field)
			}
		})
	}
	for _, ok := range []string{":8080", "127.0.0.1:0", "[::1]:9090", "0.0.0.0:65535"} {
		if _, err := Load("", []string{"CONNECTOR_PROXY_LISTEN=" + ok}); err != nil {
			t.Errorf("listen %q refused: %v", ok, err)
		}
	}
}

// Fields whose names say they hold credentials must be tagged so that the
// printer masks them: a field added later under such a name without the tag
// fails here.
func TestSecretLookingFieldsAreTagged(t *testing.T) {
	secretLooking := regexp.MustCompile(`secret|token|password|passwd|credential|api_key`)
	var walk func(t *testing.T, typ reflect.Type, path string)
	walk = func(t *testing.T, typ reflect.Type, path string) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || name == "-" {
				continue
			}
			p := strings.TrimPrefix(path+"."+name, ".")
			ft := f.Type
			if ft.Kind() == reflect.Slice {
				ft = ft.Elem()
				p += "[]"
			}
			if ft.Kind() == reflect.Struct && ft.String() != "time.Duration" {
				walk(t, ft, p)
				continue
			}
			if secretLooking.MatchString(name) && f.Tag.Get("secret") == "" {
				t.Errorf("%s looks like a credential but has no secret tag: -check-config would print it", p)
			}
		}
	}
	walk(t, reflect.TypeFor[Config](), "")
}

// everySecret sets every secret of the configuration to a value of its own
// and returns the values.
func everySecret(t *testing.T) (path string, env []string, secrets []string) {
	t.Helper()
	secrets = []string{
		"axp-client-secret-7f3a",
		"WebhookToken0123456789abcdefghijklmnopqrstuv",
		"app-secret-one-91be",
		"app-secret-two-c04d",
		"redis-password-55aa",
		"smtp-password-e1e1",
		"connector-secret-d00d",
		"basic-auth-pass-1234",
		"query-token-beef",
		"axp-app-key-3c3c",
		"legacy-secret-8e8e",
		"tracing-token-4b4b",
		"admin-token-0f0f0f0f0f",
	}
	path = writeFile(t, `
axp:
  base_url: https://na.cc.avayacloud.com
  account_id: ABCDEF
  client_id: cp
  channel_provider_id: ChatConnector01
connector_api:
  apps:
    - client_id: one
      client_secret: app-secret-one-91be
      account_id: le1
      webhooks:
        ms.MessagingEventNotification.ContentEvent: https://hook:basic-auth-pass-1234@hooks.example/content?token=query-token-beef
    - client_id: two
      client_secret: placeholder
      account_id: le2
customer_channel:
  smtp:
    addr: smtp.example:587
    username: mailer
    password: smtp-password-e1e1
`)
	env = []string{
		"CONNECTOR_PROXY_AXP_CLIENT_SECRET=axp-client-secret-7f3a",
		"CONNECTOR_PROXY_TRACING_ENDPOINT=https://otel.example:4318?api-key=tracing-token-4b4b",
		"CONNECTOR_PROXY_AXP_WEBHOOK_TOKEN=WebhookToken0123456789abcdefghijklmnopqrstuv",
		"CONNECTOR_PROXY_CONNECTOR_API_APPS_1_CLIENT_SECRET=app-secret-two-c04d",
		"CONNECTOR_PROXY_STORE_DRIVER=redis",
		"CONNECTOR_PROXY_STORE_REDIS_URL=redis://default:redis-password-55aa@redis.example:6379/0",
		"CONNECTOR_PROXY_CUSTOMER_CHANNEL_CONNECTOR_SECRET=connector-secret-d00d",
		"CONNECTOR_PROXY_AXP_APP_KEY=axp-app-key-3c3c",
		"CONNECTOR_PROXY_LEGACY_V1_CLIENT_ID=legacy",
		"CONNECTOR_PROXY_LEGACY_V1_CLIENT_SECRET=legacy-secret-8e8e",
		"CONNECTOR_PROXY_ADMIN_TOKEN=admin-token-0f0f0f0f0f",
	}
	return path, env, secrets
}

// taggedValues are the values of every field tagged secret:"true" in v.
func taggedValues(v reflect.Value) []string {
	var out []string
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if f.Tag.Get("secret") == "true" && v.Field(i).Kind() == reflect.String {
				out = append(out, v.Field(i).String())
				continue
			}
			out = append(out, taggedValues(v.Field(i))...)
		}
	case reflect.Slice:
		for i := range v.Len() {
			out = append(out, taggedValues(v.Index(i))...)
		}
	}
	return out
}

func TestMaskedYAMLPrintsNoSecret(t *testing.T) {
	path, env, secrets := everySecret(t)
	c, err := Check(path, env)
	if err != nil {
		t.Fatal(err)
	}
	// Every tagged field was given one of the values above, so the list
	// covers fields added later with the tag too.
	for _, v := range taggedValues(reflect.ValueOf(c).Elem()) {
		if !slices.Contains(secrets, v) {
			t.Errorf("secret field holding %q is not set by this test; add it to everySecret", v)
		}
	}
	out, err := c.MaskedYAML()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if strings.Contains(string(out), s) {
			t.Errorf("the printed configuration holds the secret %q:\n%s", s, out)
		}
	}
	for _, want := range []string{
		"client_secret: '" + Mask + "'",
		"redis_url: redis://default:" + Mask + "@redis.example:6379/0",
		"https://hook:" + Mask + "@hooks.example/content?token=" + Mask,
		"username: mailer",
		"base_url: https://na.cc.avayacloud.com",
		"timeout: 10s",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("printed configuration lacks %q:\n%s", want, out)
		}
	}
}

func TestPrintedConfigurationReadsBack(t *testing.T) {
	path, env, _ := everySecret(t)
	c, err := Load(path, env)
	if err != nil {
		t.Fatal(err)
	}
	first, err := c.marshal(false)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Load(writeFile(t, string(first)), nil)
	if err != nil {
		t.Fatalf("the printed configuration does not load: %v\n%s", err, first)
	}
	second, err := again.marshal(false)
	if err != nil {
		t.Fatal(err)
	}
	if string(first) != string(second) {
		t.Fatalf("printing is not stable:\n%s\n---\n%s", first, second)
	}
}

// The OTEL_* variables a start would refuse are named by -check-config.
func TestCheckNamesTracingVariablesThisBuildCannotUse(t *testing.T) {
	if _, err := Check("", []string{"OTEL_EXPORTER_OTLP_PROTOCOL=grpc"}); err == nil || !strings.Contains(err.Error(), "tracing: OTEL_EXPORTER_OTLP_PROTOCOL=grpc") {
		t.Fatalf("Check = %v", err)
	}
	if _, err := Check("", []string{"OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf", "OTEL_TRACES_EXPORTER=otlp"}); err != nil {
		t.Fatalf("Check = %v", err)
	}
}
