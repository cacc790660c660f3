package legacyv1

import (
	"testing"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
)

// The golden tests: every JSON sample of seed 001 (testdata/golden, *.v1 the
// legacy column, *.v1beta the other) decodes into its model, and its
// translation equals the other column's sample field by field, both ways.
// Where it cannot, a rule says why; rules that stop being true fail.

// seedSession is the session the seed's samples are about (sessionId
// 10494b78…, customer participant 4dc53692…, channel provider
// ChatConnector01); the account and customer identifier are those of the
// legacy create-engagement sample. It is what v1beta derives from the
// session and a legacy document carries itself.
var seedSession = SessionContext{
	AccountID:          "DYNNUG",
	SessionID:          "10494b78-710c-11eb-9439-0242ac130002",
	CustomerIdentifier: "[email\u00a0protected]", // with the seed's no-break space
	ChannelProviderID:  "ChatConnector01",
	ParticipantID:      "4dc53692-e25c-4e8c-a780-0b2f05008478",
}

// Reasons the seed's two columns disagree, shared by several samples.
const (
	otherInstant = "the samples were written at different instants (and the legacy one is seconds-sized: as milliseconds it is in 1970)"
	otherAccount = "the legacy sample is of account DYNNUG, the v1beta one of ABCDEF"
	noCorrLegacy = "the legacy request has no correlationId; AXP makes one when none is sent"
	noUrlLegacy  = "the legacy uri names neither host nor account, so no v1beta url is made from it"
	agentOnly    = "the v1beta sample has the agent connected; the legacy one shows the customer only"
	noDialogTime = "a legacy dialog has no timestamps of its own (v1beta added createdAt and lastUpdatedAt)"
)

type goldenCase struct {
	name string
	// forward decodes the legacy sample and translates it to v1beta;
	// backward decodes the v1beta sample and translates it to legacy.
	forward, backward func(t *testing.T, raw []byte) any
	// fwd and back are the rules of each direction.
	fwd, back fieldRules
	// proxy names the direction the proxy itself translates.
	proxy string
}

func decodeInto[T any](t *testing.T, name string, raw []byte) *T {
	t.Helper()
	var v T
	decodeStrict(t, name, raw, &v)
	return &v
}

