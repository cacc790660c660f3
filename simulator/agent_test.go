package simulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
)

func (a *api) agent(e engagement.Engagement, verb string, body any) reply {
	a.t.Helper()
	return a.sim("POST", "/sim/accounts/"+acct+"/engagements/"+e.EngagementID+":"+verb, body)
}

func (a *api) listPage(e engagement.Engagement, sessionID, query string) engagement.Messages {
	a.t.Helper()
	var page engagement.Messages
	a.expect(a.channel("GET", "/engagements/"+e.EngagementID+"/messages?dialogId="+e.Dialogs[0].DialogID+"&sessionId="+sessionID+query, nil), 200).decode(a.t, &page)
	return page
}

func TestAgentAPIDrivesAWholeDialog(t *testing.T) {
	hook := newReceiver(t, nil)
	a := newAPI(t, Config{})
	a.subscribe(hook.URL, "CC_MESSAGES", "PARTICIPANT_ADDED", "PARTICIPANT_DISCONNECTED")
	s := a.createSession("john")
	e := a.createEngagement(s.SessionID)
	a.send(e, s.SessionID, "I need some help")

	// Before anyone joins, an agent cannot speak but a bot can.
	a.expect(a.agent(e, "agentMessage", map[string]string{"text": "too early"}), 409).problem(t)
	var bot engagement.Message
	a.expect(a.agent(e, "agentMessage", map[string]string{"text": "An agent will be with you shortly", "participantType": "BOT"}), 200).decode(t, &bot)
	if bot.SenderParticipantType != "BOT" || bot.MessageIndex != 2 {
		t.Fatalf("bot message %+v", bot)
	}
	if ev := hook.next(t); ev.EventType != "MESSAGES" || ev.SenderParticipantType != "BOT" {
		t.Fatalf("event %s", ev.raw)
	}

	var joined engagement.Engagement
	a.expect(a.agent(e, "agentJoin", map[string]string{"displayName": "Jane Doe"}), 200).decode(t, &joined)
	d := joined.Dialogs[0]
	if d.DialogStatus != "ACTIVE" || len(d.Connections) != 2 || d.Connections[1].ParticipantType != "AGENT" || d.Connections[1].DisplayName != "Jane Doe" {
		t.Fatalf("after join %+v", d)
	}
	added := hook.next(t)
	var pe engagement.ParticipantEvent
	added.decodeInto(t, &pe)
	if pe.EventType != "PARTICIPANT_ADDED" || pe.ParticipantType != "AGENT" || pe.DisplayName != "Jane Doe" ||
		pe.ConnectionID != d.Connections[1].ConnectionID || pe.SessionID != s.SessionID || pe.ChannelProviderID != cpid {
		t.Fatalf("participant event %s", added.raw)
	}

	var m engagement.Message
	a.expect(a.agent(e, "agentMessage", map[string]any{"text": "What is the make and model?"}), 200).decode(t, &m)
	ev := hook.next(t)
	var got engagement.Message
	ev.decodeInto(t, &got)
	if got.MessageID != m.MessageID || got.Text() != "What is the make and model?" || got.SenderParticipantType != "AGENT" ||
		got.SenderParticipantName != "Jane Doe" || got.MessageIndex != 3 || len(got.RecipientParticipants) != 1 ||
		got.RecipientParticipants[0].ParticipantID != s.ParticipantID {
		t.Fatalf("agent message event %s", ev.raw)
	}

	// A whisper is passed through as customData, untouched.
	a.expect(a.agent(e, "agentMessage", map[string]any{"text": "psst", "participantType": "SUPERVISOR"}), 409)
	a.expect(a.agent(e, "agentJoin", map[string]string{"displayName": "Sue", "participantType": "SUPERVISOR"}), 200)
	hook.nextOf(t, "PARTICIPANT_ADDED")
	a.expect(a.agent(e, "agentMessage", map[string]any{"text": "psst", "participantType": "SUPERVISOR", "customData": map[string]string{"whisper": "true"}}), 200)
	if ev := hook.next(t); ev.CustomData["whisper"] != "true" || ev.SenderParticipantType != "SUPERVISOR" {
		t.Fatalf("whisper %s", ev.raw)
	}

	a.send(e, s.SessionID, "A 512GTB")
	a.expect(a.agent(e, "agentMessage", map[string]any{"text": "Thanks", "textFormat": "MARKDOWN"}), 200)
	hook.nextOf(t, "MESSAGES")
	a.send(e, s.SessionID, "bye")

	var left engagement.Engagement
	a.expect(a.agent(e, "agentLeave", nil), 200).decode(t, &left)
	if left.Dialogs[0].DialogStatus != "TERMINATED" {
		t.Fatalf("after leave %+v", left.Dialogs[0])
	}
	var leaving []string
	for range 2 {
		ev := hook.nextOf(t, "PARTICIPANT_DISCONNECTED")
		leaving = append(leaving, ev.ParticipantType)
	}
	slices.Sort(leaving)
	if !slices.Equal(leaving, []string{"AGENT", "SUPERVISOR"}) {
		t.Fatalf("disconnected %v", leaving)
	}
	for _, c := range left.Dialogs[0].Connections {
		if c.ConnectionState != "DISCONNECTED" {
			t.Fatalf("connection still %s: %+v", c.ConnectionState, c)
		}
	}
	a.expect(a.agent(e, "agentMessage", map[string]string{"text": "late"}), 409)
	a.expect(a.channel("POST", "/engagements/"+e.EngagementID+"/messages", map[string]any{
		"sessionId": s.SessionID, "dialogId": e.Dialogs[0].DialogID, "body": map[string]any{"elementType": "text", "elementText": map[string]any{"text": "hello?"}},
	}), 400)

	// The transcript: 7 messages across three pages of 3, in order.
	var all []engagement.Message
	for n := 1; n <= 3; n++ {
		page := a.listPage(e, s.SessionID, fmt.Sprintf("&pageSize=3&pageNumber=%d", n))
		all = append(all, page.Messages...)
	}
	if len(all) != 7 {
		t.Fatalf("%d messages listed", len(all))
	}
	wantTypes := []string{"CUSTOMER", "BOT", "AGENT", "SUPERVISOR", "CUSTOMER", "AGENT", "CUSTOMER"}
	for i, m := range all {
		if m.MessageIndex != i+1 || m.SenderParticipantType != wantTypes[i] || m.Status != "DELIVERED" {
			t.Fatalf("message %d: index %d type %s status %s", i, m.MessageIndex, m.SenderParticipantType, m.Status)
		}
	}
}

