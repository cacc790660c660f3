package customerchannel

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/mapping"
	"github.com/valyala/fasthttp"
)

// serve runs one request through the face's handler.
func serve(f *Face, method, uri, origin, body string) *fasthttp.Response {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(uri)
	if origin != "" {
		ctx.Request.Header.Set("Origin", origin)
	}
	if body != "" {
		ctx.Request.Header.SetContentType("application/json")
		ctx.Request.SetBodyString(body)
	}
	f.Handler(&ctx)
	var resp fasthttp.Response
	ctx.Response.CopyTo(&resp)
	return &resp
}

func TestInitAnswers(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		errs     map[string]error
		want     int
		wantCode string
		// wantField and wantRetry are the error's field and Retry-After.
		wantField, wantRetry string
	}{
		{name: "seed fields open a conversation", body: `{"firstName":"Ann","lastName":"Lee","email":"ann@example.com","channel":"web","subject":"sales","requestId":"r-1"}`, want: 200},
		{name: "phone alone is an identifier", body: `{"phone":"+15550100","channel":"sms"}`, want: 200},
		{name: "missing channel", body: `{"email":"ann@example.com"}`, want: 400, wantCode: "BAD_REQUEST"},
		{name: "missing identifier", body: `{"firstName":"Ann","channel":"web"}`, want: 400, wantCode: "BAD_REQUEST"},
		{name: "bad email", body: `{"email":"not an address","channel":"web"}`, want: 400, wantCode: "BAD_REQUEST"},
		{name: "not JSON", body: `channel=web`, want: 400, wantCode: "BAD_REQUEST"},
		{name: "AXP unreachable is 503", body: `{"email":"a@example.com","channel":"web"}`,
			errs: map[string]error{"CreateSession": fmt.Errorf("dial: %w", engagement.ErrUnreachable)}, want: 503, wantCode: "UNAVAILABLE"},
		{name: "AXP throttling is 429 with its Retry-After", body: `{"email":"a@example.com","channel":"web"}`,
			errs: map[string]error{"CreateEngagement": &engagement.Problem{Status: 429, RetryAfter: 12 * time.Second}}, want: 429, wantCode: "RATE_LIMITED", wantRetry: "12"},
		{name: "AXP throttling without Retry-After still says when", body: `{"email":"a@example.com","channel":"web"}`,
			errs: map[string]error{"CreateEngagement": &engagement.Problem{Status: 429}}, want: 429, wantCode: "RATE_LIMITED", wantRetry: "1"},
		{name: "AXP overloaded is 503", body: `{"email":"a@example.com","channel":"web"}`,
			errs: map[string]error{"CreateEngagement": &engagement.Problem{Status: 503}}, want: 503, wantCode: "UNAVAILABLE"},
		{name: "AXP refusing the content is 400", body: `{"email":"a@example.com","channel":"web"}`,
			errs: map[string]error{"CreateEngagement": &engagement.Problem{Status: 400, Title: "Bad Request"}}, want: 400, wantCode: "BAD_REQUEST"},
		{name: "AXP refusing the proxy is 500", body: `{"email":"a@example.com","channel":"web"}`,
			errs: map[string]error{"CreateSession": &engagement.Problem{Status: 403}}, want: 500, wantCode: "BACKEND_ERROR"},
		{name: "NUL in a name", body: `{"firstName":"A\u0000nn","email":"a@example.com","channel":"web"}`, want: 400, wantCode: "BAD_REQUEST", wantField: "firstName"},
		{name: "invalid UTF-8 in a name", body: "{\"lastName\":\"L\xffee\",\"email\":\"a@example.com\",\"channel\":\"web\"}", want: 400, wantCode: "BAD_REQUEST", wantField: "lastName"},
		{name: "a line break in a channel", body: `{"email":"a@example.com","channel":"web\nsms"}`, want: 400, wantCode: "BAD_REQUEST", wantField: "channel"},
		{name: "a number for a phone", body: `{"phone":15550100,"channel":"sms"}`, want: 400, wantCode: "BAD_REQUEST", wantField: "phone"},
		{name: "a comment may have lines", body: `{"email":"a@example.com","channel":"web","comment":"line one\nline two"}`, want: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &fakeBackend{errs: tt.errs}
			f, store := newUnitFace(t, b)
			resp := serve(f, "POST", "/api/customer/init", "", tt.body)
			if resp.StatusCode() != tt.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode(), tt.want, resp.Body())
			}
			if tt.want != 200 {
				var e HTTPError
				if err := json.Unmarshal(resp.Body(), &e); err != nil || e.Code != tt.wantCode || e.Status != tt.want || e.Field != tt.wantField {
					t.Errorf("error body %s, want code %s field %q", resp.Body(), tt.wantCode, tt.wantField)
				}
				if got := string(resp.Header.Peek("Retry-After")); got != tt.wantRetry {
					t.Errorf("Retry-After %q, want %q", got, tt.wantRetry)
				}
				return
			}
			var res InitResponse
			if err := json.Unmarshal(resp.Body(), &res); err != nil {
				t.Fatal(err)
			}
			// The conversation is durable before the answer, with its join proof.
			conv, err := store.Conversation(context.Background(), res.ConversationID)
			if err != nil {
				t.Fatalf("conversation not stored: %v", err)
			}
			if conv.Attrs[attrParticipant] != res.Participant.ID || res.Participant.ID == "" || !conv.Open() ||
				conv.Owner.Face != mapping.FaceCustomerChannel || conv.DialogID != "dlg-1" {
				t.Errorf("stored %+v for answer %+v", conv, res)
			}
		})
	}
}

