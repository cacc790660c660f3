package customerchannel

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/internal/redistest"
	"github.com/connector-proxy/connector-proxy/mapping"
)

const busWait = 5 * time.Second

// replicas are faces as two processes run them: one store, one Redis bus
// each, on one redis-server.
type replicas struct {
	a, b   *Face
	busA   *RedisBus
	store  *mapping.Bolt
	prefix string
	srv    *redistest.Server
}

func newReplicas(t *testing.T) *replicas {
	t.Helper()
	srv := redistest.Start(t)
	store, err := mapping.OpenBolt(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	r := &replicas{store: store, srv: srv, prefix: "test:"}
	face := func(id string) (*Face, *RedisBus) {
		bus, err := NewRedisBus(context.Background(), srv.URL, RedisBusOptions{Prefix: r.prefix})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = bus.Close() })
		f, err := New(Config{
			ChannelProviderID: rigProvider, ConnectorSecret: rigSecret, Bus: bus, ReplicaID: id,
			Now: func() time.Time { return testNow }, Logger: slog.New(slog.DiscardHandler),
		}, &fakeBackend{}, store)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = f.Close() })
		return f, bus
	}
	r.a, r.busA = face("replica-a")
	r.b, _ = face("replica-b")
	return r
}

// waitEvents waits until s got n events named name.
func waitEvents(t *testing.T, s *fakeSocket, name string, n int) []json.RawMessage {
	t.Helper()
	deadline := time.Now().Add(busWait)
	for {
		got := s.events(name)
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("socket %s got %d %s events, want %d: %s", s.id, len(got), name, n, got)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func join(t *testing.T, f *Face, s *fakeSocket, conv *mapping.Conversation) {
	t.Helper()
	var ack Ack
	f.handleEvent(context.Background(), s, EventJoinConversation,
		[]json.RawMessage{json.RawMessage(`{"conversationId":"` + conv.ID + `","id":"` + conv.Attrs[attrParticipant] + `"}`)},
		func(args ...any) error { raw, _ := json.Marshal(args[0]); return json.Unmarshal(raw, &ack) })
	if ack.Status != "ok" {
		t.Fatalf("join %s: %+v", conv.ID, ack)
	}
}

func register(t *testing.T, f *Face, s *fakeSocket, channel string) Ack {
	t.Helper()
	var ack Ack
	f.handleEvent(context.Background(), s, EventRegisterConnector,
		[]json.RawMessage{json.RawMessage(`{"id":"` + channel + `","channel":"` + channel + `"}`)},
		func(args ...any) error { raw, _ := json.Marshal(args[0]); return json.Unmarshal(raw, &ack) })
	return ack
}

func agentSays(text string) *engagement.Event {
	return &engagement.Event{EventType: engagement.EventMessages, Message: &engagement.Message{
		MessageID: "m-" + text, SenderParticipantID: "a1", SenderParticipantName: "Ada", SenderParticipantType: "AGENT",
		Body: engagement.Body{ElementText: &engagement.ElementText{Text: text}},
	}}
}

func TestAgentMessageReachesTheSocketsAnotherReplicaHolds(t *testing.T) {
	r := newReplicas(t)
	conv := openConv(t, r.store, "c1", "sms", "+15550100")
	customer := &fakeSocket{id: "customer"}
	connector := &fakeSocket{id: "connector", data: connectorPrincipal{}}
	join(t, r.b, customer, conv)
	if ack := register(t, r.b, connector, "sms"); ack.Status != "ok" {
		t.Fatalf("register: %+v", ack)
	}
	// The webhook reached replica A, which holds no socket of the
	// conversation.
	for _, text := range []string{"one", "two", "three"} {
		apply(t, r.a, r.store, conv.ID, agentSays(text))
	}
	got := waitEvents(t, customer, EventMessageArrived, 3+1) // the greeting, then the three
	for i, want := range []string{"one", "two", "three"} {
		var m ChatMessage
		if err := json.Unmarshal(got[i+1], &m); err != nil || m.Text != want || m.RefID != "" || m.ConversationID != conv.ID {
			t.Errorf("customer message %d = %s, want %q without refId", i, got[i+1], want)
		}
	}
	for i, raw := range waitEvents(t, connector, EventMessageArrived, 3) {
		var m ChatMessage
		if err := json.Unmarshal(raw, &m); err != nil || m.RefID != "+15550100" || m.Text != []string{"one", "two", "three"}[i] {
			t.Errorf("connector message %d = %s", i, raw)
		}
	}
	// A delivered nothing twice to B's sockets by itself.
	time.Sleep(50 * time.Millisecond)
	if n := len(customer.events(EventMessageArrived)); n != 4 {
		t.Errorf("customer got %d messageArrived, want 4", n)
	}
}

func TestConnectorOnOneReplicaReplacesTheOneOnAnother(t *testing.T) {
	r := newReplicas(t)
	conv := openConv(t, r.store, "c1", "sms", "+15550100")
	first := &fakeSocket{id: "first", data: connectorPrincipal{}}
	second := &fakeSocket{id: "second", data: connectorPrincipal{}}
	if ack := register(t, r.a, first, "sms"); ack.Status != "ok" {
		t.Fatalf("first: %+v", ack)
	}
	if ack := register(t, r.b, second, "sms"); ack.Status != "ok" {
		t.Fatalf("second: %+v", ack)
	}
	notice := waitEvents(t, first, EventConnectorReplaced, 1)[0]
	var n ConnectorNotice
	if json.Unmarshal(notice, &n) != nil || n.Channel != "sms" {
		t.Errorf("connectorReplaced = %s", notice)
	}
	if ch := r.a.hub.connectorOf(first); ch != "" {
		t.Errorf("replica A still holds its connector of %q", ch)
	}
	apply(t, r.a, r.store, conv.ID, agentSays("to the new one"))
	waitEvents(t, second, EventMessageArrived, 1)
	if got := first.events(EventMessageArrived); len(got) != 0 {
		t.Errorf("the replaced connector got %s", got)
	}
	owner, err := r.busA.ConnectorOwner(context.Background(), "sms")
	if err != nil || owner != "replica-b/second" {
		t.Fatalf("recorded owner %q, %v", owner, err)
	}
	// The owner leaving removes the record; a stale one's leaving does not.
	r.a.onDisconnect(first)
	if owner, _ := r.busA.ConnectorOwner(context.Background(), "sms"); owner != "replica-b/second" {
		t.Errorf("the replaced connector's leaving changed the record to %q", owner)
	}
	r.b.onDisconnect(second)
	if owner, _ := r.busA.ConnectorOwner(context.Background(), "sms"); owner != "" {
		t.Errorf("record %q left behind by a connector that left", owner)
	}
}

// A replica that missed the bus message (cut off from Redis at the time)
// finds the replacement in the shared record when its old connector speaks.
func TestReplacedConnectorThatMissedTheNewsIsRefusedOnItsNextEvent(t *testing.T) {
	r := newReplicas(t)
	openConv(t, r.store, "c1", "sms", "+15550100")
	stale := &fakeSocket{id: "stale", data: connectorPrincipal{}}
	if ack := register(t, r.a, stale, "sms"); ack.Status != "ok" {
		t.Fatalf("register: %+v", ack)
	}
	if err := r.busA.ClaimConnector(context.Background(), "sms", "replica-c/newer"); err != nil {
		t.Fatal(err)
	}
	var ack Ack
	r.a.handleEvent(context.Background(), stale, EventSendMessage,
		[]json.RawMessage{json.RawMessage(`{"refId":"+15550100","text":"stale"}`)},
		func(args ...any) error { raw, _ := json.Marshal(args[0]); return json.Unmarshal(raw, &ack) })
	if ack.Status != "error" || ack.Error == nil || ack.Error.Code != CodeNotConnector {
		t.Fatalf("stale connector's send acked %+v, want %s", ack, CodeNotConnector)
	}
	if len(stale.events(EventConnectorReplaced)) != 1 {
		t.Errorf("the stale connector was not told connectorReplaced")
	}
}

func TestRegistrationFailsClearlyWhileRedisIsDown(t *testing.T) {
	r := newReplicas(t)
	r.srv.Stop()
	ack := register(t, r.a, &fakeSocket{id: "c", data: connectorPrincipal{}}, "sms")
	if ack.Status != "error" || ack.Error == nil || ack.Error.Code != CodeUnavailable {
		t.Fatalf("register with Redis down acked %+v, want %s", ack, CodeUnavailable)
	}
	r.srv.Restart()
	deadline := time.Now().Add(busWait)
	for {
		ack = register(t, r.a, &fakeSocket{id: "c", data: connectorPrincipal{}}, "sms")
		if ack.Status == "ok" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("register after Redis came back: %+v", ack)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestBusMessagesThatCannotBeReadAreRefused(t *testing.T) {
	tests := []struct {
		name, raw string
	}{
		{"not json", `nope`},
		{"no origin", `{"kind":"deliver"}`},
		{"unknown kind", `{"kind":"shout","origin":"a"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := decodeBusMessage([]byte(tt.raw)); err == nil {
				t.Fatalf("%s decoded", tt.raw)
			}
		})
	}
	if m, err := decodeBusMessage([]byte(`{"kind":"deliver","origin":"a","conversation":"c","room":{"x":1}}`)); err != nil || m.Conversation != "c" {
		t.Fatalf("good message: %+v %v", m, err)
	}
}
