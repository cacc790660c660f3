package legacyv1

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/mapping"
	"github.com/connector-proxy/connector-proxy/simulator"
)

// AXP re-sending an event (a slow 200 makes it do so) leaves one
// notification and one webhook POST.
func TestAResentEventIsOneNotificationAndOneWebhook(t *testing.T) {
	h := startHarness(t, nil)
	tok := h.mustToken()
	h.register(tok, "/cc", "CC_MESSAGES")
	sid, _ := h.newSession(tok)
	e := h.newEngagement(tok, sid, "")
	if _, err := h.sim.Sim.AgentJoin(hAccount, e.EngagementID, simulator.AgentJoin{DisplayName: "Joan"}); err != nil {
		t.Fatal(err)
	}
	h.fault(map[string]any{"webhook": "duplicate", "eventType": "MESSAGES", "count": 1})
	for _, text := range []string{"first", "second"} {
		if _, err := h.sim.Sim.AgentMessage(hAccount, e.EngagementID, simulator.AgentMessage{Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"first", "second"} {
		got := h.hook("MESSAGES")
		if text := got["body"].(map[string]any)["elementText"].(map[string]any)["text"]; text != want {
			t.Fatalf("webhook %q, want %q: a re-sent event was delivered again", text, want)
		}
	}
	h.until("the duplicate was received", func() bool { return h.sim.Sim.DeliveryStats().Delivered >= 4 })
	var messages int
	for _, n := range h.notes(tok, e.EngagementID) {
		if n["eventType"] == "MESSAGES" {
			messages++
		}
	}
	if messages != 2 {
		t.Fatalf("%d MESSAGES notifications, want 2", messages)
	}
}

// Deliveries follow the registrations: a callback that fails is retried
// with backoff, one that answers 410 is given up, and deleting a
// registration drops what was still queued for it.
func TestWebhookDeliveryRetriesGivesUpAndStops(t *testing.T) {
	h := startHarness(t, nil)
	tok := h.mustToken()
	w := h.register(tok, "/one", "MESSAGES")
	sid, _ := h.newSession(tok)
	e := h.newEngagement(tok, sid, "")
	if _, err := h.sim.Sim.AgentJoin(hAccount, e.EngagementID, simulator.AgentJoin{}); err != nil {
		t.Fatal(err)
	}
	say := func(text string) {
		t.Helper()
		if _, err := h.sim.Sim.AgentMessage(hAccount, e.EngagementID, simulator.AgentMessage{Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	text := func(v map[string]any) any { return v["body"].(map[string]any)["elementText"].(map[string]any)["text"] }
	queued := func() int {
		n, err := h.store.Depth(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	// Failing: kept, and delivered once the callback is back.
	h.hookStatus.Store(http.StatusInternalServerError)
	say("retried")
	h.until("the delivery failed once", func() bool {
		it, err := h.store.Head(context.Background(), h.conversation(e.DialogID).ID)
		return err == nil && it != nil && it.Attempts > 0
	})
	h.hookStatus.Store(0)
	if got := h.hook("MESSAGES"); text(got) != "retried" {
		t.Fatalf("webhook %v", got)
	}

	// 410 Gone: dropped at once, and the queue goes on.
	h.hookStatus.Store(http.StatusGone)
	say("gone")
	h.until("the 410 was given up", func() bool { return queued() == 0 })
	h.hookStatus.Store(0)
	say("after the 410")
	if got := h.hook("MESSAGES"); text(got) != "after the 410" {
		t.Fatalf("webhook %v, want the message after the one given up", got)
	}

	// Deleted while its delivery waits: dropped, never sent.
	h.hookStatus.Store(http.StatusServiceUnavailable)
	say("deleted")
	h.until("the delivery waits", func() bool { return queued() == 1 })
	if r := h.call("DELETE", "/api/digital/v1/channel-providers/"+hProvider+"/webhooks/"+w.WebhookID, tok, ""); r.status != 200 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	// An attempt under way as it was deleted still meets the 503; the
	// next one finds no registration.
	h.until("the deleted one is dropped", func() bool { return queued() == 0 })
	h.hookStatus.Store(0)
	h.register(tok, "/two", "MESSAGES")
	say("to the new one")
	got := h.hook("MESSAGES")
	if text(got) != "to the new one" || got["@path"] != "/two" {
		t.Fatalf("webhook %v, want the message after the deletion, at /two", got)
	}
	h.until("the outbox is empty", func() bool { return queued() == 0 })
	select {
	case v := <-h.hooks:
		t.Fatalf("a webhook after the last: %v", v)
	default:
	}
}

// A registration made on another replica applies here within a refresh,
// and its deletion too.
func TestRegistrationsOfAnotherReplicaApplyHere(t *testing.T) {
	h := startHarness(t, func(c *Config) { c.WebhookRefresh = 20 * time.Millisecond })
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); h.face.WatchWebhooks(ctx) }()
	t.Cleanup(func() { stop(); <-done })

	other, err := newFace(h.face.cfg, h.backend, h.store)
	if err != nil {
		t.Fatal(err)
	}
	w := &Webhook{WebhookID: "w-other", ChannelProviderID: hProvider,
		Subscriptions: []WebhookRegistration{{CallbackURL: "https://hooks.example/legacy", EventTypes: []string{"ALL"}}}}
	if err := other.putWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	h.until("the registration applies here", func() bool { return h.face.hooks.has("https://hooks.example/legacy") })
	if err := other.dropWebhook(ctx, hProvider, "w-other"); err != nil {
		t.Fatal(err)
	}
	h.until("the deletion applies here", func() bool { return !h.face.hooks.has("https://hooks.example/legacy") })
}

// A channel provider holds MaxWebhooks registrations; one more is refused
// with 409 and nothing is kept.
func TestWebhookRegistrationsAreBounded(t *testing.T) {
	h := startHarness(t, func(c *Config) { c.MaxWebhooks = 2 })
	tok := h.mustToken()
	h.register(tok, "/a", "ALL")
	h.register(tok, "/b", "ALL")
	r := h.call("POST", "/api/digital/v1/channel-providers/"+hProvider+"/webhooks", tok, `[{"callbackUrl":"https://c.example/h","eventTypes":["ALL"]}]`)
	if r.status != 409 || r.legacyError(t).Status != 409 {
		t.Fatalf("third registration: %d %s", r.status, r.body)
	}
	if n := h.webhookCount(); n != 2 {
		t.Fatalf("%d registrations kept, want 2", n)
	}
}

// The conversation closes when the session that made it disconnects (the
// flow test), when it is terminated, and when AXP ends the dialog (here an
// agent leaving, which the face checks with AXP).
func TestConversationsCloseWithTheirDialog(t *testing.T) {
	h := startHarness(t, nil)
	tok := h.mustToken()
	sid, _ := h.newSession(tok)
	ended := h.newEngagement(tok, sid, `,"providerDialogId":"ended-by-agent"`)
	if _, err := h.sim.Sim.AgentJoin(hAccount, ended.EngagementID, simulator.AgentJoin{DialogID: ended.DialogID}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.sim.Sim.AgentLeave(hAccount, ended.EngagementID, simulator.AgentLeave{DialogID: ended.DialogID}); err != nil {
		t.Fatal(err)
	}
	var c *mapping.Conversation
	h.until("AXP's end of the dialog closes its conversation", func() bool { c = h.conversation(ended.DialogID); return !c.Open() })
	if c.CloseReason != closedByAXP {
		t.Fatalf("closed for %q, want %q", c.CloseReason, closedByAXP)
	}

	open := h.newEngagement(tok, sid, `,"providerDialogId":"open-at-terminate"`)
	if r := h.call("POST", "/api/digital/v1/sessions/"+sid+":terminate", tok, ""); r.status != 200 {
		t.Fatalf("terminate: %d %s", r.status, r.body)
	}
	// Closed before the answer, by the terminate or by AXP's
	// PARTICIPANT_DISCONNECTED for the customer, whichever came first.
	if c := h.conversation(open.DialogID); c.Open() || (c.CloseReason != closedBySession && c.CloseReason != closedByCustomer) {
		t.Fatalf("after terminate: %+v", c)
	}
	if c := h.conversation(ended.DialogID); c.CloseReason != closedByAXP {
		t.Fatalf("terminate changed a closed conversation: %+v", c)
	}
}

// The notifications of an engagement the client did not make are not its.
func TestNotificationsOfAnotherEngagementAreNotFound(t *testing.T) {
	h := startHarness(t, nil)
	tok := h.mustToken()
	ctx := context.Background()
	s, err := h.backend.Client.CreateSession(ctx, &engagement.CreateSession{ChannelProviderID: hProvider,
		CustomerIdentifiers: engagement.CustomerIdentifiers{"emailAddresses": {"x@example.com"}}, DisplayName: "X"})
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := h.backend.Client.CreateEngagement(ctx, &engagement.CreateEngagement{SessionID: s.SessionID, ChannelID: engagement.ChannelChat})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"6f1c2f1e-0000-4000-8000-000000000000", theirs.EngagementID} {
		if r := h.call("GET", "/api/digital/v1/engagements/"+id+"/notifications", tok, ""); r.status != 404 || r.legacyError(t).Status != 404 {
			t.Fatalf("notifications of %s: %d %s", id, r.status, r.body)
		}
	}
	sid, _ := h.newSession(tok)
	e := h.newEngagement(tok, sid, "")
	if got := h.notes(tok, e.EngagementID); len(got) != 0 {
		t.Fatalf("a new engagement's notifications: %v", got)
	}
}
