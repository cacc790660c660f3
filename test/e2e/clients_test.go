package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// consumer is a messaging connector's consumer: its two tokens, which any
// replica accepts (they share the signing key).
type consumer struct{ app, jws string }

func (c consumer) headers() map[string]string {
	return map[string]string{"Authorization": c.app, "X-LP-ON-BEHALF": c.jws, "Content-Type": "application/json"}
}

func newConsumer(t *testing.T, base, ext string) consumer {
	t.Helper()
	code, body := do(t, "POST", base+"/sentinel/api/account/"+lpAccount+"/app/token?v=1.0&grant_type=client_credentials",
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "client_id="+appID+"&client_secret="+appSecret)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if code != 200 || json.Unmarshal(body, &tok) != nil || tok.AccessToken == "" {
		t.Fatalf("AppJWT: %d %s", code, body)
	}
	code, body = do(t, "POST", base+"/api/account/"+lpAccount+"/consumer?v=1.0",
		map[string]string{"Authorization": tok.AccessToken, "Content-Type": "application/json"}, `{"ext_consumer_id":"`+ext+`"}`)
	var jws struct {
		Token string `json:"token"`
	}
	if code != 201 || json.Unmarshal(body, &jws) != nil || jws.Token == "" {
		t.Fatalf("ConsumerJWS: %d %s", code, body)
	}
	return consumer{app: tok.AccessToken, jws: jws.Token}
}

const conversationRequest = `[{"kind":"req","id":"1","type":"userprofile.SetUserProfile","body":{"authenticatedData":{"lp_sdes":[{"type":"personal","personal":{"firstname":"John","lastname":"Doe"}}]}}},` +
	`{"kind":"req","id":"2","type":"cm.ConsumerRequestConversation","body":{"brandId":"` + lpAccount + `","channelType":"MESSAGING","skillId":"-1"}}]`

// openConversation sends CONVERSATION and returns status, body and the new
// conversation's id ("" when none).
func openConversation(t *testing.T, base string, c consumer) (int, string, string) {
	t.Helper()
	code, body := do(t, "POST", base+"/api/account/"+lpAccount+"/messaging/consumer/conversation?v=3", c.headers(), conversationRequest)
	var rs []struct {
		Body struct {
			ConversationID string `json:"conversationId"`
		} `json:"body"`
	}
	if code == 200 && json.Unmarshal(body, &rs) == nil && len(rs) == 2 {
		return code, string(body), rs[1].Body.ConversationID
	}
	return code, string(body), ""
}

func mustOpenConversation(t *testing.T, base string, c consumer) string {
	t.Helper()
	code, body, conv := openConversation(t, base, c)
	if code != 200 || conv == "" {
		t.Fatalf("CONVERSATION via %s: %d %s", base, code, body)
	}
	return conv
}

// send sends one text with SEND and returns status and body.
func send(t *testing.T, base string, c consumer, conv, text string) (int, string) {
	t.Helper()
	env, _ := json.Marshal(map[string]any{"kind": "req", "id": "s", "type": "ms.PublishEvent",
		"body": map[string]any{"dialogId": conv, "event": map[string]any{"type": "ContentEvent", "contentType": "text/plain", "message": text}}})
	code, body := do(t, "POST", base+"/api/account/"+lpAccount+"/messaging/consumer/conversation/send?v=3", c.headers(), string(env))
	return code, string(body)
}

func mustSend(t *testing.T, base string, c consumer, conv, text string) {
	t.Helper()
	if code, body := send(t, base, c, conv, text); code != 200 || !strings.Contains(body, `"code":"OK"`) {
		t.Fatalf("SEND %q via %s: %d %s", text, base, code, body)
	}
}

// customer is a web chat customer made by init.
type customer struct {
	Conversation string
	Participant  string
}

func initCustomer(t *testing.T, base, email string) (int, string, customer) {
	t.Helper()
	code, body := do(t, "POST", base+"/api/customer/init", map[string]string{"Content-Type": "application/json"},
		`{"firstName":"Cleo","lastName":"Customer","email":"`+email+`","channel":"web"}`)
	var r struct {
		ConversationID string `json:"conversationId"`
		Participant    struct {
			ID string `json:"id"`
		} `json:"participant"`
	}
	if code == 200 && json.Unmarshal(body, &r) == nil {
		return code, string(body), customer{Conversation: r.ConversationID, Participant: r.Participant.ID}
	}
	return code, string(body), customer{}
}

func mustInit(t *testing.T, base, email string) customer {
	t.Helper()
	code, body, c := initCustomer(t, base, email)
	if code != 200 || c.Conversation == "" {
		t.Fatalf("init via %s: %d %s", base, code, body)
	}
	return c
}

// sio is a minimal Socket.IO v5 client over Engine.IO v4's WebSocket
// transport: CONNECT, events, acks, pongs.
type sio struct {
	ws     *websocket.Conn
	wmu    sync.Mutex
	events chan sioEvent
	mu     sync.Mutex
	nextID int
	acks   map[int]chan json.RawMessage
	done   chan struct{}
}

type sioEvent struct {
	Name string
	Arg  json.RawMessage
	At   time.Time
}

