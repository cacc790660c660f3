package socketio

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

var httpClient = &http.Client{Timeout: 5 * time.Second}

type handshake struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int      `json:"pingInterval"`
	PingTimeout  int      `json:"pingTimeout"`
	MaxPayload   int      `json:"maxPayload"`
}

func do(t testing.TB, method, url, body string, hdr ...string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

func pollURL(base, sid string) string {
	u := base + "/socket.io/?EIO=4&transport=polling&t=x"
	if sid != "" {
		u += "&sid=" + sid
	}
	return u
}

func openPolling(t testing.TB, base string) handshake {
	t.Helper()
	code, body, _ := do(t, "GET", pollURL(base, ""), "")
	if code != 200 || !strings.HasPrefix(body, "0{") {
		t.Fatalf("handshake: %d %q", code, body)
	}
	var h handshake
	if err := json.Unmarshal([]byte(body[1:]), &h); err != nil {
		t.Fatal(err)
	}
	return h
}

// connectPolling opens a polling session and connects the socket.
func connectPolling(t testing.TB, base string) string {
	t.Helper()
	h := openPolling(t, base)
	if code, body, _ := do(t, "POST", pollURL(base, h.SID), "40"); code != 200 || body != "ok" {
		t.Fatalf("POST 40: %d %q", code, body)
	}
	if code, body, _ := do(t, "GET", pollURL(base, h.SID), ""); code != 200 || !strings.HasPrefix(body, `40{"sid":"`) {
		t.Fatalf("GET after 40: %d %q", code, body)
	}
	return h.SID
}

func wsURL(base, sid string) string {
	u := "ws" + strings.TrimPrefix(base, "http") + "/socket.io/?EIO=4&transport=websocket"
	if sid != "" {
		u += "&sid=" + sid
	}
	return u
}

func dialWS(t testing.TB, base, sid string) *websocket.Conn {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(wsURL(base, sid), nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial: %v (status %d)", err, status)
	}
	t.Cleanup(func() { _ = ws.Close() })
	return ws
}

func read(t testing.TB, ws *websocket.Conn) string {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, b, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(b)
}

// readSkippingPings reads the next frame that is not a ping.
func readSkippingPings(t testing.TB, ws *websocket.Conn) string {
	t.Helper()
	for {
		if m := read(t, ws); m != "2" {
			return m
		}
	}
}

func write(t testing.TB, ws *websocket.Conn, s string) {
	t.Helper()
	if err := ws.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		t.Fatalf("write %q: %v", s, err)
	}
}

// connectWS opens a WebSocket session and connects the socket.
func connectWS(t testing.TB, base string) *websocket.Conn {
	t.Helper()
	ws := dialWS(t, base, "")
	if m := read(t, ws); !strings.HasPrefix(m, `0{"sid":"`) {
		t.Fatalf("open packet: %q", m)
	}
	write(t, ws, "40")
	if m := readSkippingPings(t, ws); !strings.HasPrefix(m, `40{"sid":"`) {
		t.Fatalf("CONNECT reply: %q", m)
	}
	return ws
}

// expectClosed reads until the server closes the WebSocket.
func expectClosed(t testing.TB, ws *websocket.Conn) {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
				t.Fatal("the server did not close the connection")
			}
			return
		}
	}
}

func TestHandshakeHasExactlyTheFiveKeys(t *testing.T) {
	checkGoroutines(t)
	_, base := newTestServer(t, Options{PingInterval: time.Second, PingTimeout: 500 * time.Millisecond, MaxPayload: 1234})
	code, body, hdr := do(t, "GET", pollURL(base, ""), "")
	if code != 200 || hdr.Get("Content-Type") != "text/plain; charset=UTF-8" {
		t.Fatalf("polling handshake: %d %q", code, hdr.Get("Content-Type"))
	}
	ws := dialWS(t, base, "")
	tests := []struct {
		name     string
		body     string
		upgrades []string
	}{
		{"polling advertises the websocket upgrade", body, []string{"websocket"}},
		{"websocket advertises none", read(t, ws), []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var keys map[string]json.RawMessage
			if err := json.Unmarshal([]byte(tt.body[1:]), &keys); err != nil || tt.body[0] != '0' {
				t.Fatalf("open packet %q: %v", tt.body, err)
			}
			if len(keys) != 5 {
				t.Fatalf("keys = %v, want exactly sid, upgrades, pingInterval, pingTimeout, maxPayload", keys)
			}
			var h handshake
			_ = json.Unmarshal([]byte(tt.body[1:]), &h)
			if len(h.SID) < 16 || h.PingInterval != 1000 || h.PingTimeout != 500 || h.MaxPayload != 1234 {
				t.Fatalf("handshake = %+v", h)
			}
			if strings.Join(h.Upgrades, ",") != strings.Join(tt.upgrades, ",") || h.Upgrades == nil {
				t.Fatalf("upgrades = %#v, want %#v", h.Upgrades, tt.upgrades)
			}
		})
	}
}