func goldenCases() []goldenCase {
	return []goldenCase{
		{
			name:  "create_engagement_request",
			proxy: "forward",
			forward: func(t *testing.T, raw []byte) any {
				return decodeInto[CreateEngagement](t, "legacy", raw).V1Beta()
			},
			backward: func(t *testing.T, raw []byte) any {
				return CreateEngagementOf(decodeInto[engagement.CreateEngagement](t, "v1beta", raw), seedSession)
			},
		},
		{
			name:  "disconnect_request",
			proxy: "forward",
			forward: func(t *testing.T, raw []byte) any {
				return decodeInto[DisconnectEngagement](t, "legacy", raw).V1Beta()
			},
			backward: func(t *testing.T, raw []byte) any {
				return DisconnectEngagementOf(decodeInto[engagement.DisconnectEngagement](t, "v1beta", raw), seedSession)
			},
			fwd: fieldRules{lost: map[string]string{"correlationId": noCorrLegacy}},
			back: fieldRules{differs: map[string]string{
				"reason": "USER_DISCONNECTED and USER_CLOSED are both USER_CLOSED in v1beta; the way back cannot tell them apart",
			}},
		},
		{
			name:  "join_request",
			proxy: "forward",
			forward: func(t *testing.T, raw []byte) any {
				return decodeInto[JoinEngagement](t, "legacy", raw).V1Beta()
			},
			backward: func(t *testing.T, raw []byte) any {
				return JoinEngagementOf(decodeInto[engagement.JoinEngagement](t, "v1beta", raw), seedSession)
			},
			fwd: fieldRules{lost: map[string]string{
				"correlationId": noCorrLegacy + " (the sample copies the legacy customerIdentifier's value into it; seed 000 says customerIdentifier is derived from the session, not renamed)",
			}},
			back: fieldRules{differs: map[string]string{
				"customerIdentifier": "the legacy sample's customerIdentifier is a UUID; the proxy repeats the session's identifier",
			}},
		},
		{
			name:  "send_message_request",
			proxy: "forward",
			forward: func(t *testing.T, raw []byte) any {
				return decodeInto[SendMessage](t, "legacy", raw).V1Beta()
			},
			backward: func(t *testing.T, raw []byte) any {
				return SendMessageOf(decodeInto[engagement.SendMessage](t, "v1beta", raw))
			},
		},
		{
			name:  "create_engagement_response",
			proxy: "backward",
			forward: func(t *testing.T, raw []byte) any {
				return decodeInto[EngagementCreated](t, "legacy", raw).V1Beta()
			},
			backward: func(t *testing.T, raw []byte) any {
				return EngagementCreatedOf(decodeInto[engagement.Engagement](t, "v1beta", raw), seedSession)
			},
			fwd: fieldRules{
				differs: map[string]string{"accountId": otherAccount, "dialogs[0].createdAt": otherInstant},
				lost: map[string]string{
					"dialogs[0].dialogStatus":                   "the flat legacy answer has no dialog status",
					"dialogs[0].initiatorParticipantId":         "the flat legacy answer names no participant",
					"dialogs[0].connections[0].connectionId":    "the flat legacy answer has no connections, only the sessionId",
					"dialogs[0].connections[0].participantId":   "the flat legacy answer has no connections, only the sessionId",
					"dialogs[0].connections[0].displayName":     "the flat legacy answer has no connections, only the sessionId",
					"dialogs[0].connections[0].connectionState": "the flat legacy answer has no connections, only the sessionId",
					"dialogs[0].connections[1]":                 agentOnly,
					"dialogs[0].engagementParameters":           "the legacy create answer does not repeat the context parameters",
					"dialogs[0].lastUpdatedAt":                  "the legacy create answer has its creation time only",
					"url":                                       "the legacy create answer has no uri",
				},
			},
			back: fieldRules{differs: map[string]string{"accountId": otherAccount, "createTimeMillis": otherInstant}},
		},
		engagementCase("get_engagement_response", ""),
		engagementCase("list_engagements_response", "[0]"),
		{
			name:  "send_message_response",
			proxy: "backward",
			forward: func(t *testing.T, raw []byte) any {
				return decodeInto[Message](t, "legacy", raw).V1Beta()
			},
			backward: func(t *testing.T, raw []byte) any {
				return MessageOf(decodeInto[engagement.Message](t, "v1beta", raw))
			},
			fwd: fieldRules{
				differs: map[string]string{"receivedAt": otherInstant},
				lost: map[string]string{
					"businessAccountName": "the legacy send sample leaves it out",
					"channelProviderId":   "the legacy send sample leaves it out",
					"channelId":           "the legacy send sample leaves it out",
					"senderParticipantId": "the legacy send sample has no senderId",
					"messageIndex":        "legacy messages have no index (new in v1beta)",
					"lastUpdatedAt":       "the legacy send sample has no lastUpdatedTimestamp",
				},
			},
			back: fieldRules{
				differs: map[string]string{"receivedTimestamp": otherInstant},
				added: map[string]string{
					"businessAccountName":  "a field of the legacy Message model (seed 000) the send sample leaves out",
					"channelProviderId":    "a field of the legacy Message model (seed 000) the send sample leaves out",
					"channelId":            "a field of the legacy Message model (seed 000) the send sample leaves out",
					"senderId":             "a field of the legacy Message model (seed 000) the send sample leaves out",
					"lastUpdatedTimestamp": "a field of the legacy Message model (seed 000) the send sample leaves out",
				},
			},
		},
		{
			name:  "list_messages_response",
			proxy: "backward",
			forward: func(t *testing.T, raw []byte) any {
				legacy := decodeInto[[]Message](t, "legacy", raw)
				out := make([]engagement.Message, 0, len(*legacy))
				for i := range *legacy {
					out = append(out, (*legacy)[i].V1Beta())
				}
				// The legacy list is every message, in one array; v1beta pages it.
				return engagement.Messages{Messages: out}
			},
			backward: func(t *testing.T, raw []byte) any {
				return MessagesOf(decodeInto[engagement.Messages](t, "v1beta", raw).Messages)
			},
			fwd: fieldRules{
				differs: map[string]string{
					"messages[0].dialogId":      "the legacy sample's dialogId is the other samples' sessionId",
					"messages[0].engagementId":  "the samples are of different engagements",
					"messages[0].sessionId":     "the samples are of different sessions",
					"messages[0].receivedAt":    otherInstant,
					"messages[0].lastUpdatedAt": otherInstant,
				},
				added: map[string]string{"messages[0].correlationId": "the legacy list carries each message's correlationId; the v1beta list does not"},
				lost: map[string]string{
					"messages[0].messageIndex": "legacy messages have no index (new in v1beta)",
					"messages[1]":              "the legacy sample lists one message, the v1beta page two",
					"pagination":               "the legacy list is a bare array of every message: no pages",
					"links":                    "the legacy list is a bare array of every message: no pages",
				},
			},
			back: fieldRules{
				differs: map[string]string{
					"[0].dialogId":             "the legacy sample's dialogId is the other samples' sessionId",
					"[0].engagementId":         "the samples are of different engagements",
					"[0].sessionId":            "the samples are of different sessions",
					"[0].receivedTimestamp":    otherInstant,
					"[0].lastUpdatedTimestamp": otherInstant,
				},
				lost:  map[string]string{"[0].correlationId": "v1beta's listed messages carry no correlationId"},
				added: map[string]string{"[1]": "the v1beta page has a second message; the legacy sample lists one"},
			},
		},
	}
}

