package connectorapi

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/connector-proxy/connector-proxy/auth"
)

func findNotif(t *testing.T, got []hookRequest, pred func(hookRequest, notif) bool) (hookRequest, bool) {
	for _, r := range got {
		if n := decodeNotif(t, r); pred(r, n) {
			return r, true
		}
	}
	return hookRequest{}, false
}

func TestEndToEndAgainstTheSimulator(t *testing.T) {
	s := newStack(t, stackOpts{})
	c := s.newConsumer("john_doe_facebook12345")
	conv := s.openConversation(c)

	if seq := s.sendText(c, conv, "Hello, I need help"); seq != 0 {
		t.Fatalf("first consumer message has sequence %d, want 0", seq)
	}
	eng := s.engagementOf(conv)
	s.simPost("/sim/accounts/"+axpAccount+"/engagements/"+eng+":agentJoin", `{"displayName":"Andy Morgan"}`)
	s.simPost("/sim/accounts/"+axpAccount+"/engagements/"+eng+":agentMessage", `{"text":"Hello from the agent"}`)

	agentJoined := func(r hookRequest, n notif) bool {
		ch := n.Body.Changes[0]
		if n.Type != "cqm.ExConversationChangeNotification" || ch.Result.ConvID != conv || ch.Result.ConversationDetails.State != "OPEN" {
			return false
		}
		for _, p := range ch.Result.ConversationDetails.Participants {
			if p.Role == "ASSIGNED_AGENT" {
				return true
			}
		}
		return false
	}
	agentSaid := func(r hookRequest, n notif) bool {
		ch := n.Body.Changes[0]
		return n.Type == "ms.MessagingEventNotification" && ch.Event.Type == "ContentEvent" && ch.Event.Message == "Hello from the agent"
	}
	got := s.hooks.waitHooks(t, "the agent's join and message", func(got []hookRequest) bool {
		_, a := findNotif(t, got, agentJoined)
		_, b := findNotif(t, got, agentSaid)
		return a && b
	})
	join, _ := findNotif(t, got, agentJoined)
	msg, _ := findNotif(t, got, agentSaid)
	for _, r := range []hookRequest{join, msg} {
		if !auth.VerifyWebhook(appSecret, r.Body, r.Signature) || !strings.HasPrefix(r.Signature, "sha1=") {
			t.Errorf("bad signature %q on %s", r.Signature, r.Body)
		}
		if r.Account != lpAccount || r.ClientID != appID {
			t.Errorf("headers account %q client %q", r.Account, r.ClientID)
		}
	}
	if join.Path != "/"+auth.WebhookConversationChange || msg.Path != "/"+auth.WebhookContentEvent {
		t.Errorf("sent to %s and %s, want each event type's own endpoint", join.Path, msg.Path)
	}
	m := decodeNotif(t, msg).Body.Changes[0]
	if m.Sequence != 1 || m.ConversationID != conv || m.DialogID != conv || m.OriginatorMetadata.Role != "ASSIGNED_AGENT" ||
		m.Event.ContentType != "text/plain" || m.ServerTimestamp == 0 {
		t.Errorf("agent message notification %s", msg.Body)
	}

	code, body := s.send(c, closeEnvelope(`7`, conv))
	if code != 200 || !strings.Contains(string(body), `"reqId":7,`) {
		t.Fatalf("CLOSE: %d %s", code, body)
	}
	closed := func(r hookRequest, n notif) bool {
		ch := n.Body.Changes[0]
		return n.Type == "cqm.ExConversationChangeNotification" && ch.Result.ConvID == conv &&
			ch.Result.ConversationDetails.State == "CLOSE" && ch.Result.ConversationDetails.CloseReason == "CONSUMER"
	}
	got = s.hooks.waitHooks(t, "the CLOSE notification", func(got []hookRequest) bool { _, ok := findNotif(t, got, closed); return ok })
	cl, _ := findNotif(t, got, closed)
	if !auth.VerifyWebhook(appSecret, cl.Body, cl.Signature) {
		t.Errorf("bad signature on CLOSE")
	}

	// After the close the conversation takes no more messages, and a new
	// CONVERSATION opens a new one.
	if code, body := s.send(c, textEnvelope("9", conv, "still there?")); code != 400 || !strings.Contains(string(body), `"reqId":"9"`) {
		t.Fatalf("SEND to a closed conversation: %d %s", code, body)
	}
	if again := s.openConversation(c); again == conv {
		t.Fatalf("a closed conversation was handed out again")
	}
}

func TestSecondConversationRequestReturnsTheOpenOne(t *testing.T) {
	s := newStack(t, stackOpts{})
	c := s.newConsumer("repeat")
	first := s.openConversation(c)
	second := s.openConversation(c)
	if first != second {
		t.Fatalf("open conversation %s, second request gave %s", first, second)
	}
	if n := s.simEngagements(); n != 1 {
		t.Fatalf("%d engagements in the simulator, want 1", n)
	}
	// The same external id through a fresh ConsumerJWS is the same consumer.
	c2 := s.newConsumer("repeat")
	if third := s.openConversation(c2); third != first {
		t.Fatalf("same ext_consumer_id, new token: conversation %s, want %s", third, first)
	}
}

func TestRequestIDsAreEchoedExactly(t *testing.T) {
	s := newStack(t, stackOpts{})
	c := s.newConsumer("ids")
	body := strings.NewReplacer(`"1,"`, `"abc \"x\" 1,"`, `"2,"`, `12345678901234567890`).Replace(conversationBody)
	code, out := s.conversation(c, body)
	if code != 200 {
		t.Fatalf("%d %s", code, out)
	}
	var rs []struct {
		ReqID json.RawMessage `json:"reqId"`
	}
	if err := json.Unmarshal(out, &rs); err != nil || len(rs) != 2 {
		t.Fatalf("%s", out)
	}
	if string(rs[0].ReqID) != `"abc \"x\" 1,"` || string(rs[1].ReqID) != `12345678901234567890` {
		t.Fatalf("reqIds %s %s", rs[0].ReqID, rs[1].ReqID)
	}
}
