package config

import (
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connector-proxy/connector-proxy/internal/testca"
)

// fieldErrors lists the fields a Validate error names.
func fieldErrors(err error) []string {
	var out []string
	var walk func(error)
	walk = func(e error) {
		if multi, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range multi.Unwrap() {
				walk(x)
			}
			return
		}
		var fe *FieldError
		if errors.As(e, &fe) {
			out = append(out, fe.Field)
		}
	}
	if err != nil {
		walk(err)
	}
	return out
}

func TestTLSValidationNamesTheBadField(t *testing.T) {
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	dirA, dirB := t.TempDir(), t.TempDir()
	certA, keyA, err := ca.Issue(dirA, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	_, keyB, err := ca.Issue(dirB, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(t.TempDir(), "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		tls   TLS
		field string // "" for valid
		msg   string
	}{
		{"certificate and its key", TLS{CertFile: certA, KeyFile: keyA}, "", ""},
		{"certificate, key and a plain listener", TLS{CertFile: certA, KeyFile: keyA, PlainListen: "127.0.0.1:0"}, "", ""},
		{"missing certificate file", TLS{CertFile: filepath.Join(dirA, "none.crt"), KeyFile: keyA}, "tls.cert_file", "no such file"},
		{"missing key file", TLS{CertFile: certA, KeyFile: filepath.Join(dirA, "none.key")}, "tls.key_file", "no such file"},
		{"key of another certificate", TLS{CertFile: certA, KeyFile: keyB}, "tls.key_file", "does not match"},
		{"certificate file that is not PEM", TLS{CertFile: garbage, KeyFile: keyA}, "tls.cert_file", "no PEM"},
		{"key given as the certificate", TLS{CertFile: keyA, KeyFile: keyA}, "tls.cert_file", "no PEM CERTIFICATE"},
		{"certificate without key", TLS{CertFile: certA}, "tls.key_file", "required"},
		{"key without certificate", TLS{KeyFile: keyA}, "tls.cert_file", "required"},
		{"plain listener without TLS", TLS{PlainListen: ":8081"}, "tls.plain_listen", "needs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load("", nil)
			if err != nil {
				t.Fatal(err)
			}
			c.TLS = tt.tls
			err = c.Validate()
			got := fieldErrors(err)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("valid TLS refused: %v", err)
				}
				cfg, err := c.TLS.LoadTLS()
				if err != nil || cfg.MinVersion != tls.VersionTLS12 || len(cfg.Certificates) != 1 {
					t.Fatalf("LoadTLS = %+v, %v", cfg, err)
				}
				return
			}
			if len(got) != 1 || got[0] != tt.field || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %v (fields %v), want %s mentioning %q", err, got, tt.field, tt.msg)
			}
		})
	}
}

func TestTLSFieldsFromTheEnvironment(t *testing.T) {
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := ca.Issue(t.TempDir(), "localhost")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Load("", []string{"CONNECTOR_PROXY_TLS_CERT_FILE=" + cert, "CONNECTOR_PROXY_TLS_KEY_FILE=" + key,
		"CONNECTOR_PROXY_TLS_PLAIN_LISTEN=:8081", "CONNECTOR_PROXY_CONNECTOR_API_PUBLIC_HOST=proxy.example.com:8443"})
	if err != nil {
		t.Fatal(err)
	}
	if !c.TLS.Enabled() || c.TLS.PlainListen != ":8081" || c.ConnectorAPI.PublicHost != "proxy.example.com:8443" {
		t.Fatalf("tls %+v public_host %q", c.TLS, c.ConnectorAPI.PublicHost)
	}
}

func TestPublicHostMustBeAHostAndPort(t *testing.T) {
	for _, tt := range []struct {
		host string
		ok   bool
	}{
		{"proxy.example.com", true},
		{"proxy.example.com:8443", true},
		{"127.0.0.1:8443", true},
		{"[::1]:8443", true},
		{"https://proxy.example.com", false},
		{"proxy.example.com/path", false},
		{"user@proxy.example.com", false},
		{":8443", false},
	} {
		c, err := Load("", nil)
		if err != nil {
			t.Fatal(err)
		}
		c.ConnectorAPI.PublicHost = tt.host
		err = c.Validate()
		if got := fieldErrors(err); tt.ok != (err == nil) || (!tt.ok && (len(got) != 1 || got[0] != "connector_api.public_host")) {
			t.Errorf("public_host %q: %v", tt.host, err)
		}
	}
}