func TestListMessagesPaginates(t *testing.T) {
	a := newAPI(t, Config{})
	s := a.createSession("john")
	e := a.createEngagement(s.SessionID)
	for i := 1; i <= 7; i++ {
		a.send(e, s.SessionID, fmt.Sprintf("m%d", i))
	}
	link := func(n int) string {
		return fmt.Sprintf("%s%s/engagements/%s/messages?sessionId=%s&dialogId=%s&pageSize=3&pageNumber=%d",
			channelBase, acct, e.EngagementID, s.SessionID, e.Dialogs[0].DialogID, n)
	}
	cases := []struct {
		name       string
		query      string
		texts      []string
		pagination engagement.Pagination
		links      engagement.Links
	}{
		{"first page", "&pageSize=3", []string{"m1", "m2", "m3"}, engagement.Pagination{PageNumber: 1, PageSize: 3, Total: 7}, engagement.Links{Prev: "", Next: link(2)}},
		{"middle page", "&pageSize=3&pageNumber=2", []string{"m4", "m5", "m6"}, engagement.Pagination{PageNumber: 2, PageSize: 3, Total: 7}, engagement.Links{Prev: link(1), Next: link(3)}},
		{"last page", "&pageSize=3&pageNumber=3", []string{"m7"}, engagement.Pagination{PageNumber: 3, PageSize: 3, Total: 7}, engagement.Links{Prev: link(2), Next: ""}},
		{"past the end", "&pageSize=3&pageNumber=9", nil, engagement.Pagination{PageNumber: 9, PageSize: 3, Total: 7}, engagement.Links{Prev: link(8), Next: ""}},
		{"default page size 10", "", []string{"m1", "m2", "m3", "m4", "m5", "m6", "m7"}, engagement.Pagination{PageNumber: 1, PageSize: 10, Total: 7}, engagement.Links{}},
	}
	for _, tc := range cases {
		a.run(tc.name, func(t *testing.T) {
			page := a.listPage(e, s.SessionID, tc.query)
			var texts []string
			for _, m := range page.Messages {
				texts = append(texts, m.Text())
			}
			if !slices.Equal(texts, tc.texts) || page.Pagination != tc.pagination || page.Links != tc.links {
				t.Fatalf("got %v %+v %+v", texts, page.Pagination, page.Links)
			}
		})
	}
	a.run("links are followable", func(t *testing.T) {
		var page engagement.Messages
		a.expect(do(t, "GET", a.srv.URL+link(2), a.token, nil), 200).decode(t, &page)
		if page.Messages[0].Text() != "m4" {
			t.Fatalf("page 2 starts with %s", page.Messages[0].Text())
		}
	})
	a.run("empty links are present as empty strings", func(t *testing.T) {
		r := a.channel("GET", "/engagements/"+e.EngagementID+"/messages?dialogId="+e.Dialogs[0].DialogID+"&sessionId="+s.SessionID, nil)
		if !strings.Contains(string(r.body), `"links":{"prev":"","next":""}`) {
			t.Fatalf("links %s", r.body)
		}
	})
}

