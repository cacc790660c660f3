package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// testHandlers are the handlers the Node test and the Go protocol tests
// expect (see test/socketio/protocol.test.mjs).
func testHandlers(s *Server) {
	s.On("echo", func(_ context.Context, _ *Conn, args []json.RawMessage, ack Ack) {
		if ack != nil {
			out := make([]any, len(args))
			for i, a := range args {
				out[i] = a
			}
			_ = ack(out...)
		}
	})
	s.On("whoami", func(_ context.Context, c *Conn, _ []json.RawMessage, ack Ack) {
		if ack != nil {
			_ = ack(c.Data())
		}
	})
	s.On("ping-me", func(_ context.Context, c *Conn, args []json.RawMessage, _ Ack) {
		var arg any
		if len(args) > 0 {
			arg = args[0]
		}
		_ = c.EmitWithAck("ask", func(reply []json.RawMessage) {
			out := make([]any, len(reply))
			for i, a := range reply {
				out[i] = a
			}
			_ = c.Emit("answer", out...)
		}, arg)
	})
	s.On("drop", func(_ context.Context, c *Conn, _ []json.RawMessage, _ Ack) {
		c.terminate("transport close")
	})
	s.On("bye", func(_ context.Context, c *Conn, _ []json.RawMessage, _ Ack) {
		_ = c.Disconnect()
	})
}

func testAuthenticate(_ context.Context, auth json.RawMessage) (any, error) {
	var a map[string]any
	if err := json.Unmarshal(auth, &a); err != nil {
		return nil, err
	}
	if a["token"] == "bad" {
		return nil, errors.New("Not authorized")
	}
	return a, nil
}

// startServer serves s on a real loopback listener and returns its base
// URL; everything is closed at the end of the test.
func startServer(t testing.TB, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &fasthttp.Server{Handler: s.Handler, MaxRequestBodySize: 4 << 20}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = hs.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = hs.Shutdown()
		_ = s.Close()
		wg.Wait()
	})
	return "http://" + ln.Addr().String()
}

// newTestServer builds a server with the test handlers and short timers.
func newTestServer(t testing.TB, opts Options) (*Server, string) {
	t.Helper()
	if opts.Authenticate == nil {
		opts.Authenticate = testAuthenticate
	}
	s := NewServer(opts)
	testHandlers(s)
	return s, startServer(t, s)
}

// waitFor polls cond for up to 5 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkGoroutines fails the test if goroutines of this package are still
// running after its cleanup (goleak-style, with a bounded wait). Only this
// package's goroutines count: fasthttp keeps a few of its own.
func checkGoroutines(t *testing.T) {
	t.Helper()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			n, stacks := packageGoroutines()
			if n == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("%d goroutines of the server left behind:\n%s", n, stacks)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// packageGoroutines counts goroutines running Server or Conn code.
func packageGoroutines() (int, string) {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	var out strings.Builder
	for _, g := range strings.Split(string(buf), "\n\n") {
		frames := g
		if i := strings.Index(g, "\ncreated by "); i >= 0 {
			frames = g[:i] // a goroutine only created by us may be exiting
		}
		if strings.Contains(frames, "socketio.(*Conn)") || strings.Contains(frames, "socketio.(*Server)") {
			n++
			out.WriteString(g + "\n\n")
		}
	}
	return n, out.String()
}

// countingListener wraps each accepted connection in a countedConn, as a
// guarding listener does (the proxy's edge).
type countingListener struct {
	net.Listener
	open atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.open.Add(1)
	return &countedConn{Conn: c, l: l}, nil
}

// countedConn counts itself open until closed, or, once detached, until
// the server releases it.
type countedConn struct {
	net.Conn
	l                *countingListener
	detached, closed atomic.Bool
	releases         atomic.Int32
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	if c.closed.CompareAndSwap(false, true) && !c.detached.Load() {
		c.l.open.Add(-1)
	}
	return err
}

func (c *countedConn) TCPConn() *net.TCPConn { tc, _ := c.Conn.(*net.TCPConn); return tc }

func (c *countedConn) Detach() func() {
	c.detached.Store(true)
	return func() {
		if c.releases.Add(1) == 1 {
			c.l.open.Add(-1)
		}
	}
}

// startServerOn is startServer on a listener of the test's.
func startServerOn(t testing.TB, s *Server, ln net.Listener) string {
	t.Helper()
	hs := &fasthttp.Server{Handler: s.Handler}
	done := make(chan struct{})
	go func() { defer close(done); _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Shutdown(); _ = s.Close(); <-done })
	return "http://" + ln.Addr().String()
}

// bigText is a message larger than a loopback socket takes in one write
// (its send buffer tops out at 4 MiB by default), so that writing it
// meets a full socket.
func bigText() string {
	return strings.Repeat("0123456789abcdef", 8<<20/16)
}

// polledConn returns the session on s (the only one) once it is
// connected, checking that its WebSocket is event-driven.
func polledConn(t *testing.T, conns <-chan *Conn) *Conn {
	t.Helper()
	var c *Conn
	select {
	case c = <-conns:
	case <-time.After(5 * time.Second):
		t.Fatal("no session connected")
	}
	if !readByPoller(c) {
		t.Fatal("the WebSocket is read by a goroutine, not the poller")
	}
	return c
}

// readByPoller reports whether c's WebSocket is event-driven.
func readByPoller(c *Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ws != nil && c.ws.raw != nil
}

// firstDiff is the index of the first byte where a and b differ.
func firstDiff(a, b string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
