package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connector-proxy/connector-proxy/config"
	"github.com/connector-proxy/connector-proxy/internal/redistest"
)

// demoConfig is demo mode on loopback ports the kernel picks; env adds
// to (and, named again, overrides) the defaults.
func demoConfig(t *testing.T, env ...string) *config.Config {
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
	return cfg
}

// startProxy runs a whole proxy. stop ends it and returns what Run
// returned; the test's cleanup stops it too and fails on a bad shutdown.
func startProxy(t *testing.T, cfg *config.Config) (p *Proxy, stop func() error) {
	t.Helper()
	return runProxy(t, func(ctx context.Context) (*Proxy, error) {
		return New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	})
}

// runProxy runs the proxy build makes until stop or the test's end, as
// startProxy says.
func runProxy(t *testing.T, build func(ctx context.Context) (*Proxy, error)) (p *Proxy, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p, err := build(ctx)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(10 * time.Second):
				runErr = errors.New("proxy did not shut down within 10 s")
			}
		})
		return runErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return p, stop
}

// startDemo runs a proxy in demo mode until the test ends.
func startDemo(t *testing.T, env ...string) (*Proxy, *config.Config) {
	t.Helper()
	cfg := demoConfig(t, env...)
	p, _ := startProxy(t, cfg)
	return p, cfg
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestDemoModeBecomesReady(t *testing.T) {
	p, _ := startDemo(t)
	waitReady(t, p)
}

func TestRedisStoreBecomesReady(t *testing.T) {
	srv := redistest.Start(t)
	p, _ := startDemo(t, "CONNECTOR_PROXY_STORE_DRIVER=redis", "CONNECTOR_PROXY_STORE_REDIS_URL="+srv.URL)
	waitReady(t, p)
}

func waitReady(t *testing.T, p *Proxy) {
	t.Helper()
	admin := "http://" + p.AdminAddr()
	if code, body := get(t, admin+"/healthz"); code != 200 || !strings.Contains(body, "ok") {
		t.Fatalf("healthz = %d %s", code, body)
	}
	var last string
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		code, body := get(t, admin+"/readyz")
		last = body
		if code == 200 {
			var r struct {
				Ready  bool
				Checks map[string]struct{ OK bool }
			}
			if err := json.Unmarshal([]byte(body), &r); err != nil || !r.Ready || len(r.Checks) != 3 {
				t.Fatalf("readyz body = %s (%v)", body, err)
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("never ready; last readyz: %s", last)
}

func TestMetricsExposeEveryPart(t *testing.T) {
	p, _ := startDemo(t)
	// One request on the public side so that its series exist.
	get(t, "http://"+p.PublicAddr()+"/nowhere")
	_, body := get(t, "http://"+p.AdminAddr()+"/metrics")
	for _, name := range []string{
		"go_goroutines",
		"process_resident_memory_bytes",
		`connector_proxy_http_requests_total{code="404",route="other"} 1`,
		"connector_proxy_http_request_duration_seconds_bucket",
	} {
		if !strings.Contains(body, name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}

func TestRouteNamesCarryNoIDs(t *testing.T) {
	cases := map[string]string{
		"/sentinel/api/account/DEMOAC/app/token":                        "appjwt",
		"/api/account/DEMOAC/consumer":                                  "consumerjws",
		"/api/account/DEMOAC/messaging/consumer/conversation":           "conversation",
		"/api/account/DEMOAC/messaging/consumer/conversation/send":      "send",
		"/api/account/DEMOAC/service/baseURI.json":                      "domain",
		"/api/customer/init":                                            "init",
		"/api/customer/transcript/5f0c/pdf":                             "transcript",
		"/socket.io/":                                                   "socketio",
		"/webhooks/axp/secret-token-that-must-not-become-a-label-value": "axp_webhook",
		"/favicon.ico": "other",
	}
	for path, want := range cases {
		if got := routeName([]byte(path)); got != want {
			t.Errorf("routeName(%q) = %q, want %q", path, got, want)
		}
	}
}

// A long-polling GET is held open by design (up to the ping interval); it
// must not hold the shutdown, and the client must be told to go.
func TestShutdownReleasesPendingPollingRequests(t *testing.T) {
	p, stop := startProxy(t, demoConfig(t,
		"CONNECTOR_PROXY_SHUTDOWN_TIMEOUT=10s",
		"CONNECTOR_PROXY_CUSTOMER_CHANNEL_PING_INTERVAL=60s",
	))

	base := "http://" + p.PublicAddr() + "/socket.io/?EIO=4&transport=polling"
	_, open := get(t, base)
	var hs struct{ Sid string }
	if err := json.Unmarshal([]byte(strings.TrimPrefix(open, "0")), &hs); err != nil || hs.Sid == "" {
		t.Fatalf("handshake %q: %v", open, err)
	}
	poll := base + "&sid=" + hs.Sid
	resp, err := http.Post(poll, "text/plain;charset=UTF-8", strings.NewReader("40"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, connected := get(t, poll); !strings.HasPrefix(connected, "40") {
		t.Fatalf("connect answer %q", connected)
	}

	pending := make(chan string, 1)
	go func() {
		c := http.Client{Timeout: 30 * time.Second}
		resp, err := c.Get(poll)
		if err != nil {
			pending <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		pending <- string(b)
	}()
	time.Sleep(200 * time.Millisecond) // let the GET reach the server and wait there

	start := time.Now()
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	case <-time.After(9 * time.Second): // the drain timeout is 10 s
		t.Fatal("the pending polling GET held the shutdown")
	}
	t.Logf("shutdown took %v with a polling request pending", time.Since(start))
	select {
	case body := <-pending:
		if body != "1" { // Engine.IO close: the client reconnects, to another replica if need be
			t.Fatalf("pending GET answered %q, want the close packet", body)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the pending GET was never answered")
	}
}