func TestSimAgentAPIErrors(t *testing.T) {
	a := newAPI(t, Config{})
	s := a.createSession("john")
	e := a.createEngagement(s.SessionID)
	const unknown = "00000000-0000-4000-8000-000000000000"
	cases := []struct {
		name, path string
		body       any
		status     int
	}{
		{"unknown engagement", "/sim/accounts/" + acct + "/engagements/" + unknown + ":agentJoin", nil, 404},
		{"unknown dialog", "/sim/accounts/" + acct + "/engagements/" + e.EngagementID + ":agentJoin", map[string]string{"dialogId": unknown}, 404},
		{"bad engagement id", "/sim/accounts/" + acct + "/engagements/nope:agentJoin", nil, 400},
		{"bad account", "/sim/accounts/ABC/engagements/" + e.EngagementID + ":agentJoin", nil, 400},
		{"message without text", "/sim/accounts/" + acct + "/engagements/" + e.EngagementID + ":agentMessage", map[string]string{}, 400},
		{"message with bad type", "/sim/accounts/" + acct + "/engagements/" + e.EngagementID + ":agentMessage", map[string]string{"text": "x", "participantType": "CUSTOMER"}, 400},
		{"leave with nobody joined", "/sim/accounts/" + acct + "/engagements/" + e.EngagementID + ":agentLeave", nil, 409},
		{"error without type", "/sim/accounts/" + acct + "/engagements/" + e.EngagementID + ":engagementError", map[string]string{"title": "x"}, 400},
		{"broken JSON", "/sim/accounts/" + acct + "/engagements/" + e.EngagementID + ":agentJoin", `{"displayName":`, 400},
	}
	for _, tc := range cases {
		a.run(tc.name, func(t *testing.T) {
			r := a.sim("POST", tc.path, tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			r.problem(t)
		})
	}
}

func TestSimListsEveryEngagementOfTheAccount(t *testing.T) {
	a := newAPI(t, Config{})
	var want []string
	for i := range 3 {
		s := a.createSession(fmt.Sprintf("c%d", i))
		want = append(want, a.createEngagement(s.SessionID).EngagementID)
	}
	var list []engagement.Engagement
	a.expect(a.sim("GET", "/sim/accounts/"+acct+"/engagements", nil), 200).decode(t, &list)
	var got []string
	for _, e := range list {
		got = append(got, e.EngagementID)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	a.expect(a.sim("GET", "/sim/accounts/GHIJKL/engagements", nil), 200).decode(t, &list)
	if len(list) != 0 {
		t.Fatalf("other account lists %d", len(list))
	}
}

func TestEngagementErrorFiresEngagementErrorEvent(t *testing.T) {
	hook := newReceiver(t, nil)
	a := newAPI(t, Config{})
	a.subscribe(hook.URL, "ENGAGEMENT_ERROR")
	s := a.createSession("john")
	e := a.createEngagement(s.SessionID)
	a.expect(a.agent(e, "engagementError", map[string]string{"type": "ENGAGEMENT_CREATION_FAILED", "title": "No agent available", "detail": "queue closed"}), 200)
	ev := hook.next(t)
	var ee engagement.EngagementErrorEvent
	ev.decodeInto(t, &ee)
	if ee.EventType != "ENGAGEMENT_ERROR" || ee.Type != "ENGAGEMENT_CREATION_FAILED" || ee.Title != "No agent available" ||
		ee.DialogID != e.Dialogs[0].DialogID || ee.SessionID != s.SessionID || ee.ChannelProviderID != cpid || ee.CorrelationID == "" {
		t.Fatalf("event %s", ev.raw)
	}
}

func TestAutoAgentJoinsAndAnswers(t *testing.T) {
	hook := newReceiver(t, nil)
	a := newAPI(t, Config{AutoAgent: true, AutoAgentDelay: 10 * time.Millisecond, AutoAgentName: "Robo"})
	a.subscribe(hook.URL, "CC_MESSAGES", "PARTICIPANT_ADDED")
	s := a.createSession("john")
	e := a.createEngagement(s.SessionID)
	joined := hook.next(t)
	if joined.EventType != "PARTICIPANT_ADDED" || joined.ParticipantType != "AGENT" {
		t.Fatalf("event %s", joined.raw)
	}
	a.send(e, s.SessionID, "hello there")
	ev := hook.next(t)
	var m engagement.Message
	ev.decodeInto(t, &m)
	if m.Text() != "You said: hello there" || m.SenderParticipantName != "Robo" || m.SenderParticipantType != "AGENT" {
		t.Fatalf("reply %s", ev.raw)
	}
	var got engagement.Engagement
	a.expect(a.channel("GET", "/engagements/"+e.EngagementID, nil), 200).decode(t, &got)
	if got.Dialogs[0].DialogStatus != "ACTIVE" {
		t.Fatalf("dialog %s", got.Dialogs[0].DialogStatus)
	}
}

func TestGoAgentAPIAnswersLikeTheHTTPOne(t *testing.T) {
	a := newAPI(t, Config{})
	s := a.createSession("john")
	e := a.createEngagement(s.SessionID)
	sim := a.srv.Sim
	wantProblem := func(err error, status int) {
		t.Helper()
		var p *Problem
		if !errors.As(err, &p) || p.Status != status {
			t.Fatalf("error %v, want a %d problem", err, status)
		}
	}

	_, err := sim.AgentMessage(acct, e.EngagementID, AgentMessage{Text: "too early"})
	wantProblem(err, 409)
	_, err = sim.AgentJoin(acct, "00000000-0000-4000-8000-000000000000", AgentJoin{})
	wantProblem(err, 404)

	joined, err := sim.AgentJoin(acct, e.EngagementID, AgentJoin{DisplayName: "Jane"})
	if err != nil || joined.Dialogs[0].DialogStatus != "ACTIVE" {
		t.Fatalf("join: %v %+v", err, joined)
	}
	m, err := sim.AgentMessage(acct, e.EngagementID, AgentMessage{Text: "hi"})
	if err != nil || m.SenderParticipantName != "Jane" || m.MessageIndex != 1 || m.Text() != "hi" {
		t.Fatalf("message: %v %+v", err, m)
	}
	ev, err := sim.EngagementError(acct, e.EngagementID, EngagementError{Type: "ENGAGEMENT_CREATION_FAILED", Title: "no agent"})
	if err != nil || ev.DialogID != e.Dialogs[0].DialogID || ev.SessionID != s.SessionID {
		t.Fatalf("engagement error: %v %+v", err, ev)
	}
	left, err := sim.AgentLeave(acct, e.EngagementID, AgentLeave{})
	if err != nil || left.Dialogs[0].DialogStatus != "TERMINATED" {
		t.Fatalf("leave: %v %+v", err, left)
	}
	_, err = sim.AgentLeave(acct, e.EngagementID, AgentLeave{})
	wantProblem(err, 409)
}

// A listed message is the one the 202 answered, every member of it, but
// DELIVERED: the simulator stores it encoded and decodes it for the list.
func TestListedMessageIsTheSentOneDelivered(t *testing.T) {
	a := newAPI(t, Config{})
	s := a.createSession("john")
	e := a.createEngagement(s.SessionID)
	sentAt := engagement.Time{Time: time.Date(2026, 12, 4, 9, 30, 0, 123456789, time.UTC)}
	var sent engagement.Message
	a.expect(a.channel("POST", "/engagements/"+e.EngagementID+"/messages", engagement.SendMessage{
		SessionID: s.SessionID, DialogID: e.Dialogs[0].DialogID,
		Body:         engagement.Body{ElementType: "text", ElementText: &engagement.ElementText{Text: "<b>Hi</b> & \"bye\" \u2028 é", TextFormat: engagement.TextHTML}},
		FallbackText: "Hi & bye",
		Headers: &engagement.MessageHeaders{Subject: "order", To: []string{"a", "b"}, ProviderTimestamp: &sentAt,
			AdditionalHeaders: engagement.Parameters{"x-tag": "7"}},
		CustomData:              engagement.Parameters{"orderId": "A-1", "empty": ""},
		SenderParticipantName:   "John Q.",
		ParentMessageID:         "parent-1",
		ProviderSenderID:        "sender-1",
		ProviderMessageID:       "provider-1",
		ProviderParentMessageID: "provider-parent-1",
		CorrelationID:           "corr-1",
	}), 202).decode(t, &sent)

	page := a.listPage(e, s.SessionID, "")
	if len(page.Messages) != 1 {
		t.Fatalf("listed %d messages, want 1", len(page.Messages))
	}
	want := sent
	want.Status = engagement.MessageDelivered
	got, _ := json.Marshal(page.Messages[0])
	wantJSON, _ := json.Marshal(want)
	if string(got) != string(wantJSON) {
		t.Fatalf("listed\n%s\nwant\n%s", got, wantJSON)
	}
}