func TestInitReusesTheSessionUntilItEnds(t *testing.T) {
	b := &fakeBackend{}
	f, _ := newUnitFace(t, b)
	body := `{"email":"ann@example.com","channel":"web"}`
	for range 2 {
		if resp := serve(f, "POST", "/api/customer/init", "", body); resp.StatusCode() != 200 {
			t.Fatalf("init: %d %s", resp.StatusCode(), resp.Body())
		}
	}
	if b.sessions != 1 || b.engs != 2 {
		t.Errorf("sessions %d, engagements %d; want 1 and 2", b.sessions, b.engs)
	}
}

func TestTranscriptAnswers(t *testing.T) {
	b := &fakeBackend{messages: []*engagement.Message{
		{SenderParticipantType: "CUSTOMER", SenderParticipantName: "Cleo", Body: engagement.Body{ElementText: &engagement.ElementText{Text: "where is my order"}}},
		{SenderParticipantType: "AGENT", SenderParticipantName: "Ada", Body: engagement.Body{ElementText: &engagement.ElementText{Text: "on its way"}}},
		{SenderParticipantType: "AGENT", SenderParticipantName: "Ada", CustomData: engagement.Parameters{"whisper": "true"}, Body: engagement.Body{ElementText: &engagement.ElementText{Text: "secret note"}}},
	}}
	f, store := newUnitFace(t, b)
	openConv(t, store, "open", "web", "cleo@example.com")
	closed := openConv(t, store, "closed", "web", "cleo@example.com")
	closed.State = mapping.StateClosed
	if err := store.Commit(context.Background(), &mapping.Change{Conv: closed}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, proof string
		want              int
	}{
		{"unknown conversation", "/api/customer/transcript/nope/pdf", "proof-nope", 404},
		{"ongoing conversation", "/api/customer/transcript/open/pdf", "proof-open", 404},
		{"other type", "/api/customer/transcript/closed/html", "proof-closed", 400},
		{"missing type", "/api/customer/transcript/closed", "proof-closed", 404},
		{"email without SMTP configured", "/api/customer/transcript/closed/email", "proof-closed", 503},
		{"pdf without the participant's proof", "/api/customer/transcript/closed/pdf", "", 401},
		{"pdf with another participant's proof", "/api/customer/transcript/closed/pdf", "proof-open", 404},
		{"pdf of an ended conversation", "/api/customer/transcript/closed/pdf", "proof-closed", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := serveHeaders(f, "GET", tt.path, map[string]string{HeaderParticipant: tt.proof})
			if resp.StatusCode() != tt.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode(), tt.want, resp.Body())
			}
			if tt.want != 200 {
				return
			}
			pdf := resp.Body()
			checkPDFStructure(t, pdf)
			text := pdfText(t, pdf)
			for _, w := range []string{"where is my order", "on its way", "Ada (Agent)"} {
				if !strings.Contains(text, w) {
					t.Errorf("transcript lacks %q", w)
				}
			}
			if strings.Contains(text, "secret note") {
				t.Error("transcript shows a whisper")
			}
		})
	}
}

