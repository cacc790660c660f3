package customerchannel

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestSMSConnectorGetsAgentRepliesWithRefID(t *testing.T) {
	r := newRig(t, nil)
	conn, err := dialSIO(r.proxyURL, map[string]string{"secret": rigSecret})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if a, err := conn.call(EventRegisterConnector, RegisterRequest{ID: "sms", Name: "SMS Connector", Channel: "sms"}); err != nil || a.Status != "ok" {
		t.Fatalf("registerConnector: %+v, %v", a, err)
	}
	const phone = "+15550100"
	res := r.init(t, InitRequest{FirstName: "Sam", Phone: phone, Channel: "sms", Subject: "billing"})

	r.agent(t, res.ConversationID, "agentJoin", map[string]string{"displayName": "Agent Ada"})
	joined := conn.waitFor(t, EventMessageArrived, activity(ActivityParticipantJoined))
	var j ActivityMessage
	_ = json.Unmarshal(joined, &j)
	if j.RefID != phone || j.Info.Participant == nil || j.Info.Participant.Name != "Agent Ada" {
		t.Errorf("participantJoined = %s, want refId %s and the agent", joined, phone)
	}

	r.agent(t, res.ConversationID, "agentMessage", map[string]string{"text": "your bill is ready"})
	got := conn.waitFor(t, EventMessageArrived, chatText("your bill is ready"))
	var m ChatMessage
	if err := json.Unmarshal(got, &m); err != nil {
		t.Fatal(err)
	}
	if m.RefID != phone || m.ConversationID != res.ConversationID || m.From.Type != RoleAgent || m.From.Name != "Agent Ada" {
		t.Errorf("agent reply on the connector = %s, want refId %s from Agent Ada", got, phone)
	}

	// The whisper never reaches the connector (it would text the customer).
	r.agent(t, res.ConversationID, "agentMessage", map[string]any{"text": "internal note", "customData": map[string]string{"whisper": "true"}})
	r.agent(t, res.ConversationID, "agentMessage", map[string]string{"text": "after the note"})
	for {
		b := conn.waitFor(t, EventMessageArrived, nil)
		if strings.Contains(string(b), "internal note") {
			t.Fatalf("whisper reached the connector: %s", b)
		}
		if chatText("after the note")(b) {
			break
		}
	}

	// What the connector sends for the customer goes to AXP.
	if a, err := conn.call(EventSendMessage, SendRequest{Type: TypeChatMessage, RefID: phone, Text: "thanks, paid"}); err != nil || a.Status != "ok" {
		t.Fatalf("connector sendMessage: %+v, %v", a, err)
	}
	found := false
	for _, msg := range r.messages(t, res.ConversationID) {
		if msg.Text() == "thanks, paid" && msg.SenderParticipantType == "CUSTOMER" {
			found = true
		}
	}
	if !found {
		t.Error("the connector's message is not in AXP's dialog")
	}
}

func TestSecondConnectorReplacesTheFirst(t *testing.T) {
	r := newRig(t, nil)
	first, err := dialSIO(r.proxyURL, map[string]string{"secret": rigSecret})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	second, err := dialSIO(r.proxyURL, map[string]string{"secret": rigSecret})
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	reg := RegisterRequest{ID: "sms", Name: "SMS", Channel: "sms"}
	if a, err := first.call(EventRegisterConnector, reg); err != nil || a.Status != "ok" {
		t.Fatalf("first register: %+v %v", a, err)
	}
	if a, err := second.call(EventRegisterConnector, reg); err != nil || a.Status != "ok" {
		t.Fatalf("second register: %+v %v", a, err)
	}
	notice := first.waitFor(t, EventConnectorReplaced, nil)
	var n ConnectorNotice
	if json.Unmarshal(notice, &n) != nil || n.Channel != "sms" {
		t.Errorf("connectorReplaced = %s", notice)
	}
	res := r.init(t, InitRequest{Phone: "+15550101", Channel: "sms"})
	r.agent(t, res.ConversationID, "agentJoin", map[string]string{"displayName": "Bo"})
	r.agent(t, res.ConversationID, "agentMessage", map[string]string{"text": "to the new one"})
	second.waitFor(t, EventMessageArrived, chatText("to the new one"))
	// The replaced connector may no longer speak for the channel.
	if a, err := first.call(EventSendMessage, SendRequest{RefID: "+15550101", Text: "stale"}); err != nil || a.Status != "error" {
		t.Errorf("replaced connector's send = %+v, %v; want an error", a, err)
	}
}

