package simulator

import (
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
)

func TestSubscriptionCRUD(t *testing.T) {
	a := newAPI(t, Config{})
	one := a.subscribe("https://proxy.example.com/hook/a", "MESSAGES")
	if !isUUID(one.SubscriptionID) || one.ChannelProviderID != cpid || !slices.Equal(one.EventTypes, []string{"MESSAGES"}) {
		t.Fatalf("created %+v", one)
	}
	var two engagement.Subscription
	a.expect(a.webhook("POST", "/subscriptions", engagement.Subscription{
		ChannelProviderID: "OtherProvider", CallbackURL: "http://localhost:8080/hook", EventTypes: []string{"ALL"},
	}), 201).decode(t, &two)

	var list []engagement.Subscription
	a.expect(a.webhook("GET", "/subscriptions", nil), 200).decode(t, &list)
	if len(list) != 2 {
		t.Fatalf("list %+v", list)
	}
	a.expect(a.webhook("GET", "/subscriptions?channelProviderId=OtherProvider", nil), 200).decode(t, &list)
	if len(list) != 1 || list[0].SubscriptionID != two.SubscriptionID {
		t.Fatalf("filtered list %+v", list)
	}

	var got engagement.Subscription
	a.expect(a.webhook("PUT", "/subscriptions/"+one.SubscriptionID, engagement.Subscription{
		ChannelProviderID: cpid, CallbackURL: "https://[::1]:9/hook", EventTypes: []string{"CC_MESSAGES", "PARTICIPANT_ADDED"},
	}), 200).decode(t, &got)
	if got.SubscriptionID != one.SubscriptionID || len(got.EventTypes) != 2 {
		t.Fatalf("replaced %+v", got)
	}
	a.expect(a.webhook("GET", "/subscriptions/"+one.SubscriptionID, nil), 200).decode(t, &got)
	if got.CallbackURL != "https://[::1]:9/hook" {
		t.Fatalf("get after put %+v", got)
	}
	if r := a.webhook("DELETE", "/subscriptions/"+one.SubscriptionID, nil); r.status != 204 {
		t.Fatalf("delete %d", r.status)
	}
	a.expect(a.webhook("GET", "/subscriptions/"+one.SubscriptionID, nil), 404)
	a.expect(a.webhook("GET", "/subscriptions", nil), 200).decode(t, &list)
	if len(list) != 1 {
		t.Fatalf("list after delete %+v", list)
	}
}

func TestCallbackURLRule(t *testing.T) {
	cases := []struct {
		url string
		ok  bool
	}{
		{"https://proxy.example.com/hook", true},
		{"http://127.0.0.1:8080/hook", true},
		{"http://127.1.2.3/hook", true},
		{"http://[::1]:8080/hook", true},
		{"http://LOCALHOST:8080/hook", true},
		{"http://proxy.example.com/hook", false},
		{"http://10.0.0.1/hook", false},
		{"ftp://127.0.0.1/hook", false},
		{"/relative", false},
		{"https://", false},
	}
	for _, tc := range cases {
		if got := callbackURLOK(tc.url); got != tc.ok {
			t.Errorf("callbackURLOK(%q) = %v, want %v", tc.url, got, tc.ok)
		}
	}
}