func TestBadRequestsGetTheEngineIOError(t *testing.T) {
	checkGoroutines(t)
	_, base := newTestServer(t, Options{})
	sid := openPolling(t, base).SID
	tests := []struct {
		name, method, url, body string
		status                  int
		wantBody                string
	}{
		{"EIO 3", "GET", base + "/socket.io/?EIO=3&transport=polling", "", 400, `{"code":5,"message":"Unsupported protocol version"}`},
		{"no EIO", "GET", base + "/socket.io/?transport=polling", "", 400, `{"code":5,"message":"Unsupported protocol version"}`},
		{"unknown transport", "GET", base + "/socket.io/?EIO=4&transport=flash", "", 400, `{"code":0,"message":"Transport unknown"}`},
		{"unknown sid GET", "GET", pollURL(base, "nope"), "", 400, `{"code":1,"message":"Session ID unknown"}`},
		{"unknown sid POST", "POST", pollURL(base, "nope"), "40", 400, `{"code":1,"message":"Session ID unknown"}`},
		{"POST handshake", "POST", pollURL(base, ""), "40", 400, `{"code":2,"message":"Bad handshake method"}`},
		{"websocket without upgrade headers", "GET", base + "/socket.io/?EIO=4&transport=websocket&sid=" + sid, "", 400, `{"code":3,"message":"Bad request"}`},
		{"PUT", "PUT", pollURL(base, sid), "", 400, `{"code":3,"message":"Bad request"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body, hdr := do(t, tt.method, tt.url, tt.body)
			if code != tt.status || body != tt.wantBody || hdr.Get("Content-Type") != "application/json" {
				t.Fatalf("got %d %q (%s), want %d %q", code, body, hdr.Get("Content-Type"), tt.status, tt.wantBody)
			}
		})
	}
}

func TestPollingConnectEventAndAck(t *testing.T) {
	checkGoroutines(t)
	s, base := newTestServer(t, Options{})
	sid := connectPolling(t, base)
	if s.Len() != 1 {
		t.Fatalf("Len = %d, want 1", s.Len())
	}
	// Two packets in one payload: an event with an ack id and an ack-less one.
	if code, body, _ := do(t, "POST", pollURL(base, sid), "4215[\"echo\",\"x\",2]\x1e42[\"echo\",\"ignored\"]"); code != 200 || body != "ok" {
		t.Fatalf("POST: %d %q", code, body)
	}
	if code, body, _ := do(t, "GET", pollURL(base, sid), ""); code != 200 || body != `4315["x",2]` {
		t.Fatalf("GET: %d %q, want the ack", code, body)
	}
}

func TestPollingFlushesBufferedPacketsInOneGET(t *testing.T) {
	checkGoroutines(t)
	s, base := newTestServer(t, Options{})
	var conn *Conn
	var mu sync.Mutex
	s.OnConnect(func(_ context.Context, c *Conn) { mu.Lock(); conn = c; mu.Unlock() })
	sid := connectPolling(t, base)
	mu.Lock()
	c := conn
	mu.Unlock()
	for i := range 3 {
		if err := c.Emit("n", i); err != nil {
			t.Fatal(err)
		}
	}
	_, body, _ := do(t, "GET", pollURL(base, sid), "")
	if want := "42[\"n\",0]\x1e42[\"n\",1]\x1e42[\"n\",2]"; body != want {
		t.Fatalf("GET = %q, want %q", body, want)
	}
}

func TestSecondConcurrentGETClosesTheSession(t *testing.T) {
	checkGoroutines(t)
	s, base := newTestServer(t, Options{})
	sid := connectPolling(t, base)
	first := make(chan string, 1)
	go func() {
		_, body, _ := do(t, "GET", pollURL(base, sid), "")
		first <- body
	}()
	waitFor(t, "the first GET to be pending", func() bool {
		c := s.lookup([]byte(sid))
		if c == nil {
			return false
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.pollWaiting
	})
	if code, body, _ := do(t, "GET", pollURL(base, sid), ""); code != 400 || !strings.Contains(body, `"code":3`) {
		t.Fatalf("second GET: %d %q", code, body)
	}
	select {
	case body := <-first:
		if body != "1" {
			t.Fatalf("first GET = %q, want the close packet", body)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the first GET was not released")
	}
	if code, _, _ := do(t, "GET", pollURL(base, sid), ""); code != 400 {
		t.Fatalf("GET after close: %d, want 400", code)
	}
	waitFor(t, "Len 0", func() bool { return s.Len() == 0 })
}

func TestPollingPayloadOverMaxPayloadIs413AndCloses(t *testing.T) {
	checkGoroutines(t)
	s, base := newTestServer(t, Options{MaxPayload: 100})
	sid := connectPolling(t, base)
	code, _, _ := do(t, "POST", pollURL(base, sid), `42["echo","`+strings.Repeat("x", 100)+`"]`)
	if code != 413 {
		t.Fatalf("POST over maxPayload: %d, want 413", code)
	}
	if code, _, _ := do(t, "GET", pollURL(base, sid), ""); code != 400 {
		t.Fatalf("GET after 413: %d, want 400 (session closed)", code)
	}
	waitFor(t, "Len 0", func() bool { return s.Len() == 0 })
}

func TestWebSocketFrameOverMaxPayloadCloses(t *testing.T) {
	checkGoroutines(t)
	_, base := newTestServer(t, Options{MaxPayload: 100})
	ws := connectWS(t, base)
	write(t, ws, `42["echo","`+strings.Repeat("x", 100)+`"]`)
	expectClosed(t, ws)
}

func TestPingTimeoutCloses(t *testing.T) {
	checkGoroutines(t)
	opts := Options{PingInterval: 40 * time.Millisecond, PingTimeout: 40 * time.Millisecond}
	t.Run("websocket client that never pongs", func(t *testing.T) {
		s, base := newTestServer(t, opts)
		ws := connectWS(t, base)
		expectClosed(t, ws)
		waitFor(t, "Len 0", func() bool { return s.Len() == 0 })
	})
	t.Run("polling client that never polls", func(t *testing.T) {
		s, base := newTestServer(t, opts)
		sid := connectPolling(t, base)
		waitFor(t, "the session to close", func() bool { return s.lookup([]byte(sid)) == nil })
	})
	t.Run("websocket client that pongs stays", func(t *testing.T) {
		s, base := newTestServer(t, opts)
		ws := connectWS(t, base)
		for range 5 { // five ping cycles, several times the timeout
			if m := read(t, ws); m != "2" {
				t.Fatalf("got %q, want ping", m)
			}
			write(t, ws, "3")
		}
		if s.Len() != 1 {
			t.Fatalf("Len = %d, want 1", s.Len())
		}
	})
}

func TestUpgradeFromPollingLosesNoPacket(t *testing.T) {
	checkGoroutines(t)
	s, base := newTestServer(t, Options{})
	conns := make(chan *Conn, 1)
	s.OnConnect(func(_ context.Context, c *Conn) { conns <- c })
	sid := connectPolling(t, base)
	c := <-conns
	pending := make(chan string, 1)
	go func() {
		_, body, _ := do(t, "GET", pollURL(base, sid), "")
		pending <- body
	}()
	waitFor(t, "a pending GET", func() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.pollWaiting })

	ws := dialWS(t, base, sid)
	write(t, ws, "2probe")
	if m := read(t, ws); m != "3probe" {
		t.Fatalf("probe answer %q", m)
	}
	if body := <-pending; body != "6" {
		t.Fatalf("pending GET released with %q, want noop", body)
	}
	// Emitted between probe and upgrade: must arrive on the WebSocket.
	if err := c.Emit("between", 1); err != nil {
		t.Fatal(err)
	}
	write(t, ws, "5")
	if m := readSkippingPings(t, ws); m != `42["between",1]` {
		t.Fatalf("after upgrade got %q", m)
	}
	if c.Transport() != "websocket" {
		t.Fatalf("Transport = %q", c.Transport())
	}
	write(t, ws, `421["echo","ws"]`)
	if m := readSkippingPings(t, ws); m != `431["ws"]` {
		t.Fatalf("ack over websocket %q", m)
	}
	if code, _, _ := do(t, "GET", pollURL(base, sid), ""); code != 400 {
		t.Fatalf("polling after upgrade: %d, want 400", code)
	}
	if _, resp, err := websocket.DefaultDialer.Dial(wsURL(base, sid), nil); err == nil || resp == nil || resp.StatusCode != 400 {
		t.Fatalf("second websocket for the sid: err %v", err)
	}
}

func TestFailedProbeKeepsPolling(t *testing.T) {
	checkGoroutines(t)
	_, base := newTestServer(t, Options{})
	sid := connectPolling(t, base)
	ws := dialWS(t, base, sid)
	write(t, ws, "4garbage")
	expectClosed(t, ws)
	if code, body, _ := do(t, "POST", pollURL(base, sid), `421["echo","still"]`); code != 200 {
		t.Fatalf("POST after failed probe: %d %q", code, body)
	}
	if _, body, _ := do(t, "GET", pollURL(base, sid), ""); body != `431["still"]` {
		t.Fatalf("GET after failed probe: %q", body)
	}
}

func TestMalformedPacketsCloseCleanly(t *testing.T) {
	checkGoroutines(t)
	s, base := newTestServer(t, Options{})
	tests := []struct {
		name, packet string
		connect      bool
	}{
		{"not JSON", "4abc", true},
		{"event object", "42{}", true},
		{"event bad", `42abc["a"]`, true},
		{"unknown Engine.IO type", "9", true},
		{"open packet from client", "0", true},
		{"upgrade without probe", "5", true},
		{"reserved event", `42["disconnect"]`, true},
		{"event before CONNECT", `42["echo"]`, false},
		{"CONNECT_ERROR from client", `44{"message":"x"}`, true},
		{"empty frame", "", true},
	}
	for _, tt := range tests {
		t.Run("websocket "+tt.name, func(t *testing.T) {
			var ws *websocket.Conn
			if tt.connect {
				ws = connectWS(t, base)
			} else {
				ws = dialWS(t, base, "")
				read(t, ws)
			}
			write(t, ws, tt.packet)
			expectClosed(t, ws)
		})
		t.Run("polling "+tt.name, func(t *testing.T) {
			if tt.packet == "" {
				return // an empty body is its own case below
			}
			var sid string
			if tt.connect {
				sid = connectPolling(t, base)
			} else {
				sid = openPolling(t, base).SID
			}
			do(t, "POST", pollURL(base, sid), tt.packet)
			if code, _, _ := do(t, "GET", pollURL(base, sid), ""); code != 400 {
				t.Fatalf("GET after %q: %d, want 400 (closed)", tt.packet, code)
			}
		})
	}
	t.Run("polling empty body", func(t *testing.T) {
		sid := connectPolling(t, base)
		if code, _, _ := do(t, "POST", pollURL(base, sid), ""); code != 400 {
			t.Fatalf("empty POST: %d", code)
		}
	})
	waitFor(t, "Len 0", func() bool { return s.Len() == 0 })
}

func TestInvalidNamespaceIsRefusedAndTheSessionStays(t *testing.T) {
	checkGoroutines(t)
	_, base := newTestServer(t, Options{})
	ws := dialWS(t, base, "")
	read(t, ws)
	write(t, ws, "40/admin,")
	if m := readSkippingPings(t, ws); m != `44/admin,{"message":"Invalid namespace"}` {
		t.Fatalf("got %q", m)
	}
	write(t, ws, "40")
	if m := readSkippingPings(t, ws); !strings.HasPrefix(m, `40{"sid":"`) {
		t.Fatalf("CONNECT to / after refusal: %q", m)
	}
}

func TestAuthenticateErrorIsConnectError(t *testing.T) {
	checkGoroutines(t)
	s, base := newTestServer(t, Options{})
	ws := dialWS(t, base, "")
	read(t, ws)
	write(t, ws, `40{"token":"bad"}`)
	if m := readSkippingPings(t, ws); m != `44{"message":"Not authorized"}` {
		t.Fatalf("got %q", m)
	}
	if s.Len() != 0 {
		t.Fatalf("Len = %d", s.Len())
	}
}

func TestBinaryIsRefusedWithAnErrorThenDisconnect(t *testing.T) {
	checkGoroutines(t)
	_, base := newTestServer(t, Options{})
	for _, tt := range []struct {
		name string
		send func(ws *websocket.Conn) error
	}{
		{"binary frame", func(ws *websocket.Conn) error { return ws.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3}) }},
		{"binary event", func(ws *websocket.Conn) error {
			return ws.WriteMessage(websocket.TextMessage, []byte(`451-["up",{"_placeholder":true,"num":0}]`))
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ws := connectWS(t, base)
			if err := tt.send(ws); err != nil {
				t.Fatal(err)
			}
			if m := readSkippingPings(t, ws); m != `42["error",{"message":"binary packets are not supported"}]` {
				t.Fatalf("got %q", m)
			}
			if m := readSkippingPings(t, ws); m != "41" {
				t.Fatalf("got %q, want DISCONNECT", m)
			}
			expectClosed(t, ws)
		})
	}
}