func TestConnectorAuthentication(t *testing.T) {
	r := newRig(t, nil)
	tests := []struct {
		name     string
		auth     any
		wantConn bool
		wantCode string // of registerConnector's ack, "" for ok
	}{
		{name: "right secret registers", auth: map[string]string{"secret": rigSecret}, wantConn: true},
		{name: "wrong secret is refused at CONNECT", auth: map[string]string{"secret": "nope"}, wantConn: false},
		{name: "a customer socket cannot register", auth: nil, wantConn: true, wantCode: CodeNotConnector},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := dialSIO(r.proxyURL, tt.auth)
			if (err == nil) != tt.wantConn {
				t.Fatalf("connect error = %v, want connected %v", err, tt.wantConn)
			}
			if err != nil {
				return
			}
			defer c.Close()
			a, err := c.call(EventRegisterConnector, RegisterRequest{ID: "fb", Channel: "fb"})
			if err != nil {
				t.Fatal(err)
			}
			code := ""
			if a.Error != nil {
				code = a.Error.Code
			}
			if code != tt.wantCode {
				t.Errorf("register ack = %+v, want code %q", a, tt.wantCode)
			}
		})
	}
}

func TestBadSocketInputSendsNothingToAXP(t *testing.T) {
	r := newRig(t, nil)
	res := r.init(t, InitRequest{FirstName: "Eve", Email: "eve@example.com", Channel: "web"})
	ended := r.init(t, InitRequest{FirstName: "Eve", Email: "eve2@example.com", Channel: "web"})
	{ // end the second conversation properly first
		c, err := dialSIO(r.proxyURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		if a, err := c.call(EventJoinConversation, JoinRequest{ConversationID: ended.ConversationID, ID: ended.Participant.ID}); err != nil || a.Status != "ok" {
			t.Fatalf("join: %+v %v", a, err)
		}
		if a, err := c.call(EventEndConversation, EndRequest{ConversationID: ended.ConversationID}); err != nil || a.Status != "ok" {
			t.Fatalf("end: %+v %v", a, err)
		}
		c.Close()
	}
	tests := []struct {
		name     string
		do       func(c *sioClient) error
		wantCode string
	}{
		{name: "join with a wrong participant id", wantCode: CodeWrongParticipant, do: func(c *sioClient) error {
			return c.Emit(EventJoinConversation, JoinRequest{ConversationID: res.ConversationID, ID: "not-the-id"})
		}},
		{name: "send without joining", wantCode: CodeNotJoined, do: func(c *sioClient) error {
			return c.Emit(EventSendMessage, SendRequest{ConversationID: res.ConversationID, Text: "sneaky"})
		}},
		{name: "join an unknown conversation", wantCode: CodeNotFound, do: func(c *sioClient) error {
			return c.Emit(EventJoinConversation, JoinRequest{ConversationID: "nope", ID: "x"})
		}},
		{name: "payload that is not an object", wantCode: CodeBadPayload, do: func(c *sioClient) error {
			return c.EmitRaw(-1, EventSendMessage, `"just a string"`)
		}},
		{name: "send to an ended conversation", wantCode: CodeEnded, do: func(c *sioClient) error {
			if err := c.Emit(EventJoinConversation, JoinRequest{ConversationID: ended.ConversationID, ID: ended.Participant.ID}); err != nil {
				return err
			}
			return c.Emit(EventSendMessage, SendRequest{ConversationID: ended.ConversationID, Text: "too late"})
		}},
		{name: "unknown event", wantCode: "", do: func(c *sioClient) error {
			return c.Emit("dance", map[string]string{"conversationId": res.ConversationID})
		}},
	}
	before := len(r.messages(t, res.ConversationID)) + len(r.messages(t, ended.ConversationID))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := dialSIO(r.proxyURL, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := tt.do(c); err != nil {
				t.Fatal(err)
			}
			b := c.waitFor(t, EventError, nil)
			var p ErrorPayload
			if err := json.Unmarshal(b, &p); err != nil || p.Message == "" {
				t.Fatalf("error event %s is not an ErrorPayload: %v", b, err)
			}
			if p.Code != tt.wantCode {
				t.Errorf("error code = %q, want %q (%s)", p.Code, tt.wantCode, b)
			}
		})
	}
	time.Sleep(50 * time.Millisecond) // let any stray send land before counting
	if after := len(r.messages(t, res.ConversationID)) + len(r.messages(t, ended.ConversationID)); after != before {
		t.Errorf("AXP got %d messages from bad input", after-before)
	}
	conv, err := r.store.Conversation(context.Background(), ended.ConversationID)
	if err != nil || conv.Open() {
		t.Errorf("ended conversation state = %+v, %v", conv, err)
	}
}
