package customerchannel

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/ratelimit"
)

// testClock moves only when told.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// byRemoteIP keys a limiter by the peer address, as the proxy does when no
// load balancer is trusted.
func byRemoteIP(l *ratelimit.Limiter[string]) func(*fasthttp.RequestCtx) time.Duration {
	return func(ctx *fasthttp.RequestCtx) time.Duration { return l.Wait(ctx.RemoteIP().String()) }
}

func rawGet(t *testing.T, url string, headers ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestInitRateLimit(t *testing.T) {
	clk := &testClock{t: time.Unix(1_700_000_000, 0)}
	r := newRig(t, func(c *Config) {
		c.InitLimit = byRemoteIP(ratelimit.New[string](ratelimit.Options{Rate: 0.25, Burst: 1, Now: clk.Now}))
	})
	r.init(t, InitRequest{Channel: "web", Email: "rate@example.com"})
	b, _ := json.Marshal(InitRequest{Channel: "web", Email: "rate@example.com"})
	resp, err := r.http.Post(r.proxyURL+"/api/customer/init", "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var e HTTPError
	if resp.StatusCode != 429 || json.Unmarshal(raw, &e) != nil || e.Status != 429 || e.Code != CodeRateLimited || e.Message == "" {
		t.Fatalf("second init: %d %s, want 429 {status,code:RATE_LIMITED,message}", resp.StatusCode, raw)
	}
	if got := resp.Header.Get("Retry-After"); got != "4" {
		t.Errorf("Retry-After %q, want 4", got)
	}
	clk.Advance(4 * time.Second)
	r.init(t, InitRequest{Channel: "web", Email: "rate@example.com"})
}

func TestSocketHandshakeRateLimit(t *testing.T) {
	clk := &testClock{t: time.Unix(1_700_000_000, 0)}
	r := newRig(t, func(c *Config) {
		c.SocketLimit = byRemoteIP(ratelimit.New[string](ratelimit.Options{Rate: 1, Burst: 2, Now: clk.Now}))
	})
	handshake := r.proxyURL + "/socket.io/?EIO=4&transport=polling"
	for i := range 2 {
		if code, _, body := rawGet(t, handshake); code != 200 || !strings.HasPrefix(body, "0{") {
			t.Fatalf("handshake %d within the burst: %d %s", i, code, body)
		}
	}
	code, h, body := rawGet(t, handshake, "Origin", "https://shop.example")
	if code != 429 || body != `{"code":4,"message":"Too many requests"}` {
		t.Fatalf("third handshake: %d %s, want 429 and an Engine.IO error", code, body)
	}
	if h.Get("Retry-After") != "1" || h.Get("Access-Control-Allow-Origin") != "https://shop.example" {
		t.Errorf("headers %v: want Retry-After 1 and the origin allowed", h)
	}
	// Requests of an open session (with sid) are not handshakes.
	if code, _, body := rawGet(t, r.proxyURL+"/socket.io/?EIO=4&transport=polling&sid=unknown"); code != 400 || !strings.Contains(body, "Session ID unknown") {
		t.Errorf("a request with sid: %d %s, want the socketio server's own answer", code, body)
	}
	clk.Advance(time.Second)
	if code, _, body := rawGet(t, handshake); code != 200 {
		t.Fatalf("after the refill: %d %s", code, body)
	}
}

func TestRefuseSpeaksEachFormat(t *testing.T) {
	r := newRig(t, nil)
	tests := []struct {
		path   string
		status int
		want   string
	}{
		{"/api/customer/init", 413, `{"status":413,"code":"PAYLOAD_TOO_LARGE","message":"m"}`},
		{"/api/customer/init", 431, `{"status":431,"code":"HEADERS_TOO_LARGE","message":"m"}`},
		{"/api/customer/transcript/x/pdf", 408, `{"status":408,"code":"TIMEOUT","message":"m"}`},
		{"/api/customer/init", 400, `{"status":400,"code":"BAD_REQUEST","message":"m"}`},
		{"/socket.io/", 431, `{"code":3,"message":"Bad request"}`},
		{"/socket.io/", 413, `{"code":3,"message":"Bad request"}`},
	}
	for _, tt := range tests {
		var ctx fasthttp.RequestCtx
		r.face.Refuse(&ctx, []byte(tt.path), tt.status, "m")
		if ctx.Response.StatusCode() != tt.status || string(ctx.Response.Body()) != tt.want {
			t.Errorf("%s %d: %d %s, want %s", tt.path, tt.status, ctx.Response.StatusCode(), ctx.Response.Body(), tt.want)
		}
	}
}