func TestTranscriptEmailFailureIs503(t *testing.T) {
	b := &fakeBackend{}
	f, store := newUnitFace(t, b)
	f.cfg.SMTP.Addr = "127.0.0.1:1"
	f.sendMail = func(context.Context, string, []byte) error { return errBoom }
	c := openConv(t, store, "c", "web", "cleo@example.com")
	c.State = mapping.StateClosed
	if err := store.Commit(context.Background(), &mapping.Change{Conv: c}); err != nil {
		t.Fatal(err)
	}
	if resp := serveHeaders(f, "POST", "/api/customer/transcript/c/email", map[string]string{HeaderParticipant: "proof-c"}); resp.StatusCode() != 503 {
		t.Errorf("status %d, want 503", resp.StatusCode())
	}
}

func TestCORSEchoesOnlyConfiguredOrigins(t *testing.T) {
	f, _ := newUnitFace(t, &fakeBackend{})
	tests := []struct {
		name, method, origin string
		wantAllow            string
		wantStatus           int
	}{
		{"preflight from an allowed origin", "OPTIONS", "https://shop.example", "https://shop.example", 204},
		{"preflight from another origin", "OPTIONS", "https://evil.example", "", 204},
		{"request from an allowed origin", "POST", "https://shop.example", "https://shop.example", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := serve(f, tt.method, "/api/customer/init", tt.origin, "")
			if got := string(resp.Header.Peek("Access-Control-Allow-Origin")); got != tt.wantAllow {
				t.Errorf("Allow-Origin %q, want %q", got, tt.wantAllow)
			}
			if resp.StatusCode() != tt.wantStatus {
				t.Errorf("status %d, want %d", resp.StatusCode(), tt.wantStatus)
			}
		})
	}
}

func TestDeliverTurnsAXPEventsIntoMessages(t *testing.T) {
	agentMsg := func(text string, custom engagement.Parameters) *engagement.Event {
		return &engagement.Event{EventType: engagement.EventMessages, Message: &engagement.Message{
			MessageID: "m-" + text, SenderParticipantID: "a1", SenderParticipantName: "Ada", SenderParticipantType: "AGENT", CustomData: custom,
			Body: engagement.Body{ElementText: &engagement.ElementText{Text: text}},
		}}
	}
	part := func(typ, ptype string) *engagement.Event {
		return &engagement.Event{EventType: typ, Participant: &engagement.ParticipantEvent{ParticipantID: "p-" + ptype, DisplayName: "Ada", ParticipantType: ptype}}
	}
	tests := []struct {
		name        string
		ev          *engagement.Event
		dialog      string // dialog status GetEngagement reports
		wantTypes   []string
		wantClosed  bool
		wantDeleted bool
	}{
		{name: "agent message", ev: agentMsg("hello", nil), wantTypes: []string{TypeChatMessage}},
		{name: "whisper is dropped", ev: agentMsg("psst", engagement.Parameters{"whisper": "true"})},
		{name: "whisper tag is dropped", ev: agentMsg("psst", engagement.Parameters{"tag": "whisper"})},
		{name: "customer echo is dropped", ev: &engagement.Event{Message: &engagement.Message{SenderParticipantType: "CUSTOMER"}}},
		{name: "agent joins", ev: part(engagement.EventParticipantAdded, "AGENT"), wantTypes: []string{ActivityParticipantJoined}},
		{name: "customer added is not told", ev: part(engagement.EventParticipantAdded, "CUSTOMER")},
		{name: "agent leaves an open dialog", ev: part(engagement.EventParticipantDisconnected, "AGENT"), dialog: engagement.DialogActive,
			wantTypes: []string{ActivityParticipantLeft}},
		{name: "last agent leaves and the dialog ends", ev: part(engagement.EventParticipantDisconnected, "AGENT"), dialog: engagement.DialogTerminated,
			wantTypes: []string{ActivityParticipantLeft, ActivityEndOfConversation}, wantClosed: true, wantDeleted: true},
		{name: "customer disconnected at AXP", ev: part(engagement.EventParticipantDisconnected, "CUSTOMER"),
			wantTypes: []string{ActivityEndOfConversation}, wantClosed: true, wantDeleted: true},
		{name: "engagement created hands off", ev: &engagement.Event{EngagementCreated: &engagement.EngagementCreatedEvent{}}, wantTypes: []string{ActivityHandOff}},
		{name: "engagement error", ev: &engagement.Event{EngagementError: &engagement.EngagementErrorEvent{Type: "ENGAGEMENT_CREATION_FAILED", Title: "no"}},
			wantTypes: []string{ActivityNoAgentAvailable, ActivityEndOfConversation}, wantClosed: true, wantDeleted: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &fakeBackend{dialog: engagement.Dialog{DialogStatus: tt.dialog}}
			f, store := newUnitFace(t, b)
			conv := openConv(t, store, "1", "sms", "+15550100")
			customer := &fakeSocket{id: "customer"}
			connector := &fakeSocket{id: "connector", data: connectorPrincipal{}}
			f.hub.join(customer, conv.ID)
			f.hub.register(connector, RegisterRequest{ID: "sms", Channel: "sms"})
			apply(t, f, store, conv.ID, tt.ev)
			got := customer.events(EventMessageArrived)
			if len(got) != len(tt.wantTypes) {
				t.Fatalf("customer got %d messages %s, want %v", len(got), got, tt.wantTypes)
			}
			for i, raw := range got {
				var m struct{ Type, ActivityType, RefID string }
				_ = json.Unmarshal(raw, &m)
				if typ := m.ActivityType; typ != tt.wantTypes[i] && m.Type != tt.wantTypes[i] {
					t.Errorf("message %d = %s, want %s", i, raw, tt.wantTypes[i])
				}
				if m.RefID != "" {
					t.Errorf("customer copy carries refId: %s", raw)
				}
			}
			for _, raw := range connector.events(EventMessageArrived) {
				var m struct{ RefID string }
				if json.Unmarshal(raw, &m); m.RefID != "+15550100" {
					t.Errorf("connector copy lacks the refId: %s", raw)
				}
			}
			if n := len(connector.events(EventMessageArrived)); n != len(tt.wantTypes) {
				t.Errorf("connector got %d messages, want %d", n, len(tt.wantTypes))
			}
			stored, _ := store.Conversation(context.Background(), conv.ID)
			if stored.Open() == tt.wantClosed {
				t.Errorf("stored state %s, want closed %v", stored.State, tt.wantClosed)
			}
			if (len(b.deleted) > 0) != tt.wantDeleted {
				t.Errorf("sessions deleted %v, want deletion %v", b.deleted, tt.wantDeleted)
			}
		})
	}
}