// engagementCase is get or list (at prefix "[0]") of an engagement: the
// two samples are the same document, alone or in an array.
func engagementCase(name, at string) goldenCase {
	p := func(s string) string {
		if at == "" {
			return s
		}
		return at + "." + s
	}
	translate := func(t *testing.T, raw []byte, forward bool) any {
		if at == "" {
			if forward {
				return decodeInto[Engagement](t, "legacy", raw).V1Beta()
			}
			return EngagementOf(decodeInto[engagement.Engagement](t, "v1beta", raw), seedSession)
		}
		if forward {
			var out []engagement.Engagement
			for _, e := range *decodeInto[[]Engagement](t, "legacy", raw) {
				out = append(out, e.V1Beta())
			}
			return out
		}
		var out []Engagement
		for _, e := range *decodeInto[[]engagement.Engagement](t, "v1beta", raw) {
			out = append(out, EngagementOf(&e, seedSession))
		}
		return out
	}
	return goldenCase{
		name:     name,
		proxy:    "backward",
		forward:  func(t *testing.T, raw []byte) any { return translate(t, raw, true) },
		backward: func(t *testing.T, raw []byte) any { return translate(t, raw, false) },
		fwd: fieldRules{
			differs: map[string]string{
				p("dialogs[0].dialogStatus"):                "the samples show the dialog in different states (CREATED is PENDING)",
				p("dialogs[0].connections[0].connectionId"): "the samples give the customer's connection different ids",
			},
			added: map[string]string{p("correlationId"): "the legacy engagement carries a correlationId the v1beta sample lacks"},
			lost: map[string]string{
				p("dialogs[0].connections[1]"): agentOnly,
				p("dialogs[0].createdAt"):      noDialogTime,
				p("dialogs[0].lastUpdatedAt"):  noDialogTime,
				p("url"):                       noUrlLegacy,
			},
		},
		back: fieldRules{
			differs: map[string]string{
				p("dialogs[0].dialogStatus"):                "the samples show the dialog in different states (PENDING is CREATED)",
				p("dialogs[0].connections[0].connectionId"): "the samples give the customer's connection different ids",
				p("createTimeMillis"):                       otherInstant,
				p("updateTimeMillis"):                       otherInstant,
			},
			lost:  map[string]string{p("correlationId"): "v1beta's get and list answers carry no correlationId"},
			added: map[string]string{p("dialogs[0].connections[1]"): agentOnly},
		},
	}
}

func TestGoldenSeedSamplesTranslateFieldByField(t *testing.T) {
	for _, tc := range goldenCases() {
		legacy, v1beta := golden(t, tc.name+".v1"), golden(t, tc.name+".v1beta")
		t.Run(tc.name+"/legacy to v1beta", func(t *testing.T) {
			compareFields(t, mustJSON(t, tc.forward(t, legacy)), v1beta, tc.fwd)
		})
		t.Run(tc.name+"/v1beta to legacy", func(t *testing.T) {
			compareFields(t, mustJSON(t, tc.backward(t, v1beta)), legacy, tc.back)
		})
	}
}

// The seed has no legacy disconnect answer ("No response object."): the
// v1beta echo decodes, and the face answers 200 with no body (face_test).
func TestGoldenDisconnectAnswerDecodes(t *testing.T) {
	d := decodeInto[engagement.DisconnectEngagement](t, "v1beta", golden(t, "disconnect_response.v1beta"))
	if d.Reason != engagement.ReasonUserClosed || d.SessionID != seedSession.SessionID {
		t.Fatalf("decoded %+v", d)
	}
}
