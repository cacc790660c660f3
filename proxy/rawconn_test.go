package proxy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/connector-proxy/connector-proxy/config"
)

// Helpers of the edge tests: raw connections (requests a stock client
// would not send), a proxy whose log the test reads, the demo app's
// tokens and the admin's metrics.

// rawExchange writes req whole, as clients that write before they read do,
// then reads one answer. The error is the first failure, of the write or
// of the read.
func rawExchange(t *testing.T, addr string, req []byte) (*http.Response, []byte, error) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	if _, err := c.Write(req); err != nil {
		return nil, nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

// dialIdle opens a connection and sends nothing.
func dialIdle(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedByPeer reports whether the server closed c (EOF or reset) within
// the wait, without c sending anything.
func closedByPeer(c net.Conn, wait time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(wait))
	var b [1]byte
	_, err := c.Read(b[:])
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

// logBuffer collects a proxy's log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *logBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// startLogged runs a proxy like startProxy, logging at debug into the
// returned buffer.
func startLogged(t *testing.T, cfg *config.Config) (*Proxy, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	p, _ := runProxy(t, func(ctx context.Context) (*Proxy, error) {
		return New(ctx, cfg, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	})
	return p, logs
}

// post sends a request with the standard client and returns status,
// headers and body.
func post(t *testing.T, url string, headers map[string]string, body string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// demoTokens gets an AppJWT of the demo app and a ConsumerJWS for ext.
func demoTokens(t *testing.T, base, ext string) (app, jws string) {
	t.Helper()
	code, _, body := post(t, base+"/sentinel/api/account/"+config.DemoAccount+"/app/token?v=1.0&grant_type=client_credentials&client_id="+
		config.DemoAppClientID+"&client_secret="+config.DemoAppClientSecret, nil, "")
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if code != 200 || json.Unmarshal(body, &tok) != nil {
		t.Fatalf("AppJWT: %d %s", code, body)
	}
	b, _ := json.Marshal(map[string]string{"ext_consumer_id": ext})
	code, _, body = post(t, base+"/api/account/"+config.DemoAccount+"/consumer?v=1.0", map[string]string{"Authorization": tok.AccessToken}, string(b))
	var cons struct{ Token string }
	if code != 201 || json.Unmarshal(body, &cons) != nil {
		t.Fatalf("ConsumerJWS: %d %s", code, body)
	}
	return tok.AccessToken, cons.Token
}

// conversationRequest is a CONVERSATION batch for the demo account.
const conversationRequest = `[{"kind":"req","id":"1","type":"userprofile.SetUserProfile","body":{"authenticatedData":{"lp_sdes":[{"type":"personal","personal":{"firstname":"Ada"}}]}}},` +
	`{"kind":"req","id":"2","type":"cm.ConsumerRequestConversation","body":{"brandId":"` + config.DemoAccount + `"}}]`

// metricValue is one series' value on the admin's /metrics, 0 when absent.
func metricValue(t *testing.T, p *Proxy, series string) float64 {
	t.Helper()
	_, body := get(t, "http://"+p.AdminAddr()+"/metrics")
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f
		}
	}
	return 0
}

// waitMetric waits until a series reaches at least want.
func waitMetric(t *testing.T, p *Proxy, series string, want float64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := metricValue(t, p, series)
		if got >= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v, want at least %v", series, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func bufioReader(c net.Conn) *bufio.Reader { return bufio.NewReader(c) }

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// nopRegisterer takes metrics and registers nothing, for parts built
// alone.
type nopRegisterer struct{}

func (nopRegisterer) Register(prometheus.Collector) error  { return nil }
func (nopRegisterer) MustRegister(...prometheus.Collector) {}
func (nopRegisterer) Unregister(prometheus.Collector) bool { return true }