func TestEventsReachOnlySubscriptionsThatAskedForThem(t *testing.T) {
	a := newAPI(t, Config{})
	type sub struct {
		name  string
		types []string
		cpid  string
		want  []string // eventType/senderType pairs, sorted
	}
	subs := []sub{
		{"all", []string{"ALL"}, cpid, []string{"ENGAGEMENT_CREATED", "ENGAGEMENT_ERROR", "MESSAGES/AGENT", "MESSAGES/CUSTOMER", "PARTICIPANT_ADDED", "PARTICIPANT_DISCONNECTED"}},
		{"messages", []string{"MESSAGES"}, cpid, []string{"MESSAGES/AGENT", "MESSAGES/CUSTOMER"}},
		{"customer messages", []string{"CUSTOMER_MESSAGES"}, cpid, []string{"MESSAGES/CUSTOMER"}},
		{"cc messages and participants", []string{"CC_MESSAGES", "PARTICIPANT_ADDED", "PARTICIPANT_DISCONNECTED"}, cpid, []string{"MESSAGES/AGENT", "PARTICIPANT_ADDED", "PARTICIPANT_DISCONNECTED"}},
		{"overlapping types deliver once", []string{"MESSAGES", "CC_MESSAGES", "CUSTOMER_MESSAGES"}, cpid, []string{"MESSAGES/AGENT", "MESSAGES/CUSTOMER"}},
		{"errors", []string{"ENGAGEMENT_ERROR"}, cpid, []string{"ENGAGEMENT_ERROR"}},
		{"another provider", []string{"ALL"}, "OtherProvider", nil},
	}
	hooks := make([]*receiver, len(subs))
	for i, s := range subs {
		hooks[i] = newReceiver(t, nil)
		a.expect(a.webhook("POST", "/subscriptions", engagement.Subscription{ChannelProviderID: s.cpid, CallbackURL: hooks[i].URL, EventTypes: s.types}), 201)
	}

	s := a.createSession("john")
	e := a.createEngagement(s.SessionID)
	a.send(e, s.SessionID, "hello")
	path := "/sim/accounts/" + acct + "/engagements/" + e.EngagementID
	a.expect(a.sim("POST", path+":agentJoin", map[string]string{"displayName": "Jane"}), 200)
	a.expect(a.sim("POST", path+":agentMessage", map[string]string{"text": "hi"}), 200)
	a.expect(a.sim("POST", path+":engagementError", map[string]string{"type": "ENGAGEMENT_CREATION_FAILED", "title": "no agent"}), 200)
	a.expect(a.sim("POST", path+":agentLeave", nil), 200)

	// The ALL subscription's sixth event marks the end of the burst for it;
	// every subscription is delivered independently, so each waits for its own count.
	for i, sb := range subs {
		t.Run(sb.name, func(t *testing.T) {
			var got []string
			for range sb.want {
				ev := hooks[i].next(t)
				k := ev.EventType
				if k == "MESSAGES" {
					k += "/" + ev.SenderParticipantType
				}
				got = append(got, k)
			}
			hooks[i].quiet(t, 100*time.Millisecond)
			sort.Strings(got)
			if !slices.Equal(got, sb.want) {
				t.Fatalf("got %v, want %v", got, sb.want)
			}
		})
	}
}

func TestFailedCallbackIsResentAndLaterEventsWaitBehindIt(t *testing.T) {
	// The first two attempts fail with 500; order must still be kept.
	hook := newReceiver(t, func(n int) (int, time.Duration) {
		if n <= 2 {
			return 500, 0
		}
		return 200, 0
	})
	a := newAPI(t, Config{RedeliveryDelay: 10 * time.Millisecond})
	a.subscribe(hook.URL, "CUSTOMER_MESSAGES")
	s := a.createSession("john")
	e := a.createEngagement(s.SessionID)
	var sent []string
	for _, text := range []string{"one", "two", "three"} {
		sent = append(sent, a.send(e, s.SessionID, text).MessageID)
	}
	for i, id := range sent {
		ev := hook.next(t)
		if ev.MessageID != id || ev.MessageIndex != i+1 {
			t.Fatalf("event %d: message %s index %d, want %s index %d", i, ev.MessageID, ev.MessageIndex, id, i+1)
		}
	}
	waitStats(t, a.srv.Sim, func(st DeliveryStats) bool { return st.Failed == 2 && st.Delivered == 3 && st.Dropped == 0 })
}

