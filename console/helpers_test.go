package console

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/auth"
	"github.com/connector-proxy/connector-proxy/simulator"
)

const (
	testAccount  = "DEMOAC"
	testClientID = "demo-app"
	testSecret   = "demo-app-secret"
)

// testSecrets knows one app, as the proxy's auth service would.
func testSecrets(account, clientID string) (string, bool) {
	if account == testAccount && clientID == testClientID {
		return testSecret, true
	}
	return "", false
}

// rig is a console served on a loopback listener, as the proxy serves it.
type rig struct {
	c    *Console
	sim  *simulator.Simulator // nil without an agent desk
	reg  *prometheus.Registry
	addr string
	srv  *fasthttp.Server
	done chan struct{}

	mu    sync.Mutex
	after []string // paths as the handler left them
}

func (r *rig) lastPath() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.after[len(r.after)-1]
}

func newRig(t *testing.T, withSim bool, tune func(*Config)) *rig {
	t.Helper()
	r := &rig{reg: prometheus.NewRegistry(), done: make(chan struct{})}
	cfg := Config{Secret: testSecrets, Page: PageConfig{Demo: withSim, Account: testAccount}, Metrics: NewMetrics(r.reg)}
	if withSim {
		r.sim = simulator.New(simulator.Config{AutoAgent: true})
		t.Cleanup(func() { _ = r.sim.Close() })
		cfg.Agent = r.sim.Handler
	}
	if tune != nil {
		tune(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.c = c
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	// As the proxy's metrics middleware, note the path once the console is
	// done with the request.
	handler := func(ctx *fasthttp.RequestCtx) {
		c.Handler(ctx)
		r.mu.Lock()
		r.after = append(r.after, string(ctx.Path()))
		r.mu.Unlock()
	}
	r.srv = &fasthttp.Server{Handler: handler, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second}
	go func() {
		defer close(r.done)
		_ = r.srv.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := r.srv.ShutdownWithContext(ctx); err != nil {
			t.Errorf("server shutdown: %v", err)
		}
		<-r.done
	})
	return r
}

// do sends one request and returns the response (released by the caller's
// test end).
func (r *rig) do(t *testing.T, method, path string, body []byte, headers ...string) *fasthttp.Response {
	t.Helper()
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	req.SetRequestURI("http://" + r.addr + path)
	req.Header.SetMethod(method)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if body != nil {
		req.SetBody(body)
	}
	resp := &fasthttp.Response{}
	if err := fasthttp.DoTimeout(req, resp, 5*time.Second); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

// hook POSTs a notification signed with secret.
func (r *rig) hook(t *testing.T, key, body, secret string) *fasthttp.Response {
	t.Helper()
	return r.do(t, "POST", HookPath(key), []byte(body),
		"Content-Type", "application/json",
		auth.SignatureHeader, auth.SignWebhook(secret, []byte(body)),
		headerAccount, testAccount, headerClientID, testClientID)
}

// stream is a page's notification stream, read raw.
type stream struct {
	t    *testing.T
	conn net.Conn
	rd   *bufio.Reader
	head string
}

// sseEvent is one event of a stream.
type sseEvent struct {
	id, event, data string
	comment         bool
}

// openStream connects to /demo/notifications and reads the response head
// (and the ready event when the status is 200).
func (r *rig) openStream(t *testing.T, headers ...string) *stream {
	t.Helper()
	conn, err := net.DialTimeout("tcp", r.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	var b strings.Builder
	fmt.Fprintf(&b, "GET %snotifications HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n", Prefix, r.addr)
	for i := 0; i+1 < len(headers); i += 2 {
		fmt.Fprintf(&b, "%s: %s\r\n", headers[i], headers[i+1])
	}
	b.WriteString("\r\n")
	if _, err := conn.Write([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
	s := &stream{t: t, conn: conn, rd: bufio.NewReader(conn)}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		line, err := s.rd.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the stream's head: %v (so far %q)", err, s.head)
		}
		s.head += line
		if line == "\r\n" {
			break
		}
	}
	if strings.HasPrefix(s.head, "HTTP/1.1 200") {
		if ev := s.next(); ev.event != "ready" {
			t.Fatalf("first event %+v, want ready", ev)
		}
	}
	return s
}

// next reads one event or comment, failing after 5 s.
func (s *stream) next() sseEvent {
	s.t.Helper()
	ev, err := s.read()
	if err != nil {
		s.t.Fatalf("reading the stream: %v", err)
	}
	return ev
}

func (s *stream) read() (sseEvent, error) {
	_ = s.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var ev sseEvent
	for {
		line, err := s.rd.ReadString('\n')
		if err != nil {
			return ev, err
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "" && (ev.event != "" || ev.data != "" || ev.comment):
			return ev, nil
		case line == "":
		case strings.HasPrefix(line, ":"):
			ev.comment = true
		case strings.HasPrefix(line, "id: "):
			ev.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			ev.event = line[7:]
		case strings.HasPrefix(line, "data: "):
			ev.data = line[6:]
		case strings.HasPrefix(line, "retry: "):
		default:
			return ev, fmt.Errorf("unexpected stream line %q", line)
		}
	}
}

// waitFor polls cond for up to 5 s (for states with no event to wait on,
// such as a server noticing that a client went away).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// subscribers is the number of pages the hub holds.
func (c *Console) subscribers() int {
	c.hub.mu.Lock()
	defer c.hub.mu.Unlock()
	return len(c.hub.subs)
}
