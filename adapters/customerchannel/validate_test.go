package customerchannel

import (
	"encoding/json"
	"testing"
)

// Socket events with unclean text or fields of the wrong type are refused
// with an error naming the field, and nothing reaches AXP.
func TestUncleanSocketPayloadsAreRefusedNamingTheField(t *testing.T) {
	r := newRig(t, nil)
	res := r.init(t, InitRequest{Channel: "web", FirstName: "Ada", Email: "ada-validate@example.com"})
	c, err := dialSIO(r.proxyURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if a, err := c.call(EventJoinConversation, JoinRequest{ConversationID: res.ConversationID, ID: res.Participant.ID, Name: "Ada"}); err != nil || a.Status != "ok" {
		t.Fatalf("join: %+v %v", a, err)
	}
	conv := res.ConversationID
	tests := []struct {
		name, event, payload, field string
	}{
		{"invalid UTF-8 in a text", EventSendMessage, "{\"type\":\"ChatMessage\",\"conversationId\":\"" + conv + "\",\"text\":\"caf\xc3 \xff\"}", "text"},
		{"NUL in a text", EventSendMessage, `{"type":"ChatMessage","conversationId":"` + conv + `","text":"a\u0000b"}`, "text"},
		{"a lone surrogate in a text", EventSendMessage, `{"type":"ChatMessage","conversationId":"` + conv + `","text":"broken \ud83d emoji"}`, "text"},
		{"an escape character in a text", EventSendMessage, `{"type":"ChatMessage","conversationId":"` + conv + `","text":"\u001b[31mred"}`, "text"},
		{"a line break in the sender's name", EventSendMessage, `{"type":"ChatMessage","conversationId":"` + conv + `","from":{"id":"x","name":"Ada\nEvil"},"text":"hi"}`, "from.name"},
		{"a text that is a number", EventSendMessage, `{"type":"ChatMessage","conversationId":"` + conv + `","text":42}`, "text"},
		{"a NUL in a join name", EventJoinConversation, `{"conversationId":"` + conv + `","id":"` + res.Participant.ID + `","name":"A\u0000"}`, "name"},
		{"a control in a member name", EventEndConversation, `{"conversationId\u0007":"` + conv + `"}`, "conversationId\a"},
	}
	before := len(r.messages(t, conv))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := c.call(tt.event, json.RawMessage(tt.payload))
			if err != nil {
				t.Fatal(err)
			}
			if a.Status != "error" || a.Error == nil || a.Error.Code != CodeBadPayload || a.Error.Field != tt.field || a.Error.Retryable {
				t.Fatalf("ack %+v (error %+v), want BAD_PAYLOAD on %q, not retryable", a, a.Error, tt.field)
			}
			ev := c.waitFor(t, EventError, nil)
			var p ErrorPayload
			if err := json.Unmarshal(ev, &p); err != nil || p.Field != tt.field {
				t.Fatalf("error event %s, want field %q", ev, tt.field)
			}
		})
	}
	if n := len(r.messages(t, conv)); n != before {
		t.Errorf("%d messages reached AXP", n-before)
	}
	// A clean multi-line text still goes through.
	if a, err := c.call(EventSendMessage, SendRequest{Type: TypeChatMessage, ConversationID: conv, Text: "line one\nline two"}); err != nil || a.Status != "ok" {
		t.Fatalf("multi-line text: %+v %v", a, err)
	}
}
