package simulator

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
)

func violationFields(p Problem) []string {
	var f []string
	for _, v := range p.Violations {
		f = append(f, v.Field)
	}
	slices.Sort(f)
	return f
}

func TestInvalidRequestsAnswer400NamingEachViolatedField(t *testing.T) {
	a := newAPI(t, Config{})
	s := a.createSession("john")
	e := a.createEngagement(s.SessionID)
	eid, did, sid := e.EngagementID, e.Dialogs[0].DialogID, s.SessionID
	tooMany := map[string]string{}
	for i := range 21 {
		tooMany[fmt.Sprintf("k%d", i)] = "v"
	}
	text := func(s string) map[string]any {
		return map[string]any{"sessionId": sid, "dialogId": did, "body": map[string]any{"elementType": "text", "elementText": map[string]any{"text": s}}}
	}
	cases := []struct {
		name         string
		method, path string
		webhook      bool
		body         any
		fields       []string
	}{
		{"session without required fields", "POST", "/sessions", false, map[string]any{}, []string{"channelProviderId", "customerIdentifiers"}},
		{"session with long values", "POST", "/sessions", false, map[string]any{
			"channelProviderId": "ab", "customerIdentifiers": map[string]any{"email": []string{"x"}},
			"displayName": strings.Repeat("n", 71), "sessionParameters": tooMany, "providerCustomerId": strings.Repeat("p", 257),
		}, []string{"channelProviderId", "displayName", "providerCustomerId", "sessionParameters"}},
		{"session with empty identifiers", "POST", "/sessions", false, map[string]any{
			"channelProviderId": cpid, "customerIdentifiers": map[string]any{},
		}, []string{"customerIdentifiers"}},
		{"session with six identifier values", "POST", "/sessions", false, map[string]any{
			"channelProviderId": cpid, "customerIdentifiers": map[string]any{"email": []string{"1", "2", "3", "4", "5", "6"}},
		}, []string{"customerIdentifiers.email"}},
		{"engagement without fields", "POST", "/engagements", false, map[string]any{}, []string{"channelId", "sessionId"}},
		{"engagement with bad ids and channel", "POST", "/engagements", false, map[string]any{
			"sessionId": "not-a-uuid", "channelId": "Voice", "conversation": strings.Repeat("c", 257),
		}, []string{"channelId", "conversation", "sessionId"}},
		{"message without body", "POST", "/engagements/" + eid + "/messages", false, map[string]any{"sessionId": sid, "dialogId": did}, []string{"body"}},
		{"message text over 4096", "POST", "/engagements/" + eid + "/messages", false, text(strings.Repeat("x", 4097)), []string{"body.elementText.text"}},
		{"message with bad format and long name", "POST", "/engagements/" + eid + "/messages", false, map[string]any{
			"sessionId": sid, "dialogId": did, "senderParticipantName": strings.Repeat("n", 71), "customData": tooMany,
			"body": map[string]any{"elementType": "text", "elementText": map[string]any{"text": "hi", "textFormat": "RTF"}},
		}, []string{"body.elementText.textFormat", "customData", "senderParticipantName"}},
		{"message without ids", "POST", "/engagements/" + eid + "/messages", false, map[string]any{
			"body": map[string]any{"elementType": "text", "elementText": map[string]any{"text": "hi"}},
		}, []string{"dialogId", "sessionId"}},
		{"text element without text", "POST", "/engagements/" + eid + "/messages", false, map[string]any{
			"sessionId": sid, "dialogId": did, "body": map[string]any{"elementType": "text"},
		}, []string{"body.elementText"}},
		{"list messages without ids", "GET", "/engagements/" + eid + "/messages", false, nil, []string{"dialogId", "sessionId"}},
		{"list messages page size 51", "GET", "/engagements/" + eid + "/messages?dialogId=" + did + "&sessionId=" + sid + "&pageSize=51", false, nil, []string{"pageSize"}},
		{"list messages page size 0 and page 0", "GET", "/engagements/" + eid + "/messages?dialogId=" + did + "&sessionId=" + sid + "&pageSize=0&pageNumber=0", false, nil, []string{"pageNumber", "pageSize"}},
		{"list engagements without session", "GET", "/engagements", false, nil, []string{"sessionId"}},
		{"get engagement with bad id", "GET", "/engagements/123", false, nil, []string{"engagementId"}},
		{"disconnect with bad reason", "POST", "/engagements/" + eid + ":disconnect", false, map[string]any{"sessionId": sid, "dialogId": did, "reason": "BORED"}, []string{"reason"}},
		{"delete session with bad reason", "DELETE", "/sessions/" + sid + "?reason=BORED", false, nil, []string{"reason"}},
		{"subscription without fields", "POST", "/subscriptions", true, map[string]any{}, []string{"callbackUrl", "channelProviderId", "eventTypes"}},
		{"subscription to plain http on a public host", "POST", "/subscriptions", true, map[string]any{
			"channelProviderId": cpid, "callbackUrl": "http://example.com/hook", "eventTypes": []string{"ALL"},
		}, []string{"callbackUrl"}},
		{"subscription with unknown event type", "POST", "/subscriptions", true, map[string]any{
			"channelProviderId": cpid, "callbackUrl": "https://example.com/hook", "eventTypes": []string{"MESSAGES", "TYPING"},
		}, []string{"eventTypes[1]"}},
		{"subscription with seven event types", "POST", "/subscriptions", true, map[string]any{
			"channelProviderId": cpid, "callbackUrl": "https://example.com/hook",
			"eventTypes": []string{"ALL", "MESSAGES", "CC_MESSAGES", "CUSTOMER_MESSAGES", "PARTICIPANT_ADDED", "PARTICIPANT_DISCONNECTED", "ENGAGEMENT_ERROR"},
		}, []string{"eventTypes"}},
	}
	for _, tc := range cases {
		a.run(tc.name, func(t *testing.T) {
			r := a.face(tc.webhook, tc.method, tc.path, tc.body)
			if r.status != 400 {
				t.Fatalf("status %d, want 400: %s", r.status, r.body)
			}
			p := r.problem(t)
			slices.Sort(tc.fields)
			if got := violationFields(p); !slices.Equal(got, tc.fields) {
				t.Fatalf("violations on %v, want %v: %s", got, tc.fields, r.body)
			}
			for _, v := range p.Violations {
				if v.Message == "" || v.Code == 0 {
					t.Fatalf("violation without message or code: %+v", v)
				}
			}
		})
	}
}

