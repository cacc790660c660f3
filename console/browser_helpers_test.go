package console_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/connector-proxy/connector-proxy/config"
	"github.com/connector-proxy/connector-proxy/proxy"
)

// startDemoProxy runs a whole demo-mode proxy on loopback ports, stopped at
// the end of the test (which fails if it does not shut down cleanly).
func startDemoProxy(t *testing.T, env ...string) *proxy.Proxy {
	t.Helper()
	cfg, err := config.Load("", append([]string{
		"CONNECTOR_PROXY_LISTEN=127.0.0.1:0",
		"CONNECTOR_PROXY_ADMIN_LISTEN=127.0.0.1:0",
		"CONNECTOR_PROXY_DEMO_SIM_LISTEN=127.0.0.1:0",
		"CONNECTOR_PROXY_DATA_DIR=" + t.TempDir(),
		"CONNECTOR_PROXY_SHUTDOWN_TIMEOUT=5s",
	}, env...))
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
		case <-time.After(15 * time.Second):
			t.Error("proxy did not shut down within 15 s")
		}
	})
	waitReady(t, p)
	return p
}

// waitReady waits for /readyz: the AXP subscription must be in place before
// agent events can reach the faces.
func waitReady(t *testing.T, p *proxy.Proxy) {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	var last string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := c.Get("http://" + p.AdminAddr() + "/readyz")
		if err != nil {
			last = err.Error()
			continue
		}
		var r struct{ Ready bool }
		err = json.NewDecoder(resp.Body).Decode(&r)
		resp.Body.Close()
		if err == nil && r.Ready {
			return
		}
		last = resp.Status
	}
	t.Fatalf("the proxy never became ready; last /readyz: %s", last)
}

// pdfText extracts a PDF's text with poppler's pdftotext.
func pdfText(t *testing.T, path string) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Fatal("pdftotext is missing: install poppler-utils (apt-get install -y poppler-utils)")
	}
	out, err := exec.Command(bin, "-layout", path, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext %s: %v: %s", path, err, out)
	}
	return string(out)
}

// chromium finds the browser: $CHROMIUM, else Debian's /usr/bin/chromium.
func chromium(t *testing.T) string {
	t.Helper()
	path := os.Getenv("CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("Chromium is required for this test: apt-get install -y chromium (or set CHROMIUM): %v", err)
	}
	return path
}

// screenshotDir is where the pane screenshots are kept:
// $CONSOLE_SCREENSHOTS, else artifacts/demo-screenshots at the repository root.
func screenshotDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("CONSOLE_SCREENSHOTS"); d != "" {
		return d
	}
	d, err := filepath.Abs("../artifacts/demo-screenshots")
	if err != nil {
		t.Fatal(err)
	}
	return d
}
