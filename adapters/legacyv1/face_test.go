package legacyv1

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/connector-proxy/connector-proxy/simulator"
)

// A legacy client's whole conversation over HTTP, in the shapes of seed 001
// and the legacy clients of the reference (S16, S17c): token → webhook →
// session → engagement → send → the agent joins and answers (legacy
// webhooks, and the notifications v1beta dropped) → messages as an array
// with epoch times → disconnect → terminate.
func TestLegacyClientConversation(t *testing.T) {
	h := startHarness(t, nil)
	tok := h.mustToken()

	r := h.call("POST", "/api/digital/v1/channel-providers/"+hProvider+"/webhooks", tok,
		`[{"callbackUrl":"`+h.hooksURL+`","eventTypes":["ALL"]}]`)
	var hook Webhook
	r.json(t, &hook)
	if r.status != 201 || hook.WebhookID == "" || len(hook.Subscriptions) != 1 {
		t.Fatalf("register webhook: %d %s", r.status, r.body)
	}

	r = h.call("POST", "/api/digital/v1/sessions", tok, `{"accountId":"ABCDEF","customerIdentifier":"john@example.com",
		"displayName":"John Doe","firstName":"John","lastName":"Doe","emailAddress":"john@example.com","contactNumber":"+91 20 4101 8003",
		"sessionParameters":{"language":"english"}}`)
	var sess map[string]any
	r.json(t, &sess)
	if r.status != 201 || sess["sessionStatus"] != "ACTIVE" || sess["customerIdentifier"] != "john@example.com" {
		t.Fatalf("create session: %d %s", r.status, r.body)
	}
	if _, isNumber := sess["createTimeMillis"].(float64); !isNumber {
		t.Fatalf("createTimeMillis is not epoch milliseconds: %s", r.body)
	}
	sessionID := sess["sessionId"].(string)
	participant := sess["participantId"].(string)

	// The seed's create request, on this session.
	r = h.call("POST", "/api/digital/v1/engagements", tok, `{"correlationId":"zc38400d-c44f-4451-8316-e75c4efbt779",
		"sessionId":"`+sessionID+`","accountId":"ABCDEF","customerIdentifier":"john@example.com","conversation":"sell car",
		"channelProviderId":"ChatConnector01","providerDialogId":"616imlgwg266hjs670nl","mediaType":"CHAT",
		"contextParameters":{"model":"512GTB","interestedModel":"488GTB"}}`)
	var created EngagementCreated
	r.json(t, &created)
	if r.status != 200 || created.EngagementID == "" || created.DialogID == "" || created.SessionID != sessionID ||
		created.MediaType != "CHAT" || created.CreateTimeMillis == 0 || created.CorrelationID != "zc38400d-c44f-4451-8316-e75c4efbt779" ||
		created.ProviderDialogID != "616imlgwg266hjs670nl" {
		t.Fatalf("create engagement: %d %s", r.status, r.body)
	}
	eid, did := created.EngagementID, created.DialogID
	if c := h.conversation(did); !c.Open() || c.Owner.Face != OwnerFace || c.EngagementID != eid {
		t.Fatalf("conversation record %+v", c)
	}

	r = h.call("POST", "/api/digital/v1/engagements/"+eid+"/messages", tok, `{"sessionId":"`+sessionID+`","dialogId":"`+did+`",
		"body":{"elementType":"text","elementText":{"text":"I need some help to sell my car"}},"correlationId":"CORQ8fk4oAWV997",
		"senderName":"John Doe","senderType":"CUSTOMER"}`)
	var sent Message
	r.json(t, &sent)
	if r.status != 200 || sent.Status != "QUEUED" || sent.SenderType != "CUSTOMER" || sent.SenderName != "John Doe" || sent.ReceivedTimestamp == 0 {
		t.Fatalf("send: %d %s", r.status, r.body)
	}

	if _, err := h.sim.Sim.AgentJoin(hAccount, eid, simulator.AgentJoin{DisplayName: "Joan Doe"}); err != nil {
		t.Fatal(err)
	}
	added := h.hook("PARTICIPANT_ADDED")
	if added["tenantId"] != hAccount || added["channelId"] != "CHAT" || added["participantType"] != "AGENT" || added["engagementId"] != eid {
		t.Fatalf("PARTICIPANT_ADDED webhook %v", added)
	}
	if _, err := h.sim.Sim.AgentMessage(hAccount, eid, simulator.AgentMessage{Text: "Sure. How long have you been using it?"}); err != nil {
		t.Fatal(err)
	}
	msg := h.hook("MESSAGES")
	body, _ := msg["body"].(map[string]any)
	text, _ := body["elementText"].(map[string]any)
	if msg["tenantId"] != hAccount || msg["channelId"] != "CHAT" || msg["senderType"] != "AGENT" || msg["senderName"] != "Joan Doe" ||
		text["text"] != "Sure. How long have you been using it?" || msg["dialogId"] != did || msg["engagementId"] != eid ||
		msg["status"] != "DELIVERED" || msg["providerDialogId"] != "616imlgwg266hjs670nl" || msg["@path"] != "/allEvents" {
		t.Fatalf("MESSAGES webhook %v", msg)
	}
	if _, isNumber := msg["receivedTimestamp"].(float64); !isNumber {
		t.Fatalf("receivedTimestamp is not epoch milliseconds: %v", msg)
	}
	for _, v1beta := range []string{"senderParticipantType", "senderParticipantName", "receivedAt", "eventDate"} {
		if _, ok := msg[v1beta]; ok {
			t.Fatalf("v1beta field %s in the legacy webhook %v", v1beta, msg)
		}
	}

	// GET …/notifications, which v1beta dropped, lists what was received.
	r = h.call("GET", "/api/digital/v1/engagements/"+eid+"/notifications", tok, "")
	var notes []map[string]any
	r.json(t, &notes)
	if r.status != 200 || len(notes) != 2 || notes[0]["eventType"] != "PARTICIPANT_ADDED" || notes[1]["eventType"] != "MESSAGES" {
		t.Fatalf("notifications: %d %s", r.status, r.body)
	}
	// The same payloads as the webhooks: the legacy shape.
	delete(msg, "@path")
	if got, want := string(mustJSON(t, notes[1])), string(mustJSON(t, msg)); got != want {
		t.Fatalf("notification %s, webhook %s", got, want)
	}

	// The messages: one bare array, epoch times, legacy names.
	r = h.call("GET", "/api/digital/v1/engagements/"+eid+"/messages?dialogId="+did+"&sessionId="+sessionID, tok, "")
	var raw []map[string]any
	r.json(t, &raw)
	if r.status != 200 || len(raw) != 2 || raw[0]["senderType"] != "CUSTOMER" || raw[1]["senderType"] != "AGENT" {
		t.Fatalf("messages: %d %s", r.status, r.body)
	}
	for _, m := range raw {
		if _, isNumber := m["receivedTimestamp"].(float64); !isNumber || m["channelId"] != "CHAT" {
			t.Fatalf("message %v: want epoch receivedTimestamp and channelId CHAT", m)
		}
	}

	r = h.call("GET", "/api/digital/v1/engagements/"+eid, tok, "")
	var eng Engagement
	r.json(t, &eng)
	if r.status != 200 || len(eng.Dialogs) != 1 || eng.Dialogs[0].MediaType != "CHAT" || eng.Dialogs[0].DialogStatus != "ACTIVE" ||
		eng.Dialogs[0].SourceParticipantID != participant || eng.EngagementStatus != "ACTIVE" || eng.URI != EngagementURI(eid) ||
		eng.Dialogs[0].ContextParameters["model"] != "512GTB" || eng.CustomerIdentifier != "john@example.com" {
		t.Fatalf("get engagement: %d %s", r.status, r.body)
	}
	states := map[string]string{}
	for _, c := range eng.Dialogs[0].Connections {
		states[c.ParticipantType] = c.ConnectionState
	}
	if states["CUSTOMER"] != "ACTIVE" || states["AGENT"] != "ACTIVE" {
		t.Fatalf("connections %+v", eng.Dialogs[0].Connections)
	}
	r = h.call("GET", "/api/digital/v1/engagements?sessionId="+sessionID, tok, "")
	var list []Engagement
	r.json(t, &list)
	if r.status != 200 || len(list) != 1 || list[0].EngagementID != eid {
		t.Fatalf("list engagements: %d %s", r.status, r.body)
	}

	// S17c's disconnect: participantId and USER_DISCONNECTED; 200, no body.
	r = h.call("POST", "/api/digital/v1/engagements/"+eid+":disconnect", tok,
		`{"sessionId":"`+sessionID+`","dialogId":"`+did+`","participantId":"`+participant+`","reason":"USER_DISCONNECTED"}`)
	if r.status != 200 || len(r.body) != 0 {
		t.Fatalf("disconnect: %d %s", r.status, r.body)
	}
	// Recorded before the answer: the conversation is over.
	if c := h.conversation(did); c.Open() || c.CloseReason != closedByCustomer || c.ClosedAt.IsZero() {
		t.Fatalf("conversation after disconnect %+v", c)
	}
	// AXP's PARTICIPANT_DISCONNECTED for the customer reaches the webhook too.
	if left := h.hook("PARTICIPANT_DISCONNECTED"); left["participantType"] != "CUSTOMER" || left["engagementId"] != eid {
		t.Fatalf("PARTICIPANT_DISCONNECTED webhook %v", left)
	}
	r = h.call("POST", "/api/digital/v1/sessions/"+sessionID+":terminate", tok, `{"reason":"USER_CLOSED"}`)
	if r.status != 200 {
		t.Fatalf("terminate: %d %s", r.status, r.body)
	}
	r = h.call("GET", "/api/digital/v1/sessions/"+sessionID, tok, "")
	r.json(t, &sess)
	if r.status != 200 || sess["sessionStatus"] != "TERMINATED" || sess["participantId"] != participant {
		t.Fatalf("session after terminate: %d %s", r.status, r.body)
	}
	r = h.call("DELETE", "/api/digital/v1/channel-providers/"+hProvider+"/webhooks/"+hook.WebhookID, tok, "")
	if r.status != 200 {
		t.Fatalf("delete webhook: %d %s", r.status, r.body)
	}
}