func TestMalformedBodiesAndBadAccountIDsAnswer400(t *testing.T) {
	a := newAPI(t, Config{})
	cases := []struct{ name, url, body, title string }{
		{"broken JSON", a.srv.URL + channelBase + acct + "/sessions", `{"channelProviderId":`, "Malformed Payload"},
		{"wrong JSON type", a.srv.URL + channelBase + acct + "/sessions", `{"customerIdentifiers":"x"}`, "Malformed Payload"},
		{"empty body", a.srv.URL + channelBase + acct + "/sessions", ``, "Malformed Payload"},
		{"account with digits", a.srv.URL + channelBase + "ABCDE1/sessions", `{}`, "Constraint Violation"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, "POST", tc.url, a.token, tc.body)
			if r.status != 400 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if p := r.problem(t); p.Title != tc.title {
				t.Fatalf("title %q, want %q", p.Title, tc.title)
			}
		})
	}
}

func TestUnknownIDsAndPathsAnswer404(t *testing.T) {
	a := newAPI(t, Config{})
	s := a.createSession("john")
	e := a.createEngagement(s.SessionID)
	const unknown = "00000000-0000-4000-8000-000000000000"
	cases := []struct {
		name, method, path string
		webhook            bool
		body               any
	}{
		{"session", "GET", "/sessions/" + unknown, false, nil},
		{"session delete", "DELETE", "/sessions/" + unknown, false, nil},
		{"session verb", "POST", "/sessions/" + unknown + ":updateSessionParameters", false, map[string]string{"a": "b"}},
		{"engagement", "GET", "/engagements/" + unknown, false, nil},
		{"engagements of unknown session", "GET", "/engagements?sessionId=" + unknown, false, nil},
		{"engagement for unknown session", "POST", "/engagements", false, map[string]any{"sessionId": unknown, "channelId": "Chat"}},
		{"message to unknown dialog", "POST", "/engagements/" + e.EngagementID + "/messages", false, map[string]any{
			"sessionId": s.SessionID, "dialogId": unknown, "body": map[string]any{"elementType": "text", "elementText": map[string]any{"text": "hi"}}}},
		{"messages of unknown engagement", "GET", "/engagements/" + unknown + "/messages?dialogId=" + unknown + "&sessionId=" + s.SessionID, false, nil},
		{"join unknown engagement", "POST", "/engagements/" + unknown + ":join", false, map[string]any{"sessionId": s.SessionID, "dialogId": unknown}},
		{"subscription", "GET", "/subscriptions/" + unknown, true, nil},
		{"subscription delete", "DELETE", "/subscriptions/" + unknown, true, nil},
		{"unknown verb", "POST", "/engagements/" + e.EngagementID + ":transfer", false, map[string]any{}},
		{"unknown path", "GET", "/customers", false, nil},
	}
	for _, tc := range cases {
		a.run(tc.name, func(t *testing.T) {
			r := a.face(tc.webhook, tc.method, tc.path, tc.body)
			if r.status != 404 {
				t.Fatalf("status %d, want 404: %s", r.status, r.body)
			}
			r.problem(t)
		})
	}

	t.Run("another account's session", func(t *testing.T) {
		other := do(t, "GET", a.srv.URL+channelBase+"GHIJKL/sessions/"+s.SessionID, tokenFor(t, a.srv, "GHIJKL"), nil)
		if other.status != 404 {
			t.Fatalf("status %d, want 404", other.status)
		}
	})
}