func TestSlowCallbackCountsAsFailedAndIsResent(t *testing.T) {
	hook := newReceiver(t, func(n int) (int, time.Duration) {
		if n == 1 {
			return 200, 300 * time.Millisecond // answered after the simulator gave up
		}
		return 200, 0
	})
	a := newAPI(t, Config{CallbackTimeout: 50 * time.Millisecond, RedeliveryDelay: 10 * time.Millisecond})
	a.subscribe(hook.URL, "ENGAGEMENT_CREATED")
	s := a.createSession("john")
	e := a.createEngagement(s.SessionID)

	// The slow first attempt is accepted by the receiver too (at-least-once):
	// the event arrives twice, and the simulator counts one failure.
	first, second := hook.next(t), hook.next(t)
	for _, ev := range []received{first, second} {
		if ev.EventType != "ENGAGEMENT_CREATED" || ev.DialogID != e.Dialogs[0].DialogID {
			t.Fatalf("event %s", ev.raw)
		}
	}
	waitStats(t, a.srv.Sim, func(st DeliveryStats) bool { return st.Failed == 1 && st.Delivered == 1 })
}

func TestEventIsDroppedAfterMaxDeliveryAttempts(t *testing.T) {
	hook := newReceiver(t, func(n int) (int, time.Duration) {
		if n <= 3 {
			return 503, 0
		}
		return 200, 0
	})
	a := newAPI(t, Config{RedeliveryDelay: time.Millisecond, MaxDeliveryAttempts: 3})
	a.subscribe(hook.URL, "MESSAGES")
	s := a.createSession("john")
	e := a.createEngagement(s.SessionID)
	a.send(e, s.SessionID, "lost")
	kept := a.send(e, s.SessionID, "kept")
	if ev := hook.next(t); ev.MessageID != kept.MessageID {
		t.Fatalf("got %s, want the second message", ev.raw)
	}
	waitStats(t, a.srv.Sim, func(st DeliveryStats) bool { return st.Dropped == 1 && st.Failed == 3 && st.Delivered == 1 })
}

func TestMessagesEventHasTheReferenceShape(t *testing.T) {
	hook := newReceiver(t, nil)
	a := newAPI(t, Config{})
	a.subscribe(hook.URL, "MESSAGES")
	s := a.createSession("john")
	e := a.createEngagement(s.SessionID)
	m := a.send(e, s.SessionID, "I need some help")
	ev := hook.next(t)
	var h engagement.EventHeader
	var msg engagement.Message
	ev.decodeInto(t, &h, &msg)
	if h.EventType != "MESSAGES" || h.EventDate.IsZero() || h.CorrelationID != m.CorrelationID || h.CorrelationID == "" {
		t.Fatalf("header %+v", h)
	}
	if msg.MessageID != m.MessageID || msg.SessionID != s.SessionID || msg.ChannelProviderID != cpid || msg.ChannelID != "Chat" ||
		msg.SenderParticipantID != s.ParticipantID || msg.SenderParticipantType != "CUSTOMER" || msg.Text() != "I need some help" ||
		msg.Body.ElementText.TextFormat != "PLAINTEXT" || msg.MessageIndex != 1 || msg.Status != "SENT" ||
		msg.AccountID != acct || msg.EngagementID != e.EngagementID || msg.DialogID != e.Dialogs[0].DialogID ||
		msg.ReceivedAt == nil || msg.LastUpdatedAt == nil || len(msg.RecipientParticipants) != 0 {
		t.Fatalf("message %+v", msg)
	}

	// A contact-center message carries the same dialog identity, and the
	// customer as its recipient.
	a.expect(a.sim("POST", "/sim/accounts/"+acct+"/engagements/"+e.EngagementID+":agentMessage", map[string]string{
		"text": "hello", "participantType": "BOT"}), 200)
	var bot engagement.Message
	hook.next(t).decodeInto(t, &bot)
	if bot.SenderParticipantType != "BOT" || bot.SenderParticipantName != "Bot" || bot.MessageIndex != 2 || bot.Status != "SENT" ||
		bot.AccountID != acct || bot.EngagementID != e.EngagementID || bot.DialogID != e.Dialogs[0].DialogID ||
		bot.SessionID != s.SessionID || bot.ChannelProviderID != cpid || bot.ChannelID != "Chat" || bot.MessageID == "" ||
		bot.ReceivedAt == nil || len(bot.RecipientParticipants) != 1 || bot.RecipientParticipants[0].ParticipantID != s.ParticipantID {
		t.Fatalf("contact-center message %+v", bot)
	}
}