func TestUnknownEventGetsAnErrorEvent(t *testing.T) {
	checkGoroutines(t)
	_, base := newTestServer(t, Options{})
	ws := connectWS(t, base)
	write(t, ws, `423["nope",1]`)
	if m := readSkippingPings(t, ws); m != `42["error",{"message":"unknown event \"nope\""}]` {
		t.Fatalf("got %q", m)
	}
	write(t, ws, `424["echo","alive"]`)
	if m := readSkippingPings(t, ws); m != `434["alive"]` {
		t.Fatalf("connection not usable after unknown event: %q", m)
	}
}

func TestServerEmitWithAck(t *testing.T) {
	checkGoroutines(t)
	_, base := newTestServer(t, Options{})
	ws := connectWS(t, base)
	write(t, ws, `42["ping-me",{"n":1}]`)
	if m := readSkippingPings(t, ws); m != `420["ask",{"n":1}]` {
		t.Fatalf("got %q", m)
	}
	write(t, ws, `430["pong",2]`)
	if m := readSkippingPings(t, ws); m != `42["answer","pong",2]` {
		t.Fatalf("got %q", m)
	}
}

func TestDisconnectBothWays(t *testing.T) {
	checkGoroutines(t)
	s, base := newTestServer(t, Options{})
	reasons := make(chan string, 4)
	s.OnDisconnect(func(_ *Conn, reason string) { reasons <- reason })
	t.Run("client DISCONNECT", func(t *testing.T) {
		ws := connectWS(t, base)
		write(t, ws, "41")
		expectClosed(t, ws)
		if r := <-reasons; r != "client namespace disconnect" {
			t.Fatalf("reason %q", r)
		}
	})
	t.Run("server Disconnect over websocket", func(t *testing.T) {
		ws := connectWS(t, base)
		write(t, ws, `42["bye"]`)
		if m := readSkippingPings(t, ws); m != "41" {
			t.Fatalf("got %q", m)
		}
		expectClosed(t, ws)
		if r := <-reasons; r != "server namespace disconnect" {
			t.Fatalf("reason %q", r)
		}
	})
	t.Run("server Disconnect over polling", func(t *testing.T) {
		sid := connectPolling(t, base)
		do(t, "POST", pollURL(base, sid), `42["bye"]`)
		// Two payloads: the stock client would handle a DISCONNECT
		// sharing a payload with the close only after the close.
		if _, body, _ := do(t, "GET", pollURL(base, sid), ""); body != "41" {
			t.Fatalf("GET = %q, want DISCONNECT alone", body)
		}
		if _, body, _ := do(t, "GET", pollURL(base, sid), ""); body != "1" {
			t.Fatalf("second GET = %q, want close", body)
		}
		if r := <-reasons; r != "server namespace disconnect" {
			t.Fatalf("reason %q", r)
		}
		if code, _, _ := do(t, "GET", pollURL(base, sid), ""); code != 400 {
			t.Fatalf("GET after close: %d", code)
		}
	})
}

