package legacyv1

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/mapping"
)

var update = flag.Bool("update", false, "rewrite testdata/webhook/*.json from the current encoding")

// legacyConv is a conversation record as the face writes it.
func legacyConv() *mapping.Conversation {
	return &mapping.Conversation{
		ID:        "legacyv1:fc741b00-710b-11eb-9439-0242ac130002",
		Owner:     mapping.ConsumerKey{Face: OwnerFace, Account: "ABCDEF", Consumer: "10494b78-710c-11eb-9439-0242ac130002"},
		SessionID: "10494b78-710c-11eb-9439-0242ac130002", EngagementID: "8d7cf5b8-70ad-11eb-9439-0242ac130002",
		DialogID: "fc741b00-710b-11eb-9439-0242ac130002", ParticipantID: "4dc53692-e25c-4e8c-a780-0b2f05008478",
		State: mapping.StateOpen,
		Attrs: map[string]string{attrCustomerIdentifier: "john@example.com", attrChannelProvider: "ChatConnector01"},
	}
}

// The AXP events of the reference (§5.4, the engagement package's golden
// files) encode as legacy payloads: eventType, tenantId, epoch times,
// channelId CHAT, legacy names. The encodings are pinned in
// testdata/webhook (go test -update rewrites them after a deliberate change).
func TestAXPEventsEncodeAsLegacyWebhooks(t *testing.T) {
	cases := []struct {
		event string
		// want holds fields of the payload (canonical JSON) it must have.
		want map[string]string
		// gone are v1beta names that must not appear.
		gone []string
	}{
		{"Event__ref5_messages", map[string]string{
			"eventType": `"MESSAGES"`, "tenantId": `"ABCDEF"`, "channelId": `"CHAT"`, "status": `"DELIVERED"`,
			"senderType": `"AGENT"`, "senderName": `"Jane Doe"`, "senderId": `"277cacfe-710c-11eb-9439-0242ac130002"`,
			"receivedTimestamp": "1542140739534", "lastUpdatedTimestamp": "1542140739734",
			"recipientParticipants[0].participantAddress": `"johndoe@example.com"`,
			"correlationId":         `"zc38400d-c44f-4451-8316-e75c4efbt779"`,
			"body.elementText.text": `"What is the make and model?"`,
		}, []string{"senderParticipantType", "senderParticipantName", "receivedAt", "lastUpdatedAt", "messageIndex", "eventDate"}},
		{"Event__ref5_participant_added", map[string]string{
			"eventType": `"PARTICIPANT_ADDED"`, "tenantId": `"ABCDEF"`, "channelId": `"CHAT"`, "participantType": `"AGENT"`,
			"displayName": `"Andy Morgan"`, "createdTimestamp": "1542140739734",
		}, []string{"eventDate", "accountId"}},
		{"Event__ref5_participant_disconnected", map[string]string{
			"eventType": `"PARTICIPANT_DISCONNECTED"`, "tenantId": `"ABCDEF"`, "channelId": `"CHAT"`, "createdTimestamp": "1542140739734",
		}, []string{"eventDate"}},
		{"Event__ref5_engagement_created", map[string]string{
			"eventType": `"ENGAGEMENT_CREATED"`, "tenantId": `"ABCDEF"`, "channelId": `"CHAT"`,
			"customerIdentifier": `"john@example.com"`, "contextParameters.model": `"512GTB"`, "createdTimestamp": "1542140739734",
		}, []string{"engagementParameters", "customerIdentifiers", "initiatorParticipantId", "eventDate"}},
		{"Event__ref5_engagement_error", map[string]string{
			"eventType": `"ENGAGEMENT_ERROR"`, "tenantId": `"ABCDEF"`, "channelId": `"CHAT"`, "type": `"ENGAGEMENT_CREATION_FAILED"`,
			"createdTimestamp": "1542140739734",
		}, []string{"eventDate"}},
	}
	for _, tc := range cases {
		t.Run(tc.event, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("..", "engagement", "testdata", "golden", tc.event+".json"))
			if err != nil {
				t.Fatal(err)
			}
			ev, err := engagement.DecodeEvent(raw)
			if err != nil {
				t.Fatal(err)
			}
			body, ok, err := EncodeEvent(ev, ContextOf(legacyConv()))
			if err != nil || !ok {
				t.Fatalf("EncodeEvent() = %v, %v", ok, err)
			}
			flat := flatten(t, body)
			for path, want := range tc.want {
				if flat[path] != want {
					t.Errorf("%s = %s, want %s", path, flat[path], want)
				}
			}
			for path := range flat {
				for _, g := range tc.gone {
					if covers(g, path) {
						t.Errorf("v1beta field %s in the legacy payload", path)
					}
				}
				// Every time is epoch milliseconds, no ISO string.
				if strings.HasSuffix(path, "Timestamp") && strings.HasPrefix(flat[path], `"`) {
					t.Errorf("%s is %s, not epoch milliseconds", path, flat[path])
				}
			}
			file := filepath.Join("testdata", "webhook", strings.TrimPrefix(tc.event, "Event__ref5_")+".json")
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, body, "", "  "); err != nil {
				t.Fatal(err)
			}
			pretty.WriteByte('\n')
			if *update {
				if err := os.WriteFile(file, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			pinned, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test -update once to write it)", err)
			}
			if !bytes.Equal(pinned, pretty.Bytes()) {
				t.Fatalf("payload changed:\n got: %s\nwant: %s", pretty.Bytes(), pinned)
			}
		})
	}
}