func TestEndOfConversationIsToldOnce(t *testing.T) {
	b := &fakeBackend{}
	f, store := newUnitFace(t, b)
	conv := openConv(t, store, "1", "web", "cleo@example.com")
	s := &fakeSocket{id: "s"}
	f.hub.join(s, conv.ID)
	f.handleEvent(context.Background(), s, EventEndConversation, []json.RawMessage{json.RawMessage(`{"conversationId":"1"}`)}, nil)
	// AXP then reports the customer's disconnect; the pipeline applies it
	// to the stored conversation, already closed.
	apply(t, f, store, conv.ID, &engagement.Event{EventType: engagement.EventParticipantDisconnected,
		Participant: &engagement.ParticipantEvent{ParticipantType: "CUSTOMER"}})
	if n := len(s.events(EventMessageArrived)); n != 1 || b.disconnect != 1 {
		t.Errorf("endOfConversation told %d times, %d disconnects; want 1 and 1", n, b.disconnect)
	}
}

func TestEndConversationFailureKeepsItOpen(t *testing.T) {
	b := &fakeBackend{errs: map[string]error{"DisconnectEngagement": fmt.Errorf("x: %w", engagement.ErrUnreachable)}}
	f, store := newUnitFace(t, b)
	conv := openConv(t, store, "1", "web", "cleo@example.com")
	s := &fakeSocket{id: "s"}
	f.hub.join(s, conv.ID)
	f.handleEvent(context.Background(), s, EventEndConversation, []json.RawMessage{json.RawMessage(`{"conversationId":"1"}`)}, nil)
	errs := s.events(EventError)
	var p ErrorPayload
	if len(errs) != 1 || json.Unmarshal(errs[0], &p) != nil || p.Code != CodeUnavailable {
		t.Fatalf("error events %s, want one %s", errs, CodeUnavailable)
	}
	if stored, _ := store.Conversation(context.Background(), conv.ID); !stored.Open() {
		t.Error("the conversation was closed though AXP did not end it")
	}
}

func TestHubForgetsDisconnectedSockets(t *testing.T) {
	f, _ := newUnitFace(t, &fakeBackend{})
	s := &fakeSocket{id: "s"}
	c := &fakeSocket{id: "c"}
	f.hub.join(s, "conv")
	f.hub.register(c, RegisterRequest{ID: "sms", Channel: "sms"})
	f.hub.leave(s)
	f.hub.leave(c)
	if clients, rooms, conns := f.hub.sizes(); clients+rooms+conns != 0 {
		t.Errorf("hub keeps %d clients, %d rooms, %d connectors", clients, rooms, conns)
	}
}
