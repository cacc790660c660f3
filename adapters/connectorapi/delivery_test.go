package connectorapi

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/connector-proxy/connector-proxy/auth"
	"github.com/connector-proxy/connector-proxy/mapping"
	"github.com/connector-proxy/connector-proxy/pipeline"
)

// agentTalks makes the simulator's agent join and say n numbered messages.
func (s *stack) agentTalks(conv string, n int) {
	s.t.Helper()
	eng := s.engagementOf(conv)
	s.simPost("/sim/accounts/"+axpAccount+"/engagements/"+eng+":agentJoin", `{"displayName":"Agent"}`)
	for i := range n {
		s.simPost("/sim/accounts/"+axpAccount+"/engagements/"+eng+":agentMessage", fmt.Sprintf(`{"text":"m%d"}`, i))
	}
}

// messagesOf returns the agent message texts a conversation received, in
// arrival order, checking every signature.
func messagesOf(t *testing.T, got []hookRequest, conv, secret string) []string {
	t.Helper()
	var out []string
	for _, r := range got {
		n := decodeNotif(t, r)
		if ch := n.Body.Changes[0]; n.Type == "ms.MessagingEventNotification" && ch.ConversationID == conv {
			if !auth.VerifyWebhook(secret, r.Body, r.Signature) {
				t.Fatalf("bad signature on %s", r.Body)
			}
			out = append(out, ch.Event.Message)
		}
	}
	return out
}

// inOrderAtLeastOnce checks that every mN arrived and that, duplicates
// aside, they arrived in order.
func inOrderAtLeastOnce(t *testing.T, got []string, n int) {
	t.Helper()
	next := 0
	for _, m := range got {
		switch m {
		case fmt.Sprintf("m%d", next):
			next++
		case fmt.Sprintf("m%d", next-1): // a re-delivery of the last one
		default:
			t.Fatalf("out of order: got %s while waiting for m%d (all: %v)", m, next, got)
		}
	}
	if next != n {
		t.Fatalf("received %d of %d messages in order: %v", next, n, got)
	}
}

// heads returns the head of every outbox queue, due or not.
func (s *stack) heads() []*mapping.OutboxItem {
	s.t.Helper()
	var out []*mapping.OutboxItem
	for shard := range mapping.Shards {
		hs, err := s.store.Due(s.ctx, shard, time.Unix(1<<32, 0), 1000)
		if err != nil {
			s.t.Fatal(err)
		}
		out = append(out, hs...)
	}
	return out
}

