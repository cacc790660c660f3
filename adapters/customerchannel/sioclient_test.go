package customerchannel

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// sioClient is a minimal Socket.IO v5 client over a WebSocket, enough for
// Go tests: CONNECT with auth, events, acks, pong.
type sioClient struct {
	ws     *websocket.Conn
	wmu    sync.Mutex
	events chan sioEvent
	mu     sync.Mutex
	nextID int
	acks   map[int]chan []json.RawMessage
	done   chan struct{}
}

type sioEvent struct {
	Name string
	Args []json.RawMessage
}

// dialSIO connects to base (http://host:port) and sends CONNECT with auth
// (nil for none); an error is the server's CONNECT_ERROR or a dial failure.
func dialSIO(base string, auth any) (*sioClient, error) {
	u := "ws" + strings.TrimPrefix(base, "http") + "/socket.io/?EIO=4&transport=websocket"
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	ws, _, err := d.Dial(u, nil)
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
		b, _ := json.Marshal(auth)
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
		if s == "2" {
			_ = ws.WriteMessage(websocket.TextMessage, []byte("3"))
			continue
		}
		if strings.HasPrefix(s, "44") {
			ws.Close()
			return nil, fmt.Errorf("connect refused: %s", s[2:])
		}
		if strings.HasPrefix(s, "40") {
			break
		}
	}
	_ = ws.SetReadDeadline(time.Time{})
	c := &sioClient{ws: ws, events: make(chan sioEvent, 256), acks: map[int]chan []json.RawMessage{}, done: make(chan struct{})}
	go c.read()
	return c, nil
}

func (c *sioClient) read() {
	defer close(c.done)
	for {
		_, p, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		s := string(p)
		switch {
		case s == "2":
			c.write("3")
		case strings.HasPrefix(s, "42"):
			var arr []json.RawMessage
			if json.Unmarshal([]byte(s[2:]), &arr) != nil || len(arr) == 0 {
				continue
			}
			var name string
			_ = json.Unmarshal(arr[0], &name)
			select {
			case c.events <- sioEvent{Name: name, Args: arr[1:]}:
			default: // a test that does not read does not block the reader
			}
		case strings.HasPrefix(s, "43"):
			i := strings.IndexByte(s, '[')
			id, _ := strconv.Atoi(s[2:i])
			var arr []json.RawMessage
			_ = json.Unmarshal([]byte(s[i:]), &arr)
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

func (c *sioClient) write(s string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.ws.WriteMessage(websocket.TextMessage, []byte(s))
}

// emitRaw sends an event whose arguments are already JSON.
func (c *sioClient) emitRaw(ackID int, name string, args ...string) error {
	n, _ := json.Marshal(name)
	id := ""
	if ackID >= 0 {
		id = strconv.Itoa(ackID)
	}
	return c.write("42" + id + "[" + strings.Join(append([]string{string(n)}, args...), ",") + "]")
}

func (c *sioClient) emit(name string, payload any) error {
	b, _ := json.Marshal(payload)
	return c.emitRaw(-1, name, string(b))
}

// call emits with an ack and returns the server's Ack.
func (c *sioClient) call(name string, payload any) (Ack, error) {
	c.mu.Lock()
	id := c.nextID
	c.nextID++
	ch := make(chan []json.RawMessage, 1)
	c.acks[id] = ch
	c.mu.Unlock()
	b, _ := json.Marshal(payload)
	if err := c.emitRaw(id, name, string(b)); err != nil {
		return Ack{}, err
	}
	select {
	case args := <-ch:
		var a Ack
		if len(args) == 0 {
			return a, errors.New("empty ack")
		}
		err := json.Unmarshal(args[0], &a)
		return a, err
	case <-time.After(10 * time.Second):
		return Ack{}, fmt.Errorf("no ack for %s", name)
	case <-c.done:
		return Ack{}, errors.New("connection closed")
	}
}

// waitFor returns the next event called name, skipping others.
func (c *sioClient) waitFor(t testing.TB, name string, match func(json.RawMessage) bool) json.RawMessage {
	t.Helper()
	timeout := time.After(10 * time.Second)
	var skipped []string
	for {
		select {
		case ev := <-c.events:
			if ev.Name == name && len(ev.Args) > 0 && (match == nil || match(ev.Args[0])) {
				return ev.Args[0]
			}
			skipped = append(skipped, ev.Name)
		case <-timeout:
			t.Fatalf("no %s event within 10s (saw %v)", name, skipped)
		case <-c.done:
			t.Fatalf("connection closed while waiting for %s (saw %v)", name, skipped)
		}
	}
}

func (c *sioClient) close() {
	c.write("41")
	c.ws.Close()
	<-c.done
}

// activity matches a messageArrived ActivityMessage of a type.
func activity(typ string) func(json.RawMessage) bool {
	return func(b json.RawMessage) bool {
		var m ActivityMessage
		return json.Unmarshal(b, &m) == nil && m.Type == TypeActivityMessage && m.ActivityType == typ
	}
}

// chatText matches a messageArrived ChatMessage with a text.
func chatText(text string) func(json.RawMessage) bool {
	return func(b json.RawMessage) bool {
		var m ChatMessage
		return json.Unmarshal(b, &m) == nil && m.Type == TypeChatMessage && m.Text == text
	}
}
