package customerchannel

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares v's JSON with testdata/name.json.
func golden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", name+".json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run Payload -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s changed: the payload is a contract (PAYLOADS.md)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestPayloadShapesArePinned(t *testing.T) {
	b := &fakeBackend{}
	f, store := newUnitFace(t, b)
	conv := openConv(t, store, "conv-1", "sms", "+15550100")
	at := engagement.NewTime(testNow)
	agentMsg := &engagement.Message{
		MessageID: "msg-7", SenderParticipantID: "agent-1", SenderParticipantName: "Agent Ada", SenderParticipantType: engagement.ParticipantAgent,
		Body:        engagement.Body{ElementType: "text", ElementText: &engagement.ElementText{Text: "How can I help?"}},
		Attachments: []engagement.Attachment{{Name: "menu.png", ContentType: "image/png", URL: "https://files.example/menu.png", ThumbnailURL: "https://files.example/menu-t.png"}},
		ReceivedAt:  &at,
	}
	customerMsg := &engagement.Message{
		MessageID: "msg-6", SenderParticipantID: "axp-customer", SenderParticipantName: "Cleo Customer", SenderParticipantType: engagement.ParticipantCustomer,
		Body: engagement.Body{ElementType: "text", ElementText: &engagement.ElementText{Text: "Hi"}}, ReceivedAt: &at,
	}
	b.messages = []*engagement.Message{customerMsg, agentMsg}
	b.dialog = engagement.Dialog{Connections: []engagement.Connection{{ParticipantID: "agent-1", ParticipantType: "AGENT", DisplayName: "Agent Ada", ConnectionState: engagement.Connected}}}
	agent := Participant{ID: "agent-1", Name: "Agent Ada", Type: RoleAgent}
	fixed := func(m *ActivityMessage) *ActivityMessage { m.ID = "act-1"; return m }

	chat := f.chatMessage(conv, agentMsg)
	withRef := *chat
	withRef.RefID = conv.RefID
	info, err := f.conversationInfo(context.Background(), conv)
	if err != nil {
		t.Fatal(err)
	}
	throttled := eventFailure("conv-1", "send the message", fmt.Errorf("engagement: send_message: %w", &engagement.Problem{Status: 429, RetryAfter: 30 * time.Second}))
	var badInit InitRequest
	badName := decodeInit([]byte(`{"channel":"web","firstName":"A\u0000da"}`), &badInit)
	tests := []struct {
		name string
		v    any
	}{
		{"chat_message", chat},
		{"chat_message_to_connector", &withRef},
		{"activity_greetings", fixed(f.activity(conv, ActivityGreetings, systemParticipant, ActivityInfo{Text: "Welcome!"}, testNow))},
		{"activity_participant_joined", fixed(f.activity(conv, ActivityParticipantJoined, agent, ActivityInfo{Participant: &agent}, testNow))},
		{"activity_participant_left", fixed(f.activity(conv, ActivityParticipantLeft, agent, ActivityInfo{Participant: &agent}, testNow))},
		{"activity_hand_off", fixed(f.activity(conv, ActivityHandOff, systemParticipant, ActivityInfo{Text: "Looking for an agent"}, testNow))},
		{"activity_no_agent_available", fixed(f.activity(conv, ActivityNoAgentAvailable, systemParticipant, ActivityInfo{Reason: "ENGAGEMENT_CREATION_FAILED", Detail: "no agents"}, testNow))},
		{"activity_end_of_conversation", fixed(f.activity(conv, ActivityEndOfConversation, systemParticipant, ActivityInfo{Reason: "USER_CLOSED"}, testNow))},
		{"conversation_info", info},
		{"error", &ErrorPayload{Code: CodeWrongParticipant, Message: "participant id does not match the conversation", Event: EventJoinConversation, ConversationID: "conv-1"}},
		{"ack_ok", Ack{Status: "ok", ID: "msg-8"}},
		{"ack_error", Ack{Status: "error", Error: &ErrorPayload{Code: CodeEnded, Message: "the conversation has ended", Event: EventSendMessage, ConversationID: "conv-1"}}},
		{"connector_notice", ConnectorNotice{ID: "sms", Name: "SMS Connector", Channel: "sms"}},
		{"init_response", InitResponse{ConversationID: "conv-1", Participant: customerOf(conv), RequestID: "req-1", Timestamp: stamp(testNow)}},
		{"http_error", HTTPError{Status: 400, Code: "BAD_REQUEST", Message: "channel is required"}},
		{"http_error_field", HTTPError{Status: badName.status, Code: badName.code, Message: badName.msg, Field: badName.field}},
		{"error_rate_limited", &ErrorPayload{Code: throttled.code, Message: throttled.msg, Event: EventSendMessage, ConversationID: throttled.conv,
			Retryable: throttled.retryable, RetryAfter: throttled.retryAfter}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { golden(t, tt.name, tt.v) })
	}
}

func TestInitRequestAcceptsTheSeedsSpelling(t *testing.T) {
	var req InitRequest
	body := `{"firstName":"A","Email":"a@example.com","Channel":"web","Phone":"+1","reqestId":"r-1","Subject":"s","Url":"u","Language":"en"}`
	if err := json.Unmarshal([]byte(body), &req); err != nil {
		t.Fatal(err)
	}
	want := InitRequest{FirstName: "A", Email: "a@example.com", Channel: "web", Phone: "+1", ReqestID: "r-1", Subject: "s", URL: "u", Language: "en"}
	if req != want {
		t.Errorf("decoded %+v, want %+v", req, want)
	}
}

func TestAckAppendsWhatJSONMarshalWrites(t *testing.T) {
	for _, a := range []Ack{
		{Status: "ok"},
		{Status: "ok", ID: "5f0c9a3e-msg"},
		{Status: "ok", ID: "a<b>&\"c\"\\ é"},
		{Status: "error", Error: &ErrorPayload{Code: CodeBadPayload, Message: "text is required", Field: "text", Retryable: true}},
	} {
		want, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.AppendJSON(nil); string(got) != string(want) {
			t.Errorf("AppendJSON = %s, want %s", got, want)
		}
	}
}