func TestSlowClientIsDisconnectedWhenTheQueueFills(t *testing.T) {
	checkGoroutines(t)
	s, base := newTestServer(t, Options{WriteQueue: 4})
	conns := make(chan *Conn, 1)
	s.OnConnect(func(_ context.Context, c *Conn) { conns <- c })
	connectPolling(t, base) // and never GET again
	c := <-conns
	var err error
	n := 0
	for ; n < 10 && err == nil; n++ {
		err = c.Emit("x", n)
	}
	if err != ErrQueueFull || n != 5 {
		t.Fatalf("after %d emits err = %v, want ErrQueueFull on the 5th", n, err)
	}
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed")
	}
	if err := c.Emit("x"); err != ErrClosed {
		t.Fatalf("Emit after close: %v", err)
	}
}

func TestSlowHandlerKeepsReadsAndOrder(t *testing.T) {
	checkGoroutines(t)
	s, base := newTestServer(t, Options{PingInterval: 30 * time.Millisecond, PingTimeout: 30 * time.Millisecond})
	release := make(chan struct{})
	s.On("slow", func(_ context.Context, _ *Conn, _ []json.RawMessage, ack Ack) {
		<-release
		_ = ack("slow done")
	})
	ws := connectWS(t, base)
	write(t, ws, `421["slow"]`)
	write(t, ws, `422["echo","after"]`)
	// The handler blocks for many ping cycles: pongs are still read.
	for range 6 {
		if m := read(t, ws); m != "2" {
			t.Fatalf("got %q while the handler blocks, want only pings", m)
		}
		write(t, ws, "3")
	}
	close(release)
	if m := readSkippingPings(t, ws); m != `431["slow done"]` {
		t.Fatalf("first reply %q", m)
	}
	if m := readSkippingPings(t, ws); m != `432["after"]` {
		t.Fatalf("second reply %q", m)
	}
}

