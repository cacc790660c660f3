package socketio

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connector-proxy/connector-proxy/internal/testca"
	"github.com/gorilla/websocket"
	"github.com/valyala/fasthttp"
)

// TestWebSocketOverTLS: behind crypto/tls a WebSocket is read by a
// goroutine of its own; the session works the same and closes with the
// server.
func TestWebSocketOverTLS(t *testing.T) {
	checkGoroutines(t)
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, err := ca.Issue(t.TempDir(), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := tls.NewListener(raw, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	s := NewServer(Options{Authenticate: testAuthenticate})
	testHandlers(s)
	hs := &fasthttp.Server{Handler: s.Handler}
	var wg sync.WaitGroup
	wg.Go(func() { _ = hs.Serve(ln) })
	t.Cleanup(func() { _ = hs.Shutdown(); _ = s.Close(); wg.Wait() })

	d := websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: ca.Pool, MinVersion: tls.VersionTLS12}, HandshakeTimeout: 5 * time.Second}
	ws, _, err := d.Dial("wss://"+raw.Addr().String()+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if m := read(t, ws); !strings.HasPrefix(m, `0{"sid":"`) {
		t.Fatalf("open packet: %q", m)
	}
	write(t, ws, "40")
	if m := readSkippingPings(t, ws); !strings.HasPrefix(m, `40{"sid":"`) {
		t.Fatalf("CONNECT reply: %q", m)
	}
	write(t, ws, `421["echo","over tls"]`)
	if m := readSkippingPings(t, ws); m != `431["over tls"]` {
		t.Fatalf("echo: %q", m)
	}
	_ = s.Close()
	expectClosed(t, ws)
}

// TestFramesSentWithTheHandshakeAreRead: a client that writes its first
// frame right behind the upgrade request, before the 101, is not lost (the
// bytes fasthttp read past the request go to the WebSocket).
func TestFramesSentWithTheHandshakeAreRead(t *testing.T) {
	checkGoroutines(t)
	_, base := newTestServer(t, Options{})
	addr := strings.TrimPrefix(base, "http://")
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	req := "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: " + addr +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	key := [4]byte{7, 7, 7, 7}
	first := append([]byte(req), clientFrame(true, opText, []byte("40"), key)...)
	first = append(first, clientFrame(true, opText, []byte(`421["echo","early"]`), key)...)
	if _, err := nc.Write(first); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	readText := func() string {
		var hdr [2]byte
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			t.Fatal(err)
		}
		n := int(hdr[1] & 0x7f)
		if n >= 126 {
			t.Fatalf("unexpected long frame %x", hdr)
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(br, p); err != nil {
			t.Fatal(err)
		}
		return string(p)
	}
	if m := readText(); !strings.HasPrefix(m, `0{"sid":"`) {
		t.Fatalf("open packet: %q", m)
	}
	for _, want := range []string{`40{"sid":"`, `431["early"]`} {
		if m := readText(); !strings.HasPrefix(m, want) {
			t.Fatalf("got %q, want %s…", m, want)
		}
	}
}

func TestAWebSocketOfAWrappedConnectionIsWatchedByThePollerAndReleasedOnClose(t *testing.T) {
	s := NewServer(Options{Authenticate: testAuthenticate})
	testHandlers(s)
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &countingListener{Listener: raw}
	base := startServerOn(t, s, ln)
	ws := connectWS(t, base)
	waitFor(t, "the session", func() bool { return s.Len() == 1 })
	var c *Conn
	s.mu.Lock()
	for _, cc := range s.conns {
		c = cc
	}
	s.mu.Unlock()
	if !readByPoller(c) {
		t.Fatal("the wrapped connection's WebSocket is read by a goroutine, not the poller")
	}
	// fasthttp closed its wrapper; the connection still counts as open.
	if n := ln.open.Load(); n != 1 {
		t.Fatalf("%d connections counted open while the WebSocket lives, want 1", n)
	}
	_ = ws.Close()
	waitFor(t, "the WebSocket's release", func() bool { return ln.open.Load() == 0 })
}

func TestSocketsReadOneAfterAnotherShareOneParkedReader(t *testing.T) {
	checkGoroutines(t)
	s, base := newTestServer(t, Options{Authenticate: testAuthenticate})
	a, b := connectWS(t, base), connectWS(t, base)
	for i, ws := range []*websocket.Conn{a, b, a, b} {
		write(t, ws, fmt.Sprintf(`42%d["echo",%d]`, i, i))
		if m, want := readSkippingPings(t, ws), fmt.Sprintf(`43%d[%d]`, i, i); m != want {
			t.Fatalf("ack %q, want %q", m, want)
		}
		// The reader parks after the ack is written: wait for it before
		// the next socket is made ready.
		waitFor(t, "the reader to park", func() bool { return s.parked.Load() >= 1 })
		if n := s.parked.Load(); n != 1 {
			t.Fatalf("after event %d, %d readers parked; want the one reader, reused", i, n)
		}
	}
}

// TestAWriteThatMeetsAFullSocketArrivesWholeAndLaterWritesStillGo: an
// event-driven socket is offered frames without a deadline; what it does
// not take at once is written under WriteTimeout, and writes once that
// deadline has passed still go out (a write through the connection's
// poller, rather than straight to its descriptor, would meet it).
func TestAWriteThatMeetsAFullSocketArrivesWholeAndLaterWritesStillGo(t *testing.T) {
	checkGoroutines(t)
	const timeout = 2 * time.Second
	s := NewServer(Options{WriteTimeout: timeout})
	conns := make(chan *Conn, 1)
	s.OnConnect(func(_ context.Context, c *Conn) { conns <- c })
	base := startServer(t, s)
	ws := connectWS(t, base)
	c := polledConn(t, conns)

	text := bigText()
	if err := c.Emit("big", text); err != nil {
		t.Fatal(err)
	}
	want := `42["big","` + text + `"]`
	if got := readSkippingPings(t, ws); got != want {
		t.Fatalf("got %d bytes, want the %d of the event (first difference at %d)", len(got), len(want), firstDiff(got, want))
	}
	// The deadline of the write that waited for room was armed before
	// the message arrived: once it has passed, a write must still go.
	time.Sleep(timeout + 100*time.Millisecond)
	if err := c.Emit("small", 1); err != nil {
		t.Fatal(err)
	}
	if got := readSkippingPings(t, ws); got != `42["small",1]` {
		t.Fatalf("after the deadline passed: %.80q", got)
	}
}

// TestAClientThatStopsReadingIsDroppedAfterTheWriteTimeout: a write the
// socket cannot take gives up after WriteTimeout and ends the session.
func TestAClientThatStopsReadingIsDroppedAfterTheWriteTimeout(t *testing.T) {
	checkGoroutines(t)
	s := NewServer(Options{WriteTimeout: 300 * time.Millisecond})
	conns := make(chan *Conn, 1)
	s.OnConnect(func(_ context.Context, c *Conn) { conns <- c })
	base := startServer(t, s)
	ws := connectWS(t, base) // never read again
	defer ws.Close()
	c := polledConn(t, conns)
	text := bigText()
	for range 3 { // more than both sockets' buffers hold
		if err := c.Emit("big", text); err != nil {
			break // the session ended under the emits
		}
	}
	waitFor(t, "the session to end", func() bool { return s.Len() == 0 })
}
