// Package siotest is a minimal Socket.IO v5 client over Engine.IO v4's
// WebSocket transport, for Go tests that drive a server from Go: CONNECT
// with an auth payload, events, acks both ways' answers, pongs. The
// protocol's conformance is tested with the real socket.io-client from npm
// (test/socketio); this client only has to be right about what it uses.
package siotest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Event is an EVENT the server sent.
type Event struct {
	Name string
	Args []json.RawMessage
	// At is when the client read it, for latency measurements.
	At time.Time
}

// Arg is the event's first argument, nil when it has none.
func (e Event) Arg() json.RawMessage {
	if len(e.Args) == 0 {
		return nil
	}
	return e.Args[0]
}

// Client is one Socket.IO connection on the default namespace.
type Client struct {
	ws     *websocket.Conn
	wmu    sync.Mutex
	events chan Event
	mu     sync.Mutex
	nextID int
	acks   map[int]chan []json.RawMessage
	done   chan struct{}
}

// ErrClosed is returned once the server closed the connection.
var ErrClosed = errors.New("siotest: connection closed")

// Dial connects to base (http://host:port) and sends CONNECT with auth (nil
// for none); an error is the server's CONNECT_ERROR or a dial failure.
func Dial(base string, auth any) (*Client, error) { return DialHeader(base, auth, nil) }

// DialHeader is Dial with headers on the handshake request (a traceparent,
// as a browser's extraHeaders would send).
func DialHeader(base string, auth any, h http.Header) (*Client, error) {
	u := "ws" + strings.TrimPrefix(base, "http") + "/socket.io/?EIO=4&transport=websocket"
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	ws, _, err := d.Dial(u, h)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", u, err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, open, err := ws.ReadMessage(); err != nil || len(open) == 0 || open[0] != '0' {
		ws.Close()
		return nil, fmt.Errorf("open packet %q: %v", open, err)
	}
	connect := "40"
	if auth != nil {
		b, err := json.Marshal(auth)
		if err != nil {
			ws.Close()
			return nil, err
		}
		connect += string(b)
	}
	if err := ws.WriteMessage(websocket.TextMessage, []byte(connect)); err != nil {
		ws.Close()
		return nil, err
	}
	for {
		_, p, err := ws.ReadMessage()
		if err != nil {
			ws.Close()
			return nil, fmt.Errorf("CONNECT answer: %w", err)
		}
		s := string(p)
		switch {
		case s == "2":
			_ = ws.WriteMessage(websocket.TextMessage, []byte("3"))
			continue
		case strings.HasPrefix(s, "44"):
			ws.Close()
			return nil, fmt.Errorf("connect refused: %s", s[2:])
		case !strings.HasPrefix(s, "40"):
			continue
		}
		break
	}
	_ = ws.SetReadDeadline(time.Time{})
	c := &Client{ws: ws, events: make(chan Event, 256), acks: map[int]chan []json.RawMessage{}, done: make(chan struct{})}
	go c.read()
	return c, nil
}

func (c *Client) read() {
	defer close(c.done)
	for {
		_, p, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		s := string(p)
		switch {
		case s == "2":
			_ = c.Write("3")
		case strings.HasPrefix(s, "42"):
			var arr []json.RawMessage
			if json.Unmarshal([]byte(s[2:]), &arr) != nil || len(arr) == 0 {
				continue
			}
			var name string
			_ = json.Unmarshal(arr[0], &name)
			select {
			case c.events <- Event{Name: name, Args: arr[1:], At: time.Now()}:
			default: // a test that reads nothing must not block the reader
			}
		case strings.HasPrefix(s, "43"):
			rest := s[2:]
			i := strings.IndexByte(rest, '[')
			if i < 0 {
				continue
			}
			id, err := strconv.Atoi(rest[:i])
			if err != nil {
				continue
			}
			var arr []json.RawMessage
			_ = json.Unmarshal([]byte(rest[i:]), &arr)
			c.mu.Lock()
			ch := c.acks[id]
			delete(c.acks, id)
			c.mu.Unlock()
			if ch != nil {
				ch <- arr
			}
		case strings.HasPrefix(s, "41"), s == "1":
			return
		}
	}
}

// Write sends one raw Engine.IO packet ("42[…]", "41", or something
// malformed on purpose).
func (c *Client) Write(packet string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.ws.WriteMessage(websocket.TextMessage, []byte(packet))
}

// EmitRaw sends an event whose arguments are already JSON, asking for an
// ack when ackID ≥ 0.
func (c *Client) EmitRaw(ackID int, name string, args ...string) error {
	n, _ := json.Marshal(name)
	id := ""
	if ackID >= 0 {
		id = strconv.Itoa(ackID)
	}
	return c.Write("42" + id + "[" + strings.Join(append([]string{string(n)}, args...), ",") + "]")
}

// Emit sends an event with one argument and no ack.
func (c *Client) Emit(name string, payload any) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	return c.EmitRaw(-1, name, string(b))
}

// Call emits an event with one argument and waits (10 s at most) for the
// server's ack, returning its arguments.
func (c *Client) Call(name string, payload any) ([]json.RawMessage, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	id := c.nextID
	c.nextID++
	ch := make(chan []json.RawMessage, 1)
	c.acks[id] = ch
	c.mu.Unlock()
	if err := c.EmitRaw(id, name, string(b)); err != nil {
		return nil, err
	}
	select {
	case args := <-ch:
		return args, nil
	case <-c.done:
		return nil, ErrClosed
	case <-time.After(10 * time.Second):
		return nil, fmt.Errorf("siotest: no ack for %s within 10s", name)
	}
}

// WaitFor returns the next event called name whose first argument matches
// (nil: any), skipping others; the test fails after timeout or when the
// connection closes.
func (c *Client) WaitFor(t testing.TB, name string, match func(json.RawMessage) bool, timeout time.Duration) Event {
	t.Helper()
	deadline := time.After(timeout)
	var skipped []string
	for {
		select {
		case ev := <-c.events:
			if ev.Name == name && (match == nil || match(ev.Arg())) {
				return ev
			}
			skipped = append(skipped, ev.Name)
		case <-deadline:
			t.Fatalf("siotest: no %s event within %s (saw %v)", name, timeout, skipped)
		case <-c.done:
			t.Fatalf("siotest: connection closed while waiting for %s (saw %v)", name, skipped)
		}
	}
}

// Events delivers the server's events in order, for tests that wait
// without failing (WaitFor reads from it too).
func (c *Client) Events() <-chan Event { return c.events }

// Done is closed when the connection has ended.
func (c *Client) Done() <-chan struct{} { return c.done }

// Close sends DISCONNECT, closes the WebSocket and waits for the reader.
func (c *Client) Close() {
	_ = c.Write("41")
	_ = c.ws.Close()
	<-c.done
}