func TestSessionLifecycle(t *testing.T) {
	a := newAPI(t, Config{})
	var created engagement.Session
	a.expect(a.channel("POST", "/sessions", map[string]any{
		"accountId": acct, "channelProviderId": cpid, "displayName": "John Doe", "correlationId": "corr-1",
		"customerIdentifiers": map[string]any{"emailAddresses": []string{"john@example.com"}},
		"sessionParameters":   map[string]any{"language": "english"},
	}), 201).decode(t, &created)
	if !isUUID(created.SessionID) || !isUUID(created.ParticipantID) || created.CorrelationID != "corr-1" ||
		created.SessionStatus != "ACTIVE" || created.AccountID != acct || created.CreatedAt.IsZero() ||
		created.URL != channelBase+acct+"/sessions/"+created.SessionID {
		t.Fatalf("created %+v", created)
	}

	var s engagement.Session
	a.expect(a.channel("POST", "/sessions/"+created.SessionID+":appendIdentifiers", map[string]any{
		"emailAddresses": []string{"dave@example.com", "john@example.com"}, "phoneNumbers": []string{"+31 20 5101 9005"},
	}), 200).decode(t, &s)
	if got := s.CustomerIdentifiers["emailAddresses"]; !slices.Equal(got, []string{"john@example.com", "dave@example.com"}) {
		t.Fatalf("emails %v", got)
	}
	if len(s.CustomerIdentifiers["phoneNumbers"]) != 1 {
		t.Fatalf("phones %v", s.CustomerIdentifiers)
	}
	a.expect(a.channel("POST", "/sessions/"+created.SessionID+":updateSessionParameters", map[string]any{
		"country": "Ireland", "language": "irish",
	}), 200).decode(t, &s)
	if s.SessionParameters["country"] != "Ireland" || s.SessionParameters["language"] != "irish" {
		t.Fatalf("parameters %v", s.SessionParameters)
	}

	a.expect(a.channel("GET", "/sessions/"+created.SessionID, nil), 200).decode(t, &s)
	if s.ParticipantID != "" || s.SessionParameters["country"] != "Ireland" {
		t.Fatalf("get %+v (participantId belongs to the create answer only)", s)
	}

	if r := a.channel("DELETE", "/sessions/"+created.SessionID, nil); r.status != 204 || len(r.body) != 0 {
		t.Fatalf("delete without reason: %d %s", r.status, r.body)
	}
	a.expect(a.channel("GET", "/sessions/"+created.SessionID, nil), 200).decode(t, &s)
	if s.SessionStatus != "TERMINATED" {
		t.Fatalf("status after delete %s", s.SessionStatus)
	}
	a.expect(a.channel("DELETE", "/sessions/"+created.SessionID+"?reason=USER_CLOSED", nil), 204)
	p := a.expect(a.channel("POST", "/sessions/"+created.SessionID+":updateSessionParameters", map[string]any{"a": "b"}), 400).problem(t)
	if got := violationFields(p); !slices.Equal(got, []string{"sessionId"}) {
		t.Fatalf("update of an ended session: %v", got)
	}
}