func TestEventQueueFullDisconnects(t *testing.T) {
	checkGoroutines(t)
	s, base := newTestServer(t, Options{EventQueue: 2})
	release := make(chan struct{})
	s.On("slow", func(context.Context, *Conn, []json.RawMessage, Ack) { <-release })
	ws := connectWS(t, base)
	for range 4 {
		write(t, ws, `42["slow"]`)
	}
	expectClosed(t, ws)
	close(release)
}

func TestAckFloodCannotGrowTheQueue(t *testing.T) {
	checkGoroutines(t)
	s, base := newTestServer(t, Options{EventQueue: 2})
	releases := make(chan chan struct{}, 2)
	s.On("slow", func(context.Context, *Conn, []json.RawMessage, Ack) { <-<-releases })
	s.On("ask-many", func(_ context.Context, c *Conn, _ []json.RawMessage, _ Ack) {
		for range 5 {
			_ = c.EmitWithAck("q", func([]json.RawMessage) {})
		}
	})
	reasons := make(chan string, 2)
	s.OnDisconnect(func(_ *Conn, r string) { reasons <- r })
	conns := make(chan *Conn, 2)
	s.OnConnect(func(_ context.Context, c *Conn) { conns <- c })
	queued := func(c *Conn) int {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.work)
	}

	// Acks nobody waits for are dropped as they arrive.
	ws := connectWS(t, base)
	c := <-conns
	done := make(chan struct{})
	var once1 sync.Once
	release1 := func() { once1.Do(func() { close(done) }) }
	t.Cleanup(release1)
	releases <- done
	write(t, ws, `42["slow"]`)
	for i := range 500 {
		write(t, ws, "43"+strconv.Itoa(1000+i)+"[]")
	}
	write(t, ws, `421["echo","still here"]`)
	waitFor(t, "the echo queued behind the slow handler", func() bool { return queued(c) == 1 })
	release1()
	if m := readSkippingPings(t, ws); m != `431["still here"]` {
		t.Fatalf("after the flood of unknown acks: %q", m)
	}

	// Acks the server waits for count against the bound.
	ws = connectWS(t, base)
	write(t, ws, `42["ask-many"]`)
	for i := range 5 {
		if m := readSkippingPings(t, ws); m != "42"+strconv.Itoa(i)+`["q"]` {
			t.Fatalf("ask %d: %q", i, m)
		}
	}
	done = make(chan struct{})
	var once sync.Once
	release := func() { once.Do(func() { close(done) }) }
	t.Cleanup(release) // before the server's Close, which waits for the handler
	releases <- done
	write(t, ws, `42["slow"]`)
	for i := range 5 {
		// The server may close before the last ones: errors are expected.
		_ = ws.WriteMessage(websocket.TextMessage, []byte("43"+strconv.Itoa(i)+"[]"))
	}
	expectClosed(t, ws)
	release() // OnDisconnect runs after the handler it waited behind
	if r := <-reasons; r != "event queue full" {
		t.Fatalf("reason %q, want event queue full", r)
	}
}

