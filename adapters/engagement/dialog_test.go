package engagement_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/simulator"
)

// startReceiver serves a Receiver on loopback TCP and returns its callback
// URL and the events its sink is handed.
func startReceiver(t *testing.T) (string, <-chan *engagement.Event) {
	t.Helper()
	events := make(chan *engagement.Event, 64)
	tok, err := engagement.NewWebhookToken()
	if err != nil {
		t.Fatal(err)
	}
	r := engagement.NewReceiver(engagement.SinkFunc(func(ctx context.Context, ev *engagement.Event) error {
		select {
		case events <- ev:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}), engagement.ReceiverOptions{Token: tok})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: r.Handler, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return "http://" + ln.Addr().String() + r.Path(), events
}

// waitEvent returns the first event matching want, failing after 5 s.
func waitEvent(t *testing.T, events <-chan *engagement.Event, what string, want func(*engagement.Event) bool) *engagement.Event {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev := <-events:
			if want(ev) {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s within 5 s", what)
			return nil
		}
	}
}

func TestWholeDialogThroughTheSimulatorsAgentSide(t *testing.T) {
	sim := startSim(t)
	c := newClient(t, sim, nil)
	ctx := context.Background()
	callback, events := startReceiver(t)
	if _, err := c.EnsureSubscription(ctx, provider, callback, []string{engagement.SubscribeAll}); err != nil {
		t.Fatal(err)
	}

	s := newSession(t, c, "john@example.com")
	e, err := c.CreateEngagement(ctx, &engagement.CreateEngagement{SessionID: s.SessionID, ChannelID: engagement.ChannelChat, Conversation: "sell car"})
	if err != nil {
		t.Fatal(err)
	}
	dialog := e.Dialogs[0].DialogID
	inDialog := func(ev *engagement.Event) bool { return ev.DialogID() == dialog }

	if _, err := c.SendMessage(ctx, e.EngagementID, textMessage(s, dialog, "I need some help to sell my car")); err != nil {
		t.Fatal(err)
	}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	_, err = sim.Sim.AgentJoin(acct, e.EngagementID, simulator.AgentJoin{DisplayName: "Joan Doe"})
	must("agent join", err)
	added := waitEvent(t, events, "PARTICIPANT_ADDED for the agent", func(ev *engagement.Event) bool {
		return inDialog(ev) && ev.EventType == engagement.EventParticipantAdded && ev.Participant.ParticipantType == engagement.ParticipantAgent
	})
	if added.Participant.DisplayName != "Joan Doe" {
		t.Fatalf("PARTICIPANT_ADDED = %+v", added.Participant)
	}

	_, err = sim.Sim.AgentMessage(acct, e.EngagementID, simulator.AgentMessage{Text: "Sure. How long have you had it?"})
	must("agent message", err)
	msg := waitEvent(t, events, "the agent's MESSAGES", func(ev *engagement.Event) bool {
		return inDialog(ev) && ev.Message != nil && ev.Message.SenderParticipantType == engagement.ParticipantAgent
	})
	if msg.Message.Text() != "Sure. How long have you had it?" || msg.Message.SessionID != s.SessionID || msg.Message.MessageIndex != 2 {
		t.Fatalf("agent message = %+v", msg.Message)
	}

	// Three more, so that five messages fill three pages of two.
	if _, err := c.SendMessage(ctx, e.EngagementID, textMessage(s, dialog, "Two years")); err != nil {
		t.Fatal(err)
	}
	_, err = sim.Sim.AgentMessage(acct, e.EngagementID, simulator.AgentMessage{Text: "Thanks"})
	must("agent message", err)
	if _, err := c.SendMessage(ctx, e.EngagementID, textMessage(s, dialog, "Bye")); err != nil {
		t.Fatal(err)
	}

	_, err = sim.Sim.AgentLeave(acct, e.EngagementID, simulator.AgentLeave{})
	must("agent leave", err)
	left := waitEvent(t, events, "PARTICIPANT_DISCONNECTED", func(ev *engagement.Event) bool {
		return inDialog(ev) && ev.EventType == engagement.EventParticipantDisconnected
	})
	if left.Participant.ParticipantType != engagement.ParticipantAgent {
		t.Fatalf("PARTICIPANT_DISCONNECTED = %+v", left.Participant)
	}

	wantTexts := []string{"I need some help to sell my car", "Sure. How long have you had it?", "Two years", "Thanks", "Bye"}
	var texts []string
	for page, wantLen := range []int{2, 2, 1} {
		p, err := c.ListMessages(ctx, e.EngagementID, engagement.ListMessagesQuery{SessionID: s.SessionID, DialogID: dialog, PageSize: 2, PageNumber: page + 1})
		if err != nil {
			t.Fatalf("page %d: %v", page+1, err)
		}
		if len(p.Messages) != wantLen || p.Pagination.Total != 5 || p.Pagination.PageNumber != page+1 {
			t.Fatalf("page %d = %d messages, pagination %+v", page+1, len(p.Messages), p.Pagination)
		}
		if (p.Links.Next == "") != (page == 2) || (p.Links.Prev == "") != (page == 0) {
			t.Fatalf("page %d links = %+v", page+1, p.Links)
		}
		for _, m := range p.Messages {
			if m.MessageIndex != len(texts)+1 {
				t.Fatalf("message %q has index %d, want %d", m.Text(), m.MessageIndex, len(texts)+1)
			}
			texts = append(texts, m.Text())
		}
	}
	if len(texts) != len(wantTexts) {
		t.Fatalf("listed %v", texts)
	}
	for i := range texts {
		if texts[i] != wantTexts[i] {
			t.Fatalf("listed %v, want %v", texts, wantTexts)
		}
	}
	var all []string
	for m, err := range c.AllMessages(ctx, e.EngagementID, s.SessionID, dialog) {
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, m.Text())
	}
	if len(all) != 5 || all[4] != "Bye" {
		t.Fatalf("AllMessages() = %v", all)
	}
}