func dialSIO(t *testing.T, base string, auth any) *sio {
	t.Helper()
	u := "ws" + strings.TrimPrefix(base, "http") + "/socket.io/?EIO=4&transport=websocket"
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	ws, _, err := d.Dial(u, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", u, err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, open, err := ws.ReadMessage(); err != nil || len(open) == 0 || open[0] != '0' {
		ws.Close()
		t.Fatalf("open packet %q: %v", open, err)
	}
	connect := "40"
	if auth != nil {
		b, _ := json.Marshal(auth)
		connect += string(b)
	}
	if err := ws.WriteMessage(websocket.TextMessage, []byte(connect)); err != nil {
		ws.Close()
		t.Fatal(err)
	}
	for {
		_, p, err := ws.ReadMessage()
		if err != nil {
			ws.Close()
			t.Fatalf("CONNECT answer: %v", err)
		}
		if s := string(p); s == "2" {
			_ = ws.WriteMessage(websocket.TextMessage, []byte("3"))
		} else if strings.HasPrefix(s, "44") {
			ws.Close()
			t.Fatalf("connect refused: %s", s)
		} else if strings.HasPrefix(s, "40") {
			break
		}
	}
	_ = ws.SetReadDeadline(time.Time{})
	c := &sio{ws: ws, events: make(chan sioEvent, 256), acks: map[int]chan json.RawMessage{}, done: make(chan struct{})}
	go c.read()
	t.Cleanup(c.close)
	return c
}

func (c *sio) close() { _ = c.ws.Close() }

func (c *sio) write(s string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.ws.WriteMessage(websocket.TextMessage, []byte(s))
}

func (c *sio) read() {
	defer close(c.done)
	for {
		_, p, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		s := string(p)
		switch {
		case s == "2":
			_ = c.write("3")
		case strings.HasPrefix(s, "42"):
			var args []json.RawMessage
			if json.Unmarshal([]byte(s[2:]), &args) != nil || len(args) == 0 {
				continue
			}
			var name string
			_ = json.Unmarshal(args[0], &name)
			ev := sioEvent{Name: name, At: time.Now()}
			if len(args) > 1 {
				ev.Arg = args[1]
			}
			select {
			case c.events <- ev:
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
			var args []json.RawMessage
			_ = json.Unmarshal([]byte(rest[i:]), &args)
			c.mu.Lock()
			ch := c.acks[id]
			delete(c.acks, id)
			c.mu.Unlock()
			if ch != nil && len(args) > 0 {
				ch <- args[0]
			}
		}
	}
}

// call emits an event with an ack and waits for the ack.
func (c *sio) call(event string, payload any) (json.RawMessage, error) {
	c.mu.Lock()
	id := c.nextID
	c.nextID++
	ch := make(chan json.RawMessage, 1)
	c.acks[id] = ch
	c.mu.Unlock()
	b, _ := json.Marshal([]any{event, payload})
	if err := c.write(fmt.Sprintf("42%d%s", id, b)); err != nil {
		return nil, err
	}
	select {
	case a := <-ch:
		return a, nil
	case <-c.done:
		return nil, errors.New("socket closed")
	case <-time.After(10 * time.Second):
		return nil, fmt.Errorf("no ack for %s", event)
	}
}

func (c *sio) mustCall(t *testing.T, event string, payload any) {
	t.Helper()
	ack, err := c.call(event, payload)
	if err != nil || !strings.Contains(string(ack), `"status":"ok"`) {
		t.Fatalf("%s: %s %v", event, ack, err)
	}
}

func (c *sio) join(t *testing.T, cu customer) {
	t.Helper()
	c.mustCall(t, "joinConversation", map[string]string{"conversationId": cu.Conversation, "id": cu.Participant})
}

// waitFor returns the first event named name whose payload satisfies pred
// (nil: any), skipping others.
func (c *sio) waitFor(t *testing.T, name string, pred func(json.RawMessage) bool) sioEvent {
	t.Helper()
	timeout := time.After(waitFor)
	for {
		select {
		case ev := <-c.events:
			if ev.Name == name && (pred == nil || pred(ev.Arg)) {
				return ev
			}
		case <-c.done:
			t.Fatalf("socket closed while waiting for %s", name)
		case <-timeout:
			t.Fatalf("no %s event within %s", name, waitFor)
		}
	}
}

// chatText matches a ChatMessage with the text.
func chatText(text string) func(json.RawMessage) bool {
	return func(raw json.RawMessage) bool {
		var m struct{ Type, Text string }
		return json.Unmarshal(raw, &m) == nil && m.Type == "ChatMessage" && m.Text == text
	}
}

// pollHandshake opens an Engine.IO long-polling session and returns its sid.
func pollHandshake(t *testing.T, base string) string {
	t.Helper()
	code, body := do(t, "GET", base+"/socket.io/?EIO=4&transport=polling&t=1", nil, "")
	if code != 200 || len(body) == 0 || body[0] != '0' {
		t.Fatalf("polling handshake: %d %s", code, body)
	}
	var open struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(body[1:], &open); err != nil || open.SID == "" {
		t.Fatalf("open packet %s: %v", body, err)
	}
	return open.SID
}

func pollURL(base, sid string) string {
	return base + "/socket.io/?EIO=4&transport=polling&sid=" + url.QueryEscape(sid)
}