func (s *stack) waitDepth(pred func(int) bool, what string) {
	s.t.Helper()
	deadline := time.Now().Add(waitFor)
	for time.Now().Before(deadline) {
		if d, err := s.store.Depth(s.ctx); err == nil && pred(d) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	d, _ := s.store.Depth(s.ctx)
	s.t.Fatalf("timed out waiting for %s (depth %d)", what, d)
}

func TestDeliveryReceiverDownThenUpDeliversEverythingInOrder(t *testing.T) {
	s := newStack(t, stackOpts{})
	s.hooks.setStatus(503)
	const n = 5
	var convs []string
	for i := range 2 {
		c := s.newConsumer(fmt.Sprintf("down-%d", i))
		conv := s.openConversation(c)
		convs = append(convs, conv)
		s.agentTalks(conv, n)
	}
	// Every notification is queued (join + n messages per conversation) and
	// the heads have failed at least once.
	s.waitDepth(func(d int) bool { return d >= 2*(n+1) }, "all notifications queued")
	deadline := time.Now().Add(waitFor)
	for {
		heads := s.heads()
		failed := 0
		for _, h := range heads {
			if h.Attempts > 0 {
				failed++
			}
		}
		if failed == len(convs) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("heads did not fail: %d of %d", failed, len(convs))
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.clock.Advance(time.Minute) // still failing across a few backoffs
	time.Sleep(50 * time.Millisecond)
	s.hooks.setStatus(200)
	for range 10 { // the longest backoff a handful of failures reach
		s.clock.Advance(5 * time.Minute)
	}
	got := s.hooks.waitHooks(t, "every message of both conversations", func(got []hookRequest) bool {
		for _, conv := range convs {
			if len(messagesOf(t, got, conv, appSecret)) < n {
				return false
			}
		}
		return true
	})
	for _, conv := range convs {
		inOrderAtLeastOnce(t, messagesOf(t, got, conv, appSecret), n)
	}
	s.waitDepth(func(d int) bool { return d == 0 }, "the outbox to empty")
}

func TestDeliveryPendingNotificationsSurviveARestart(t *testing.T) {
	key := genKey(t)
	first := newStack(t, stackOpts{key: key})
	first.hooks.setStatus(503)
	c := first.newConsumer("restart")
	conv := first.openConversation(c)
	const n = 3
	first.agentTalks(conv, n)
	first.waitDepth(func(d int) bool { return d >= n+1 }, "notifications queued")
	first.stop() // the process goes away with notifications pending

	first.hooks.setStatus(200)
	second := newStack(t, stackOpts{key: key, dbPath: first.dbPath, hooks: first.hooks, sim: first.sim})
	second.clock.Advance(10 * time.Minute) // past any backoff the first process set
	got := second.hooks.waitHooks(t, "the pending messages after the restart", func(got []hookRequest) bool {
		return len(messagesOf(t, got, conv, appSecret)) >= n
	})
	inOrderAtLeastOnce(t, messagesOf(t, got, conv, appSecret), n)

	// The restarted proxy still knows the conversation: the consumer goes on.
	if seq := second.sendText(c, conv, "after restart"); seq != n {
		t.Fatalf("sequence after %d agent messages and one consumer message: %d", n, seq)
	}
}

func TestDeliveryDropsNotificationsPastRetention(t *testing.T) {
	s := newStack(t, stackOpts{retention: 10 * time.Second})
	s.hooks.setStatus(503)
	c := s.newConsumer("expire")
	conv := s.openConversation(c)
	s.agentTalks(conv, 2)
	s.waitDepth(func(d int) bool { return d >= 3 }, "notifications queued")
	s.clock.Advance(time.Minute)
	s.waitDepth(func(d int) bool { return d == 0 }, "expired notifications dropped")
	s.hooks.setStatus(200)
	if got := s.hooks.requests(); len(got) != 0 {
		t.Fatalf("%d expired notifications were delivered", len(got))
	}
}

func TestDeliveryFailingEndpointDelaysOnlyItsOwnConversations(t *testing.T) {
	bad := startHooks(t)
	bad.setStatus(500)
	s := newStack(t, stackOpts{apps: func(good string) []auth.App {
		apps := defaultApps(good)
		own := map[string]string{} // app-a points at the failing endpoint
		for k := range apps[0].Webhooks {
			own[k] = bad.URL + "/" + k
		}
		apps[0].Webhooks = own
		return apps
	}})
	stuck := s.openConversation(s.newConsumer("a-user"))
	appB := s.appJWT(lpAccount, "app-b", "secret-b")
	b := consumer{account: lpAccount, app: appB, jws: s.consumerJWS(lpAccount, appB, "b-user")}
	fine := s.openConversation(b)
	s.agentTalks(stuck, 3)
	s.agentTalks(fine, 3)
	got := s.hooks.waitHooks(t, "app-b's messages", func(got []hookRequest) bool {
		return len(messagesOf(t, got, fine, "secret-b")) >= 3
	})
	inOrderAtLeastOnce(t, messagesOf(t, got, fine, "secret-b"), 3)
	if m := messagesOf(t, got, stuck, appSecret); len(m) != 0 {
		t.Fatalf("app-a's messages reached app-b's endpoint: %v", m)
	}
	// The last delivered item is removed just after its POST was answered.
	deadline := time.Now().Add(waitFor)
	for {
		heads := s.heads()
		if len(heads) == 1 && heads[0].Queue == stuck {
			break
		}
		if time.Now().After(deadline) {
			queues := make([]string, 0, len(heads))
			for _, h := range heads {
				queues = append(queues, h.Queue)
			}
			t.Fatalf("outbox heads of %v, want only the failing conversation %s", queues, stuck)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Success is the status code: a receiver that answers 200 with a 100 KiB
// body (more than the 64 KiB a webhook answer was once read up to) has
// taken the notification, which leaves the outbox, is counted delivered
// and is not sent again.
func TestDeliveryA200WithALargeBodyCountsAsDelivered(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := newStack(t, stackOpts{metrics: pipeline.NewMetrics(reg)})
	s.hooks.setAnswer(bytes.Repeat([]byte("x"), 100<<10))
	const n = 3
	conv := s.openConversation(s.newConsumer("large-answer"))
	s.agentTalks(conv, n)
	s.hooks.waitHooks(t, "the agent's messages", func(got []hookRequest) bool { return len(messagesOf(t, got, conv, appSecret)) == n })
	s.waitDepth(func(d int) bool { return d == 0 }, "the outbox to empty")
	items := s.hooks.requests()
	if got := messagesOf(t, items, conv, appSecret); fmt.Sprint(got) != "[m0 m1 m2]" {
		t.Fatalf("messages %v, want each once, in order", got)
	}
	// Everything queued (the join, the messages, whatever else the
	// conversation made) was delivered at the first attempt. An item is
	// counted once its removal is committed, just after the outbox empties.
	deadline := time.Now().Add(waitFor)
	for {
		counts := outboxItemCounts(t, reg)
		if counts["queued"] == float64(len(items)) && counts["delivered"] == counts["queued"] && counts["failed"] == 0 && counts["dropped"] == 0 {
			return
		}
		if time.Now().After(deadline) || counts["failed"] != 0 || counts["dropped"] != 0 || counts["delivered"] > counts["queued"] {
			t.Fatalf("outbox items %v for %d notifications received; want each delivered once, none failed", counts, len(items))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// outboxItemCounts sums connector_proxy_outbox_items_total by result.
func outboxItemCounts(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	counts := map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "connector_proxy_outbox_items_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" {
					counts[l.GetValue()] += m.GetCounter().GetValue()
				}
			}
		}
	}
	return counts
}
