package deploy

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/connector-proxy/connector-proxy/config"
	"github.com/connector-proxy/connector-proxy/proxy"
)

// startProxy runs a real proxy in demo mode in this process, on loopback
// ports the kernel picks and a temporary data directory, with the
// configuration file body (may be empty), until the test ends; it returns
// once /readyz answers 200.
func startProxy(t *testing.T, body string) *proxy.Proxy {
	t.Helper()
	cfgPath := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath, []string{
		"CONNECTOR_PROXY_LISTEN=127.0.0.1:0",
		"CONNECTOR_PROXY_ADMIN_LISTEN=127.0.0.1:0",
		"CONNECTOR_PROXY_DEMO_SIM_LISTEN=127.0.0.1:0",
		"CONNECTOR_PROXY_DATA_DIR=" + t.TempDir(),
		"CONNECTOR_PROXY_SHUTDOWN_TIMEOUT=5s",
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p, err := proxy.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("proxy shutdown: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("the proxy did not shut down within 10 s")
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, _ := httpGet(t, "http://"+p.AdminAddr()+"/readyz")
		if code == http.StatusOK {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("the proxy was not ready within 15 s (readyz %d)", code)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// httpGet answers the status and body of a GET, failing the test when no
// answer comes.
func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// httpPost posts body and answers the status and body.
func httpPost(t *testing.T, url, contentType, body string, headers ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}