func TestEngagementCreateJoinDisconnect(t *testing.T) {
	a := newAPI(t, Config{})
	hook := newReceiver(t, nil)
	a.subscribe(hook.URL, "ALL")
	s := a.createSession("john")

	var e engagement.Engagement
	a.expect(a.channel("POST", "/engagements", map[string]any{
		"sessionId": s.SessionID, "channelId": "chat", "conversation": "sell car", "providerDialogId": "pd-1",
		"engagementParameters": map[string]string{"model": "512GTB"}, "correlationId": "c-1",
	}), 201).decode(t, &e)
	d := e.Dialogs[0]
	if len(e.Dialogs) != 1 || d.DialogStatus != "PENDING" || d.ChannelID != "Chat" || d.InitiatorParticipantID != s.ParticipantID ||
		len(d.Connections) != 1 || d.Connections[0].ParticipantType != "CUSTOMER" || d.Connections[0].ConnectionState != "CONNECTED" ||
		!slices.Equal(d.Connections[0].SessionIDs, []string{s.SessionID}) || e.CorrelationID != "c-1" || d.ProviderDialogID != "pd-1" {
		t.Fatalf("created %+v", e)
	}
	if ev := hook.next(t); ev.EventType != "ENGAGEMENT_CREATED" || ev.DialogID != d.DialogID || ev.CorrelationID != "c-1" {
		t.Fatalf("event %s", ev.raw)
	}

	// A second device joins with its own session.
	s2 := a.createSession("john-phone")
	a.expect(a.channel("POST", "/engagements/"+e.EngagementID+":join", map[string]any{"sessionId": s2.SessionID, "dialogId": d.DialogID}), 200).decode(t, &e)
	if n := len(e.Dialogs[0].Connections); n != 2 {
		t.Fatalf("connections after join: %d", n)
	}
	if ev := hook.next(t); ev.EventType != "PARTICIPANT_ADDED" || ev.ParticipantType != "CUSTOMER" {
		t.Fatalf("event %s", ev.raw)
	}
	var list []engagement.Engagement
	a.expect(a.channel("GET", "/engagements?sessionId="+s2.SessionID, nil), 200).decode(t, &list)
	if len(list) != 1 || list[0].EngagementID != e.EngagementID {
		t.Fatalf("list for joined session: %+v", list)
	}

	// Both devices leave: the dialog ends with the last one.
	for i, sid := range []string{s.SessionID, s2.SessionID} {
		var echo engagement.DisconnectEngagement
		a.expect(a.channel("POST", "/engagements/"+e.EngagementID+":disconnect", map[string]any{
			"sessionId": sid, "dialogId": d.DialogID, "reason": "USER_CLOSED",
		}), 200).decode(t, &echo)
		if echo.SessionID != sid || echo.DialogID != d.DialogID || echo.Reason != "USER_CLOSED" || echo.CorrelationID == "" {
			t.Fatalf("echo %+v", echo)
		}
		if ev := hook.next(t); ev.EventType != "PARTICIPANT_DISCONNECTED" || ev.ParticipantType != "CUSTOMER" {
			t.Fatalf("event %s", ev.raw)
		}
		a.expect(a.channel("GET", "/engagements/"+e.EngagementID, nil), 200).decode(t, &e)
		want := []string{"PENDING", "TERMINATED"}[i]
		if got := e.Dialogs[0].DialogStatus; got != want {
			t.Fatalf("after disconnect %d: dialog %s, want %s", i+1, got, want)
		}
	}
	// Disconnecting again changes nothing and fires nothing (the next event
	// checked below is the new dialog's ENGAGEMENT_CREATED).
	var echo engagement.DisconnectEngagement
	a.expect(a.channel("POST", "/engagements/"+e.EngagementID+":disconnect", map[string]any{"sessionId": s.SessionID, "dialogId": d.DialogID}), 200).decode(t, &echo)
	if echo.SessionID != s.SessionID || echo.DialogID != d.DialogID || echo.CorrelationID == "" {
		t.Fatalf("repeated disconnect echo %+v", echo)
	}

	// Messages to the ended dialog are refused with a violation on dialogId.
	p := a.expect(a.channel("POST", "/engagements/"+e.EngagementID+"/messages", map[string]any{
		"sessionId": s.SessionID, "dialogId": d.DialogID, "body": map[string]any{"elementType": "text", "elementText": map[string]any{"text": "hi"}},
	}), 400).problem(t)
	if got := violationFields(p); !slices.Equal(got, []string{"dialogId"}) || !strings.Contains(p.Violations[0].Message, "TERMINATED") {
		t.Fatalf("violation %+v", p.Violations)
	}

	// A new engagement request on the same session adds a dialog, first in the answer.
	var again engagement.Engagement
	a.expect(a.channel("POST", "/engagements", map[string]any{"sessionId": s.SessionID, "channelId": "Chat"}), 201).decode(t, &again)
	if again.EngagementID != e.EngagementID || len(again.Dialogs) != 2 || again.Dialogs[0].DialogID == d.DialogID ||
		again.Dialogs[0].DialogStatus != "PENDING" {
		t.Fatalf("second create %+v", again)
	}
	if ev := hook.next(t); ev.EventType != "ENGAGEMENT_CREATED" || ev.DialogID != again.Dialogs[0].DialogID {
		t.Fatalf("event %s", ev.raw)
	}

	// Ending the session ends its open dialog and refuses further messages.
	a.expect(a.channel("DELETE", "/sessions/"+s.SessionID+"?reason=USER_INACTIVE", nil), 204)
	if ev := hook.next(t); ev.EventType != "PARTICIPANT_DISCONNECTED" || ev.DialogID != again.Dialogs[0].DialogID {
		t.Fatalf("event %s", ev.raw)
	}
	p = a.expect(a.channel("POST", "/engagements/"+e.EngagementID+"/messages", map[string]any{
		"sessionId": s.SessionID, "dialogId": again.Dialogs[0].DialogID, "body": map[string]any{"elementType": "text", "elementText": map[string]any{"text": "hi"}},
	}), 400).problem(t)
	if got := violationFields(p); !slices.Equal(got, []string{"sessionId"}) {
		t.Fatalf("send after session end: %v", got)
	}
	a.expect(a.channel("POST", "/engagements", map[string]any{"sessionId": s.SessionID, "channelId": "Chat"}), 400)
}