// Bad legacy input gets the legacy error naming the field, and makes
// nothing: no AXP call, no record.
func TestBadLegacyRequestsCreateNothing(t *testing.T) {
	h := startHarness(t, nil)
	tok := h.mustToken()
	r := h.call("POST", "/api/digital/v1/sessions", tok, `{"customerIdentifier":"c-1"}`)
	var s Session
	r.json(t, &s)
	if r.status != 201 {
		t.Fatalf("session: %d %s", r.status, r.body)
	}
	r = h.call("POST", "/api/digital/v1/engagements", tok, `{"sessionId":"`+s.SessionID+`"}`)
	var e EngagementCreated
	r.json(t, &e)
	if r.status != 200 {
		t.Fatalf("engagement: %d %s", r.status, r.body)
	}
	sid, eid, did := s.SessionID, e.EngagementID, e.DialogID
	const unknown = "6f1c2f1e-0000-4000-8000-000000000000"
	cases := []struct {
		name, method, path, body string
		status                   int
		field                    string
	}{
		{"a session without an identifier", "POST", "/api/digital/v1/sessions", `{"accountId":"ABCDEF","displayName":"x"}`, 400, "customerIdentifier"},
		{"a session of another account", "POST", "/api/digital/v1/sessions", `{"accountId":"QQQQQQ","customerIdentifier":"c"}`, 403, "accountId"},
		{"a session of another channel provider", "POST", "/api/digital/v1/sessions", `{"customerIdentifier":"c","channelProviderId":"X"}`, 400, "channelProviderId"},
		{"a session body that is not JSON", "POST", "/api/digital/v1/sessions", `{"customerIdentifier":`, 400, ""},
		{"an engagement on another media", "POST", "/api/digital/v1/engagements", `{"sessionId":"` + sid + `","mediaType":"SMS"}`, 400, "mediaType"},
		{"an engagement with numeric context", "POST", "/api/digital/v1/engagements", `{"sessionId":"` + sid + `","contextParameters":{"model":512}}`, 400, "contextParameters"},
		{"an engagement of a session the client did not make", "POST", "/api/digital/v1/engagements", `{"sessionId":"` + unknown + `"}`, 404, "sessionId"},
		{"an engagement without a session", "POST", "/api/digital/v1/engagements", `{"conversation":"x"}`, 400, "sessionId"},
		{"an engagement with a providerDialogId too long", "POST", "/api/digital/v1/engagements", `{"sessionId":"` + sid + `","providerDialogId":"` + strings.Repeat("p", 257) + `"}`, 400, "providerDialogId"},
		{"a message with a providerMessageId too long", "POST", "/api/digital/v1/engagements/" + eid + "/messages", `{"sessionId":"` + sid + `","dialogId":"` + did + `","body":"x","providerMessageId":"` + strings.Repeat("m", 257) + `"}`, 400, "providerMessageId"},
		{"a message from an agent", "POST", "/api/digital/v1/engagements/" + eid + "/messages", `{"sessionId":"` + sid + `","dialogId":"` + did + `","body":"x","senderType":"AGENT"}`, 400, "senderType"},
		{"a message without text", "POST", "/api/digital/v1/engagements/" + eid + "/messages", `{"sessionId":"` + sid + `","dialogId":"` + did + `","body":{"elementType":"text"}}`, 400, "body.elementText.text"},
		{"a message to a dialog of another engagement", "POST", "/api/digital/v1/engagements/" + unknown + "/messages", `{"sessionId":"` + sid + `","dialogId":"` + did + `","body":"x"}`, 404, "dialogId"},
		{"a message list without a dialog", "GET", "/api/digital/v1/engagements/" + eid + "/messages?sessionId=" + sid, "", 400, "dialogId"},
		{"an engagement list without a session", "GET", "/api/digital/v1/engagements", "", 400, "sessionId"},
		{"a disconnect for another participant", "POST", "/api/digital/v1/engagements/" + eid + ":disconnect", `{"sessionId":"` + sid + `","dialogId":"` + did + `","participantId":"someone-else"}`, 400, "participantId"},
		{"a disconnect with an unknown reason", "POST", "/api/digital/v1/engagements/" + eid + ":disconnect", `{"sessionId":"` + sid + `","dialogId":"` + did + `","reason":"BORED"}`, 400, "reason"},
		{"a terminate of a session the client did not make", "POST", "/api/digital/v1/sessions/" + unknown + ":terminate", ``, 404, "sessionId"},
		{"a webhook registration that is one object", "POST", "/api/digital/v1/channel-providers/" + hProvider + "/webhooks", `{"callbackUrl":"https://x.example"}`, 400, ""},
		{"a webhook to plain http elsewhere", "POST", "/api/digital/v1/channel-providers/" + hProvider + "/webhooks", `[{"callbackUrl":"http://x.example/h","eventTypes":["ALL"]}]`, 400, "[0].callbackUrl"},
		{"a webhook of another channel provider", "POST", "/api/digital/v1/channel-providers/Other/webhooks", `[{"callbackUrl":"https://x.example/h","eventTypes":["ALL"]}]`, 404, "channelProviderId"},
		{"a delete of an unknown webhook", "DELETE", "/api/digital/v1/channel-providers/" + hProvider + "/webhooks/nope", "", 404, "webhookId"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			calls, engagements, hooks := h.backend.n(), h.engagementCount(), h.webhookCount()
			r := h.call(tc.method, tc.path, tok, tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if e := r.legacyError(t); e.Field() != tc.field {
				t.Fatalf("error names %q, want %q: %s", e.Field(), tc.field, r.body)
			}
			if got := h.backend.n(); got != calls {
				t.Fatalf("%d AXP calls for bad input, want none", got-calls)
			}
			if got := h.engagementCount(); got != engagements {
				t.Fatalf("engagements %d → %d", engagements, got)
			}
			if got := h.webhookCount(); got != hooks {
				t.Fatalf("webhooks %d → %d", hooks, got)
			}
		})
	}
	// AXP's own violations come back under the legacy names.
	h.t = t
	long := strings.Repeat("x", 80)
	r = h.call("POST", "/api/digital/v1/sessions", tok, `{"customerIdentifier":"c","displayName":"`+long+`"}`)
	if r.status != 400 || r.legacyError(t).Field() != "displayName" {
		t.Fatalf("AXP violation: %d %s", r.status, r.body)
	}
	r = h.call("POST", "/api/digital/v1/engagements", tok, `{"sessionId":"`+sid+`","contextParameters":{"`+long+`":"v"}}`)
	if e := r.legacyError(t); r.status != 400 || !strings.HasPrefix(e.Field(), "contextParameters") {
		t.Fatalf("AXP violation of engagementParameters: %d %s", r.status, r.body)
	}
}