func TestCORS(t *testing.T) {
	checkGoroutines(t)
	// The second entry is written with a trailing slash, as operators copy
	// URLs; browsers send origins without one.
	_, base := newTestServer(t, Options{AllowedOrigins: []string{"https://shop.example", "https://help.example/"}})
	tests := []struct {
		name, method, origin string
		status               int
		allowOrigin          string
	}{
		{"allowed origin", "GET", "https://shop.example", 200, "https://shop.example"},
		{"preflight", "OPTIONS", "https://shop.example", 204, "https://shop.example"},
		{"allowed origin configured with a trailing slash", "GET", "https://help.example", 200, "https://help.example"},
		{"other origin", "GET", "https://evil.example", 403, ""},
		{"no origin", "GET", "", 200, ""},
		{"same origin", "GET", base, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hdr []string
			if tt.origin != "" {
				hdr = []string{"Origin", tt.origin, "Access-Control-Request-Headers", "content-type"}
			}
			code, _, h := do(t, tt.method, pollURL(base, ""), "", hdr...)
			if code != tt.status || h.Get("Access-Control-Allow-Origin") != tt.allowOrigin {
				t.Fatalf("got %d ACAO %q", code, h.Get("Access-Control-Allow-Origin"))
			}
			if tt.allowOrigin != "" && h.Get("Access-Control-Allow-Credentials") != "true" {
				t.Fatal("no Access-Control-Allow-Credentials")
			}
		})
	}
	t.Run("websocket from other origin", func(t *testing.T) {
		_, resp, err := websocket.DefaultDialer.Dial(wsURL(base, ""), http.Header{"Origin": {"https://evil.example"}})
		if err == nil || resp == nil || resp.StatusCode != 403 {
			t.Fatalf("err %v", err)
		}
	})
}

