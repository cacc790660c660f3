package e2e

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/connector-proxy/connector-proxy/internal/siotest"
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
	if code != 200 {
		return code, string(body), ""
	}
	return code, string(body), conversationOf(string(body))
}

// conversationOf is the conversation id in a CONVERSATION answer, "" when
// it has none.
func conversationOf(body string) string {
	var rs []struct {
		Body struct {
			ConversationID string `json:"conversationId"`
		} `json:"body"`
	}
	if json.Unmarshal([]byte(body), &rs) != nil || len(rs) != 2 {
		return ""
	}
	return rs[1].Body.ConversationID
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

// sio is the shared Go test client, closed when the test ends.
type sio struct{ *siotest.Client }

func dialSIO(t *testing.T, base string, auth any) *sio {
	t.Helper()
	c, err := siotest.Dial(base, auth)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return &sio{c}
}

// call emits an event with an ack and returns the ack's first argument.
func (c *sio) call(event string, payload any) (json.RawMessage, error) {
	args, err := c.Call(event, payload)
	if err != nil || len(args) == 0 {
		return nil, errors.Join(err, errors.New("no ack argument"))
	}
	return args[0], nil
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
func (c *sio) waitFor(t *testing.T, name string, pred func(json.RawMessage) bool) siotest.Event {
	t.Helper()
	return c.WaitFor(t, name, pred, waitFor)
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