func TestLegacyTokens(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	h := startHarness(t, func(c *Config) { c.Now = clock.Now })
	cases := []struct {
		name, id, secret string
		status           int
		oauthErr         string
	}{
		{"the configured client", hClient, hSecret, 200, ""},
		{"a wrong secret", hClient, "nope", 401, "invalid_client"},
		{"an unknown client", "other", hSecret, 401, "invalid_client"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			r := h.token(tc.id, tc.secret)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.oauthErr != "" {
				var e oauthError
				r.json(t, &e)
				if e.Error != tc.oauthErr {
					t.Fatalf("error %q, want %q", e.Error, tc.oauthErr)
				}
			}
		})
	}
	h.t = t
	// Another account's realm does not exist here.
	r := h.call("POST", "/auth/realms/QQQQQQ/protocol/openid-connect/token", "", "")
	if r.status != 404 {
		t.Fatalf("other realm: %d %s", r.status, r.body)
	}
	tok := h.mustToken()
	probe := func(token string) int {
		return h.call("GET", "/api/digital/v1/sessions/6f1c2f1e-0000-4000-8000-000000000000", token, "").status
	}
	if got := probe(tok); got != 404 { // authenticated: the session is simply unknown
		t.Fatalf("with a token: %d", got)
	}
	if r := h.call("GET", "/api/digital/v1/sessions/x", "", ""); r.status != 401 || r.legacyError(t).Status != 401 {
		t.Fatalf("without a token: %d %s", r.status, r.body)
	}
	if got := probe(tok + "x"); got != 401 {
		t.Fatalf("with a forged token: %d", got)
	}
	clock.Add(901 * time.Second)
	if got := probe(tok); got != 401 {
		t.Fatalf("with an expired token: %d", got)
	}
}

func TestUnknownPathsAndMethods(t *testing.T) {
	h := startHarness(t, nil)
	tok := h.mustToken()
	if r := h.call("GET", "/api/digital/v1/nothing", tok, ""); r.status != 404 || r.legacyError(t).Status != 404 {
		t.Fatalf("unknown path: %d %s", r.status, r.body)
	}
	r := h.call("DELETE", "/api/digital/v1/sessions", tok, "")
	if r.status != 405 || r.header.Get("Allow") != "POST" {
		t.Fatalf("wrong method: %d %v %s", r.status, r.header, r.body)
	}
	big := `{"customerIdentifier":"` + strings.Repeat("x", DefaultMaxBodyBytes) + `"}`
	if r := h.call("POST", "/api/digital/v1/sessions", tok, big); r.status != 413 {
		t.Fatalf("huge body: %d", r.status)
	}
	var e Error
	if err := json.Unmarshal(h.call("POST", "/api/digital/v1/sessions:x", tok, "").body, &e); err != nil || e.Status != 404 {
		t.Fatalf("bad verb: %+v %v", e, err)
	}
}