func TestMetrics(t *testing.T) {
	checkGoroutines(t)
	reg := prometheus.NewRegistry()
	s, base := newTestServer(t, Options{Metrics: NewMetrics(reg)})
	ws := connectWS(t, base)
	sid := connectPolling(t, base)
	write(t, ws, `421["echo",1]`)
	readSkippingPings(t, ws)
	write(t, ws, `42["nope"]`)
	readSkippingPings(t, ws)
	m := s.opts.Metrics
	if got := testutil.ToFloat64(m.connections.WithLabelValues("websocket")); got != 1 {
		t.Fatalf("websocket connections = %v", got)
	}
	if got := testutil.ToFloat64(m.connections.WithLabelValues("polling")); got != 1 {
		t.Fatalf("polling connections = %v", got)
	}
	if got := testutil.ToFloat64(m.events.WithLabelValues("echo", ResultOK)); got != 1 {
		t.Fatalf("echo ok = %v", got)
	}
	if got := testutil.ToFloat64(m.events.WithLabelValues(eventUnknown, ResultUnknown)); got != 1 {
		t.Fatalf("unknown = %v", got)
	}
	do(t, "POST", pollURL(base, sid), "1")
	waitFor(t, "polling gauge 0", func() bool { return testutil.ToFloat64(m.connections.WithLabelValues("polling")) == 0 })
}

func TestCloseDisconnectsAllAndLeavesNoGoroutine(t *testing.T) {
	checkGoroutines(t)
	s := NewServer(Options{Authenticate: testAuthenticate})
	testHandlers(s)
	reasons := make(chan string, 8)
	s.OnDisconnect(func(_ *Conn, r string) { reasons <- r })
	base := startServer(t, s)
	var wss []*websocket.Conn
	for range 3 {
		wss = append(wss, connectWS(t, base))
	}
	sid := connectPolling(t, base)
	pending := make(chan string, 1)
	go func() { _, body, _ := do(t, "GET", pollURL(base, sid), ""); pending <- body }()
	waitFor(t, "4 connected", func() bool { return s.Len() == 4 })
	waitFor(t, "a pending GET", func() bool {
		c := s.lookup([]byte(sid))
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.pollWaiting
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if body := <-pending; body != "1" {
		t.Fatalf("pending GET got %q, want close", body)
	}
	for _, ws := range wss {
		expectClosed(t, ws)
	}
	for range 4 {
		if r := <-reasons; r != "server shutting down" {
			t.Fatalf("reason %q", r)
		}
	}
	if s.Len() != 0 {
		t.Fatalf("Len = %d", s.Len())
	}
	waitFor(t, "no goroutine of the server after Close", func() bool { n, _ := packageGoroutines(); return n == 0 })
	if code, _, _ := do(t, "GET", pollURL(base, ""), ""); code != 503 {
		t.Fatalf("handshake after Close: %d, want 503", code)
	}
}