func TestWrongMethodAnswers405WithAllow(t *testing.T) {
	a := newAPI(t, Config{})
	const id = "00000000-0000-4000-8000-000000000000"
	cases := []struct {
		name  string
		send  func() reply
		allow string
	}{
		{"sessions", func() reply { return a.channel("PUT", "/sessions", map[string]any{}) }, "POST"},
		{"session", func() reply { return a.channel("POST", "/sessions/"+id, map[string]any{}) }, "GET, DELETE"},
		{"engagements", func() reply { return a.channel("DELETE", "/engagements", nil) }, "GET, POST"},
		{"engagement", func() reply { return a.channel("DELETE", "/engagements/"+id, nil) }, "GET"},
		{"engagement verb", func() reply { return a.channel("GET", "/engagements/"+id+":join", nil) }, "POST"},
		{"messages", func() reply { return a.channel("PUT", "/engagements/"+id+"/messages", nil) }, "GET, POST"},
		{"subscription", func() reply { return a.webhook("PATCH", "/subscriptions/"+id, nil) }, "GET, PUT, DELETE"},
		{"sim faults", func() reply { return a.sim("PUT", "/sim/faults", nil) }, "GET, POST, DELETE"},
		{"sim engagements", func() reply { return a.sim("POST", "/sim/accounts/"+acct+"/engagements", nil) }, "GET"},
		{"sim verb", func() reply { return a.sim("GET", "/sim/accounts/"+acct+"/engagements/"+id+":agentJoin", nil) }, "POST"},
	}
	for _, tc := range cases {
		a.run(tc.name, func(t *testing.T) {
			r := tc.send()
			if r.status != 405 || r.header["Allow"] != tc.allow {
				t.Fatalf("status %d allow %q, want 405 %q", r.status, r.header["Allow"], tc.allow)
			}
			r.problem(t)
		})
	}
}
