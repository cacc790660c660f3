package customerchannel

import (
	"context"
	"encoding/json"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/internal/redistest"
	"github.com/connector-proxy/connector-proxy/mapping"
	"github.com/connector-proxy/connector-proxy/simulator"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// With the proxy's own subscription (the contact center's messages only:
// the customer's come back as no event), the record holds the whole
// conversation: a rejoin, the PDF and the email transcript ask AXP for no
// message list, and show what AXP's list would, whispers left out.
func TestRejoinAndTranscriptMakeNoAXPListCallWhenTheRecordIsComplete(t *testing.T) {
	r := newRigSubscribed(t, nil, proxyEvents())
	res, c := r.chat(t, "Rhea", "rhea@example.com")
	conv := res.ConversationID
	say(t, c, res, "Hello, my order has not arrived")
	r.agent(t, conv, "agentJoin", simulator.AgentJoin{DisplayName: "Agent Alma"})
	c.waitFor(t, EventMessageArrived, activity(ActivityParticipantJoined))
	r.agent(t, conv, "agentMessage", simulator.AgentMessage{Text: "Sorry to hear it: which order?"})
	c.waitFor(t, EventMessageArrived, chatText("Sorry to hear it: which order?"))
	say(t, c, res, "Order 4711")
	r.agent(t, conv, "agentMessage", simulator.AgentMessage{Text: "note: courier lost it", CustomData: engagement.Parameters{"whisper": "true"}})
	r.agent(t, conv, "agentMessage", simulator.AgentMessage{Text: "It ships again today."})
	// Events come in order: once this one is here, the whisper was applied.
	c.waitFor(t, EventMessageArrived, chatText("It ships again today."))

	lists := r.calls(t)["ListMessages"]
	if lists != 0 {
		t.Fatalf("%d ListMessages calls before any rejoin, want none", lists)
	}
	info := r.rejoin(t, res)
	if got := r.calls(t)["ListMessages"]; got != lists {
		t.Fatalf("the rejoin made %d ListMessages calls, want none", got-lists)
	}
	want := r.fromAXP(t, conv) // lists at AXP itself, to compare
	if len(want) != 4 {
		t.Fatalf("AXP holds %d messages besides the whisper, want 4", len(want))
	}
	if !reflect.DeepEqual(info.Messages, want) {
		t.Fatalf("conversationInfo from the record:\n%s\nwant what AXP's list gives:\n%s", jsonOf(info.Messages), jsonOf(want))
	}
	if !hasParticipant(info.Participant, "Agent Alma") {
		t.Errorf("conversationInfo participants %+v lack the agent", info.Participant)
	}

	r.agent(t, conv, "agentLeave", nil)
	c.waitFor(t, EventMessageArrived, activity(ActivityEndOfConversation))
	lists = r.calls(t)["ListMessages"]
	text := strings.Join(strings.Fields(pdfText(t, r.transcript(t, res, "pdf"))), " ")
	for _, m := range want {
		if !strings.Contains(text, m.Text) {
			t.Errorf("the PDF lacks %q:\n%s", m.Text, text)
		}
	}
	if strings.Contains(text, "courier lost it") {
		t.Errorf("the PDF shows the whisper:\n%s", text)
	}
	r.transcript(t, res, "email")
	select {
	case m := <-r.smtp.ch:
		if mailed := strings.Join(strings.Fields(pdfText(t, attachedPDF(t, m.Data))), " "); !strings.Contains(mailed, "Order 4711") {
			t.Errorf("the mailed PDF lacks the customer's message:\n%s", mailed)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no mail reached the SMTP sink")
	}
	if got := r.calls(t)["ListMessages"]; got != lists {
		t.Fatalf("the transcripts made %d ListMessages calls, want none", got-lists)
	}
	m := r.face.m.HistoryReads
	if n := testutil.ToFloat64(m.WithLabelValues(useTranscript, sourceRecord)); n != 2 {
		t.Errorf("transcripts read from the record: %v, want 2", n)
	}
	if n := testutil.ToFloat64(m.WithLabelValues(useConversationInfo, sourceAXP)) + testutil.ToFloat64(m.WithLabelValues(useTranscript, sourceAXP)); n != 0 {
		t.Errorf("reads from AXP: %v, want none", n)
	}
}

// Where the record cannot be trusted (a conversation begun before the
// proxy kept one; a message whose event AXP never delivered), the rejoin
// and the transcript list at AXP, and miss nothing.
func TestIncompleteRecordFallsBackToAXPsList(t *testing.T) {
	tests := []struct {
		name string
		// spoil runs after one exchange; what it loses must still show.
		spoil func(t *testing.T, r *rig, res InitResponse, c *sioClient)
		lost  string
	}{
		{"a conversation from before the record", func(t *testing.T, r *rig, res InitResponse, _ *sioClient) {
			if _, err := mapping.Update(context.Background(), r.store, res.ConversationID, func(c *mapping.Conversation) ([]*mapping.OutboxItem, error) {
				delete(c.Attrs, attrRecord)
				return nil, nil
			}); err != nil {
				t.Fatal(err)
			}
		}, ""},
		{"a message whose event was dropped", func(t *testing.T, r *rig, res InitResponse, c *sioClient) {
			r.fault(t, simulator.Fault{Webhook: simulator.WebhookDrop, EventType: engagement.EventMessages, Count: 1})
			r.agent(t, res.ConversationID, "agentMessage", simulator.AgentMessage{Text: "lost on the way"})
			// The customer's next message is recorded after the gap.
			say(t, c, res, "are you there?")
		}, "lost on the way"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRigSubscribed(t, nil, proxyEvents())
			res, c := r.chat(t, "Fay", "fay@example.com")
			say(t, c, res, "first question")
			r.agent(t, res.ConversationID, "agentJoin", simulator.AgentJoin{DisplayName: "Agent Bo"})
			r.agent(t, res.ConversationID, "agentMessage", simulator.AgentMessage{Text: "first answer"})
			c.waitFor(t, EventMessageArrived, chatText("first answer"))
			tt.spoil(t, r, res, c)

			lists := r.calls(t)["ListMessages"]
			info := r.rejoin(t, res)
			if got := r.calls(t)["ListMessages"]; got == lists {
				t.Fatal("the rejoin made no ListMessages call")
			}
			want := r.fromAXP(t, res.ConversationID)
			if !reflect.DeepEqual(info.Messages, want) {
				t.Fatalf("conversationInfo:\n%s\nwant AXP's:\n%s", jsonOf(info.Messages), jsonOf(want))
			}
			if tt.lost != "" && !strings.Contains(jsonOf(info.Messages), tt.lost) {
				t.Fatalf("conversationInfo lacks %q", tt.lost)
			}

			r.agent(t, res.ConversationID, "agentLeave", nil)
			c.waitFor(t, EventMessageArrived, activity(ActivityEndOfConversation))
			lists = r.calls(t)["ListMessages"]
			text := strings.Join(strings.Fields(pdfText(t, r.transcript(t, res, "pdf"))), " ")
			if got := r.calls(t)["ListMessages"]; got == lists {
				t.Fatal("the transcript made no ListMessages call")
			}
			for _, m := range want {
				if !strings.Contains(text, m.Text) {
					t.Errorf("the PDF lacks %q:\n%s", m.Text, text)
				}
			}
		})
	}
}

// AXP delivers at least once: an agent's message sent twice is recorded
// once, since its record is written in the commit that applies its event.
func TestResentEventLeavesOneRecord(t *testing.T) {
	r := newRigSubscribed(t, nil, proxyEvents())
	res, c := r.chat(t, "Dora", "dora@example.com")
	r.agent(t, res.ConversationID, "agentJoin", simulator.AgentJoin{DisplayName: "Agent Cy"})
	c.waitFor(t, EventMessageArrived, activity(ActivityParticipantJoined))
	waitDelivered(t, r, 1)
	before := r.sim.Sim.DeliveryStats().Delivered
	r.fault(t, simulator.Fault{Webhook: simulator.WebhookDuplicate, EventType: engagement.EventMessages, Count: 1})
	r.agent(t, res.ConversationID, "agentMessage", simulator.AgentMessage{Text: "said once"})
	r.agent(t, res.ConversationID, "agentMessage", simulator.AgentMessage{Text: "said after"})
	// The duplicate is delivered before the next event is.
	c.waitFor(t, EventMessageArrived, chatText("said after"))
	waitDelivered(t, r, before+3) // the message twice, the next
	raws, err := r.store.Log(context.Background(), res.ConversationID, logMessages, 100)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, raw := range raws {
		var rec recordedMessage
		if err := json.Unmarshal(raw, &rec); err != nil {
			t.Fatal(err)
		}
		if rec.Text == "said once" {
			n++
		}
	}
	if n != 1 || len(raws) != 2 {
		t.Fatalf("%d records of the re-sent message among %d, want 1 among 2", n, len(raws))
	}
}

// What the record keeps of a message draws it as AXP's message would be
// drawn, attachments and the customer's name included; a whisper keeps its
// index and none of its text.
func TestRecordDrawsAMessageAsAXPsWould(t *testing.T) {
	f, store := newUnitFace(t, &fakeBackend{})
	conv := openConv(t, store, "c1", "web", "cleo@example.com")
	at := engagement.NewTime(testNow.Add(-time.Minute))
	tests := []struct {
		name string
		m    engagement.Message
	}{
		{"an agent's text", engagement.Message{MessageID: "m1", MessageIndex: 1, SenderParticipantID: "agent-1", SenderParticipantName: "Agent Alma",
			SenderParticipantType: engagement.ParticipantAgent, ReceivedAt: &at,
			Body: engagement.Body{ElementType: "text", ElementText: &engagement.ElementText{Text: "مرحبا, 你好, привет"}}}},
		{"a file with fallback text", engagement.Message{MessageID: "m2", MessageIndex: 2, SenderParticipantID: "bot-1", SenderParticipantName: "Bot",
			SenderParticipantType: engagement.ParticipantBot, LastUpdatedAt: &at, FallbackText: "your invoice",
			Body:        engagement.Body{ElementType: "file"},
			Attachments: []engagement.Attachment{{Name: "invoice.pdf", ContentType: "application/pdf", URL: "https://files.example/i.pdf", ThumbnailURL: "https://files.example/i.png"}}}},
		{"the customer's, under the name sent", engagement.Message{MessageID: "m3", MessageIndex: 3, SenderParticipantID: "axp-customer", SenderParticipantName: "Cleo C.",
			SenderParticipantType: engagement.ParticipantCustomer, ReceivedAt: &at,
			Body: engagement.Body{ElementType: "text", ElementText: &engagement.ElementText{Text: "thanks"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec recordedMessage
			if err := json.Unmarshal(recordOf(&tt.m, testNow).Data, &rec); err != nil {
				t.Fatal(err)
			}
			if a, b := f.chatMessage(conv, rec.message()), f.chatMessage(conv, &tt.m); !reflect.DeepEqual(a, b) {
				t.Fatalf("from the record %s\nfrom AXP's message %s", jsonOf(a), jsonOf(b))
			}
		})
	}
	w := engagement.Message{MessageID: "w", MessageIndex: 4, SenderParticipantName: "Agent Alma", SenderParticipantType: engagement.ParticipantAgent,
		CustomData: engagement.Parameters{"whisper": "true"}, Body: engagement.Body{ElementType: "text", ElementText: &engagement.ElementText{Text: "secret note"}}}
	if raw := string(recordOf(&w, testNow).Data); strings.Contains(raw, "secret") || !strings.Contains(raw, `"i":4`) {
		t.Fatalf("a whisper's record %s: want its index and no text", raw)
	}
}

// orderRecords serves a record only when it can be trusted, in AXP's order
// and each message once.
func TestRecordIsServedOnlyWhenComplete(t *testing.T) {
	msg := func(i int, id, pm string) string {
		return string(encodeRecord(recordedMessage{Index: i, ID: id, ProviderMessageID: pm, Text: "t" + id}).Data)
	}
	unsure := func(pm string) string {
		return string(encodeRecord(recordedMessage{Kind: recordUnsure, ProviderMessageID: pm}).Data)
	}
	end := string(endRecord(engagement.ReasonUserClosed, testNow).Data)
	tests := []struct {
		name    string
		records []string
		want    string // the ids served, or "" when the record is not served
		why     string
	}{
		{"in order", []string{msg(1, "a", "pa"), msg(2, "b", ""), end}, "a b", ""},
		{"by messageIndex, not arrival", []string{msg(2, "b", ""), msg(1, "a", ""), msg(3, "c", "")}, "a b c", ""},
		{"a message recorded twice is served once", []string{msg(1, "a", "pa"), msg(2, "b", ""), msg(1, "a", "pa")}, "a b", ""},
		{"the same send known by its provider id alone", []string{msg(1, "", "pa"), msg(2, "b", ""), msg(1, "a", "pa")}, " b", ""},
		{"a gap", []string{msg(1, "a", ""), msg(3, "c", "")}, "", "message 2 is missing"},
		{"not starting at 1", []string{msg(2, "b", "")}, "", "message 1 is missing"},
		{"an unconfirmed send", []string{msg(1, "a", ""), unsure("px")}, "", "did not confirm"},
		{"an unconfirmed send recorded since", []string{msg(1, "a", ""), unsure("px"), msg(2, "b", "px")}, "a b", ""},
		{"no indexes: arrival order", []string{msg(0, "b", ""), msg(0, "a", "")}, "b a", ""},
		{"empty", nil, "", ""},
		{"a damaged record", []string{msg(1, "a", ""), "{"}, "", "does not decode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var raws [][]byte
			for _, r := range tt.records {
				raws = append(raws, []byte(r))
			}
			got, why := orderRecords(raws)
			if tt.why != "" || why != "" {
				if tt.why == "" || !strings.Contains(why, tt.why) {
					t.Fatalf("why = %q, want %q", why, tt.why)
				}
				return
			}
			var ids []string
			for _, m := range got {
				ids = append(ids, m.MessageID)
			}
			if strings.Join(ids, " ") != tt.want {
				t.Fatalf("served %v, want %s", ids, tt.want)
			}
		})
	}
}

// failingLogs is a store whose commits that append to a log fail, as a
// store that goes away between AXP's answer and the record's write.
type failingLogs struct{ mapping.Store }

func (s failingLogs) Commit(ctx context.Context, ch *mapping.Change) error {
	if len(ch.Append) > 0 {
		return mapping.ErrUnavailable
	}
	return s.Store.Commit(ctx, ch)
}

// A sent message that cannot be recorded, or whose outcome AXP leaves
// unknown, keeps the record from being served without it.
func TestUnrecordedSendMakesTheRecordFallBack(t *testing.T) {
	tests := []struct {
		name  string
		setup func(f *Face, b *fakeBackend)
	}{
		{"the record's write fails", func(f *Face, _ *fakeBackend) { f.store = failingLogs{f.store} }},
		{"AXP leaves the send's outcome unknown", func(f *Face, b *fakeBackend) {
			b.errs = map[string]error{"SendMessage": engagement.ErrOutcomeUnknown}
			f.cfg.SettleTimeout = time.Millisecond
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &fakeBackend{}
			f, store := newUnitFace(t, b)
			conv := openConv(t, store, "c1", "web", "cleo@example.com")
			conv.Attrs[attrRecord] = recordComplete
			if err := store.Commit(context.Background(), &mapping.Change{Conv: conv}); err != nil {
				t.Fatal(err)
			}
			if _, why := f.recorded(context.Background(), conv); why != "" {
				t.Fatalf("a new conversation's record is not served: %s", why)
			}
			tt.setup(f, b)
			_, _ = f.sendText(context.Background(), conv, "client-1", "hello", "Cleo")
			cur, err := store.Conversation(context.Background(), conv.ID)
			if err != nil {
				t.Fatal(err)
			}
			if _, why := f.recorded(context.Background(), cur); why == "" {
				t.Fatal("the record is served without the message")
			}
			if _, err := f.conversationInfo(context.Background(), cur); err != nil {
				t.Fatal(err)
			}
			if b.lists != 1 {
				t.Fatalf("conversationInfo listed at AXP %d times, want 1", b.lists)
			}
		})
	}
}

// A rejoin is served from the record on the fake backend too, and the
// conversation's end is recorded with its closed state.
func TestConversationEndIsRecorded(t *testing.T) {
	b := &fakeBackend{}
	f, store := newUnitFace(t, b)
	conv := openConv(t, store, "c1", "web", "cleo@example.com")
	conv.Attrs[attrRecord] = recordComplete
	if err := store.Commit(context.Background(), &mapping.Change{Conv: conv}); err != nil {
		t.Fatal(err)
	}
	if err := f.endConversation(context.Background(), conv); err != nil {
		t.Fatal(err)
	}
	raws, err := store.Log(context.Background(), conv.ID, logMessages, 10)
	if err != nil || len(raws) != 1 {
		t.Fatalf("log %q, %v; want the end", raws, err)
	}
	var rec recordedMessage
	if err := json.Unmarshal(raws[0], &rec); err != nil || rec.Kind != recordEnd || rec.Reason != engagement.ReasonUserClosed {
		t.Fatalf("record %s, %v", raws[0], err)
	}
	cur, _ := store.Conversation(context.Background(), conv.ID)
	if _, err := f.conversationInfo(context.Background(), cur); err != nil || b.lists != 0 {
		t.Fatalf("conversationInfo: %v, %d AXP lists; want none", err, b.lists)
	}
}

// On Redis a conversation's record expires with the conversation: the
// end's record is written with the closed state, which gives the log the
// conversation's retention.
func TestRecordExpiresWithItsConversationOnRedis(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	store, err := mapping.OpenRedis(ctx, srv.URL, mapping.WithRedisRetention(time.Hour), mapping.WithRedisClock(func() time.Time { return testNow }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	f, err := New(Config{ChannelProviderID: rigProvider, Now: func() time.Time { return testNow }, Logger: slog.New(slog.DiscardHandler)}, &fakeBackend{}, store)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	id := mapping.NewConversationID(consumerKey("web", "cleo@example.com"))
	conv := openConv(t, store, id, "web", "cleo@example.com")
	conv.Attrs[attrRecord] = recordComplete
	if err := store.Commit(ctx, &mapping.Change{Conv: conv}); err != nil {
		t.Fatal(err)
	}
	apply(t, f, store, conv.ID, &engagement.Event{EventType: engagement.EventMessages,
		Message: &engagement.Message{MessageID: "m1", MessageIndex: 1, SenderParticipantType: engagement.ParticipantAgent,
			Body: engagement.Body{ElementType: "text", ElementText: &engagement.ElementText{Text: "hi"}}}})
	rdb, err := mapping.NewRedisClient(srv.URL, false, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	keys, err := rdb.Keys(ctx, "*log:*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("log keys %v, %v; want one", keys, err)
	}
	if ttl := rdb.PTTL(ctx, keys[0]).Val(); ttl >= 0 {
		t.Fatalf("an open conversation's record expires in %v", ttl)
	}
	cur, err := store.Conversation(ctx, conv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.endConversation(ctx, cur); err != nil {
		t.Fatal(err)
	}
	if ttl := rdb.PTTL(ctx, keys[0]).Val(); ttl <= 0 || ttl > time.Hour {
		t.Fatalf("the ended conversation's record expires in %v, want the hour of retention", ttl)
	}
	if raws, err := store.Log(ctx, conv.ID, logMessages, 10); err != nil || len(raws) != 2 {
		t.Fatalf("record %q, %v; want the message and the end", raws, err)
	}
}