func TestEventsTheLegacyAPIHasNoPayloadForAreNotSent(t *testing.T) {
	ev, err := engagement.DecodeEvent([]byte(`{"eventType":"TYPING","eventDate":"2018-11-13T20:25:39.734Z","dialogId":"d"}`))
	if err != nil {
		t.Fatal(err)
	}
	eff, err := applyEvent(legacyConv(), ev, []*Webhook{{Subscriptions: []WebhookRegistration{{CallbackURL: "https://x", EventTypes: []string{"ALL"}}}}},
		time.Unix(1, 0), time.Hour)
	if err != nil || len(eff.Append) != 0 || len(eff.Outbox) != 0 {
		t.Fatalf("Apply(TYPING) = %+v, %v; want nothing", eff, err)
	}
}

func TestApplyDeliversToTheRegistrationsThatWantTheEvent(t *testing.T) {
	hooks := []*Webhook{
		{WebhookID: "w1", Subscriptions: []WebhookRegistration{
			{CallbackURL: "https://a.example/all", EventTypes: []string{"ALL"}},
			{CallbackURL: "https://a.example/customer", EventTypes: []string{"CUSTOMER_MESSAGES"}},
		}},
		{WebhookID: "w2", Subscriptions: []WebhookRegistration{
			{CallbackURL: "https://b.example/cc", EventTypes: []string{"CC_MESSAGES", "PARTICIPANT_ADDED"}},
			{CallbackURL: "https://a.example/all", EventTypes: []string{"MESSAGES"}}, // the same URL twice: one POST
		}},
		{WebhookID: "w3", Subscriptions: []WebhookRegistration{{CallbackURL: "https://c.example/errors", EventTypes: []string{"ENGAGEMENT_ERROR"}}}},
	}
	agentMessage := &engagement.Event{EventType: "MESSAGES", Message: &engagement.Message{DialogID: "d", EngagementID: "e",
		SenderParticipantType: "AGENT", Body: engagement.Body{ElementType: "text", ElementText: &engagement.ElementText{Text: "hi"}}}}
	customerMessage := &engagement.Event{EventType: "MESSAGES", Message: &engagement.Message{DialogID: "d", EngagementID: "e", SenderParticipantType: "CUSTOMER"}}
	added := &engagement.Event{EventType: "PARTICIPANT_ADDED", Participant: &engagement.ParticipantEvent{DialogID: "d", EngagementID: "e", ConnectionID: "c"}}
	cases := []struct {
		name    string
		ev      *engagement.Event
		targets []string
	}{
		{"an agent's message", agentMessage, []string{"https://a.example/all", "https://b.example/cc"}},
		{"a customer's message", customerMessage, []string{"https://a.example/all", "https://a.example/customer"}},
		{"a participant added", added, []string{"https://a.example/all", "https://b.example/cc"}},
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			conv := legacyConv()
			eff, err := applyEvent(conv, tc.ev, hooks, now, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if len(eff.Append) != 1 || eff.Append[0].Log != LogNotifications {
				t.Fatalf("notification records %+v", eff.Append)
			}
			var got []string
			for _, it := range eff.Outbox {
				got = append(got, it.Target)
				if it.Queue != conv.ID || it.Face != OwnerFace || !bytes.Equal(it.Body, eff.Append[0].Data) || it.Kind != "legacyv1."+tc.ev.EventType ||
					it.Headers["Content-Type"] != "application/json" || !it.NextAttempt.Equal(now) || !it.Expires.Equal(now.Add(time.Hour)) {
					t.Errorf("outbox item %+v", it)
				}
			}
			if !slices.Equal(got, tc.targets) {
				t.Fatalf("targets %v, want %v (effects %+v)", got, tc.targets, eff)
			}
		})
	}
}

func TestWebhookRegistrationNamesTheBadElement(t *testing.T) {
	cases := []struct {
		name, body string
		insecure   bool
		field      string
	}{
		{"one object instead of an array", `{"callbackUrl":"https://x.example","eventTypes":["ALL"]}`, false, ""},
		{"an empty array", `[]`, false, ""},
		{"no callback", `[{"eventTypes":["ALL"]}]`, false, "[0].callbackUrl"},
		{"a relative callback", `[{"callbackUrl":"/hooks","eventTypes":["ALL"]}]`, false, "[0].callbackUrl"},
		{"plain http to another host", `[{"callbackUrl":"https://a.example","eventTypes":["ALL"]},{"callbackUrl":"http://b.example/h","eventTypes":["ALL"]}]`, false, "[1].callbackUrl"},
		{"no event types", `[{"callbackUrl":"https://a.example"}]`, false, "[0].eventTypes"},
		{"an unknown event type", `[{"callbackUrl":"https://a.example","eventTypes":["MESSAGES","TYPING"]}]`, false, "[0].eventTypes[1]"},
		{"event types that are not a list", `[{"callbackUrl":"https://a.example","eventTypes":"ALL"}]`, false, "eventTypes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, e := DecodeWebhookRegistration([]byte(tc.body), tc.insecure)
			if e == nil || e.Status != 400 || !strings.HasSuffix(e.Field(), tc.field) || (tc.field == "" && e.Field() != "") {
				t.Fatalf("error %+v, want a 400 naming %q", e, tc.field)
			}
		})
	}
	good := []struct {
		body     string
		insecure bool
	}{
		{`[{"callbackUrl":"https://hooks.example/legacy","eventTypes":["ALL"]}]`, false},
		{`[{"callbackUrl":"http://127.0.0.1:8000/allEvents","eventTypes":["ALL"]}]`, false},
		{`[{"callbackUrl":"http://135.123.64.157:8000/allEvents","eventTypes":["MESSAGES"]}]`, true},
	}
	for _, g := range good {
		if regs, e := DecodeWebhookRegistration([]byte(g.body), g.insecure); e != nil || len(regs) != 1 {
			t.Errorf("DecodeWebhookRegistration(%s) = %+v, %v", g.body, regs, e)
		}
	}
}
