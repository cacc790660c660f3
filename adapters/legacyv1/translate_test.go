package legacyv1

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/mapping"
)

var testBinding = Binding{AccountID: "ABCDEF", ChannelProviderID: "ChatConnector01", IdentifierKey: "lpCustomer"}

func TestEnumerationsMapBothWays(t *testing.T) {
	cases := []struct {
		name           string
		toLegacy       func(string) string
		toV1Beta       func(string) string
		v1beta, legacy string
		roundTrips     bool
	}{
		{"channel Chat is mediaType CHAT", MediaTypeOf, ChannelOf, "Chat", "CHAT", true},
		{"a lower-case chat is Chat", MediaTypeOf, ChannelOf, "Chat", "chat", false},
		{"no mediaType is Chat", MediaTypeOf, ChannelOf, "Chat", "", false},
		{"dialog PENDING is CREATED", DialogStatusOf, V1BetaDialogStatus, "PENDING", "CREATED", true},
		{"dialog ACTIVE stays", DialogStatusOf, V1BetaDialogStatus, "ACTIVE", "ACTIVE", true},
		{"dialog TERMINATED stays", DialogStatusOf, V1BetaDialogStatus, "TERMINATED", "TERMINATED", true},
		{"connection CONNECTED is ACTIVE", ConnectionStateOf, V1BetaConnectionState, "CONNECTED", "ACTIVE", true},
		{"connection INACTIVE is still CONNECTED", ConnectionStateOf, V1BetaConnectionState, "CONNECTED", "INACTIVE", false},
		{"connection DISCONNECTED stays", ConnectionStateOf, V1BetaConnectionState, "DISCONNECTED", "DISCONNECTED", true},
		{"message SENT is QUEUED", MessageStatusOf, V1BetaMessageStatus, "SENT", "QUEUED", true},
		{"message DELIVERED stays", MessageStatusOf, V1BetaMessageStatus, "DELIVERED", "DELIVERED", true},
		{"reason USER_DISCONNECTED is USER_CLOSED", nil, V1BetaReason, "USER_CLOSED", "USER_DISCONNECTED", false},
		{"reason USER_INACTIVE stays", nil, V1BetaReason, "USER_INACTIVE", "USER_INACTIVE", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.toV1Beta(tc.legacy); got != tc.v1beta {
				t.Errorf("to v1beta(%q) = %q, want %q", tc.legacy, got, tc.v1beta)
			}
			if tc.roundTrips {
				if got := tc.toLegacy(tc.v1beta); got != tc.legacy {
					t.Errorf("to legacy(%q) = %q, want %q", tc.v1beta, got, tc.legacy)
				}
			}
		})
	}
}

func TestMillisDecodesEveryLegacyForm(t *testing.T) {
	want := time.Date(2020, 8, 14, 19, 35, 17, 833e6, time.UTC)
	cases := []struct {
		name, in string
		want     Millis
		bad      bool
	}{
		{"a number", `1597433717833`, Millis(want.UnixMilli()), false},
		{"a numeric string", `"1597433717833"`, Millis(want.UnixMilli()), false},
		{"an ISO-8601 string", `"2020-08-14T19:35:17.833Z"`, Millis(want.UnixMilli()), false},
		{"a whole float", `1.597433717833e12`, Millis(want.UnixMilli()), false},
		{"null", `null`, 0, false},
		{"an empty string", `""`, 0, false},
		{"a fraction of a millisecond", `1597433717833.5`, 0, true},
		{"a word", `"soon"`, 0, true},
		{"an object", `{}`, 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var m Millis
			err := json.Unmarshal([]byte(tc.in), &m)
			if tc.bad {
				if err == nil {
					t.Fatalf("decoded %s as %d, want an error", tc.in, m)
				}
				return
			}
			if err != nil || m != tc.want {
				t.Fatalf("decoded %s as %d, %v; want %d", tc.in, m, err, tc.want)
			}
		})
	}
	// Both ways: ISO-8601 with milliseconds ↔ epoch milliseconds.
	iso := engagement.NewTime(want)
	if got := MillisOf(iso); got.Time() != iso {
		t.Fatalf("round trip of %v gave %v", iso, got.Time())
	}
	if b, _ := json.Marshal(MillisOf(iso)); string(b) != "1597433717833" {
		t.Fatalf("encoded as %s", b)
	}
	if MillisOf(engagement.Time{}) != 0 || !Millis(0).Time().IsZero() {
		t.Fatal("zero time must be 0 and back")
	}
}

func TestCreateSessionMapsTheSingleIdentifierAndContacts(t *testing.T) {
	cases := []struct {
		name    string
		in      CreateSession
		ids     engagement.CustomerIdentifiers
		display string
	}{
		{"identifier under the configured key, contacts under theirs",
			CreateSession{CustomerIdentifier: "c-42", EmailAddress: "ada@example.com", ContactNumber: "+44 20 1", FirstName: "Ada", LastName: "Lovelace"},
			engagement.CustomerIdentifiers{"lpCustomer": {"c-42"}, "emailAddresses": {"ada@example.com"}, "phoneNumbers": {"+44 20 1"}}, "Ada Lovelace"},
		{"a display name wins over the names",
			CreateSession{CustomerIdentifier: "c-42", DisplayName: "Countess", FirstName: "Ada"},
			engagement.CustomerIdentifiers{"lpCustomer": {"c-42"}}, "Countess"},
		{"an email alone is enough", CreateSession{EmailAddress: "ada@example.com", LastName: "Lovelace"},
			engagement.CustomerIdentifiers{"emailAddresses": {"ada@example.com"}}, "Lovelace"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.in.V1Beta(testBinding)
			if fmt.Sprint(got.CustomerIdentifiers) != fmt.Sprint(tc.ids) || got.DisplayName != tc.display || got.ChannelProviderID != testBinding.ChannelProviderID {
				t.Fatalf("V1Beta() = %+v", got)
			}
			// And back: the same identifier, email and phone.
			back := CreateSessionOf(got, testBinding, testBinding.AccountID)
			if back.CustomerIdentifier != tc.in.CustomerIdentifier || back.EmailAddress != tc.in.EmailAddress || back.ContactNumber != tc.in.ContactNumber {
				t.Fatalf("CreateSessionOf() = %+v", back)
			}
		})
	}
	// userId is the provider's customer id; the legacy default key is used when none is configured.
	got := (&CreateSession{CustomerIdentifier: "x", UserID: "1234"}).V1Beta(Binding{ChannelProviderID: "cp"})
	if got.ProviderCustomerID != "1234" || !slices.Equal(got.CustomerIdentifiers[DefaultIdentifierKey], []string{"x"}) {
		t.Fatalf("V1Beta() = %+v", got)
	}
}

func TestSessionAnswerHasEpochTimesAndTheIdentifier(t *testing.T) {
	created := engagement.NewTime(time.Date(2018, 11, 13, 20, 25, 39, 534e6, time.UTC))
	s := &engagement.Session{
		SessionID: "s-1", AccountID: "ABCDEF", ChannelProviderID: "cp", SessionStatus: "ACTIVE",
		CustomerIdentifiers: engagement.CustomerIdentifiers{"emailAddresses": {"a@b.c"}, "lpCustomer": {"c-42"}},
		CreatedAt:           created, LastUpdatedAt: created, ParticipantID: "p-1",
	}
	got := SessionOf(s, testBinding)
	if got.CustomerIdentifier != "c-42" || got.EmailAddress != "a@b.c" || got.CreateTimeMillis != 1542140739534 || got.ParticipantID != "p-1" {
		t.Fatalf("SessionOf() = %+v", got)
	}
	back := got.V1Beta(testBinding)
	if back.CreatedAt != created || back.CustomerIdentifiers["lpCustomer"][0] != "c-42" {
		t.Fatalf("V1Beta() = %+v", back)
	}
	// Without the configured key the first email stands in.
	if got := SessionOf(&engagement.Session{CustomerIdentifiers: engagement.CustomerIdentifiers{"emailAddresses": {"a@b.c"}}}, testBinding); got.CustomerIdentifier != "a@b.c" {
		t.Fatalf("CustomerIdentifier = %q", got.CustomerIdentifier)
	}
}

func TestSendMessageLowerCasesTheLegacyElementType(t *testing.T) {
	in := SendMessage{SessionID: "s", DialogID: "d", Body: Body{ElementType: "Text", ElementText: &ElementText{Text: "hi", TextFormat: "PLAINTEXT"}},
		Headers: &MessageHeaders{ProviderTimestamp: 1542140739534, Subject: "car"}}
	got := in.V1Beta()
	if got.Body.ElementType != "text" || got.Body.ElementText.Text != "hi" || got.Headers.ProviderTimestamp.UnixMilli() != 1542140739534 {
		t.Fatalf("V1Beta() = %+v", got)
	}
}

func TestEngagementStatusFollowsTheDialogs(t *testing.T) {
	cases := []struct {
		name     string
		statuses []string
		want     string
	}{
		{"a pending dialog is an active engagement", []string{"PENDING"}, "ACTIVE"},
		{"one open dialog keeps it active", []string{"TERMINATED", "ACTIVE"}, "ACTIVE"},
		{"all terminated", []string{"TERMINATED", "TERMINATED"}, "TERMINATED"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := &engagement.Engagement{EngagementID: "e"}
			for _, s := range tc.statuses {
				e.Dialogs = append(e.Dialogs, engagement.Dialog{DialogStatus: s})
			}
			if got := EngagementOf(e, SessionContext{}).EngagementStatus; got != tc.want {
				t.Fatalf("engagementStatus = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestAXPViolationsAreRenamedToTheLegacyFields(t *testing.T) {
	cases := map[string]string{
		"channelId":                           "mediaType",
		"engagementParameters":                "contextParameters",
		"engagementParameters.model":          "contextParameters.model",
		"senderParticipantName":               "senderName",
		"providerCustomerId":                  "userId",
		"customerIdentifiers":                 "customerIdentifier",
		"customerIdentifiers.lpCustomer[0]":   "customerIdentifier",
		"customerIdentifiers.emailAddresses":  "emailAddress",
		"customerIdentifiers.phoneNumbers[1]": "contactNumber",
		"sessionId":                           "sessionId",
		"body.elementText.text":               "body.elementText.text",
		"channelIdentity":                     "channelIdentity",
	}
	for in, want := range cases {
		if got := legacyField(in, testBinding); got != want {
			t.Errorf("legacyField(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBackendFailuresGetLegacyStatuses(t *testing.T) {
	cases := []struct {
		name  string
		err   error
		want  int
		field string
	}{
		{"a violation names the legacy field", fmt.Errorf("x: %w", &engagement.Problem{Status: 400, Violations: []engagement.Violation{{Field: "channelId", Message: "bad"}}}), 400, "mediaType"},
		{"unknown id", &engagement.Problem{Status: 404}, 404, ""},
		{"throttled", &engagement.Problem{Status: 429}, 429, ""},
		{"the proxy's credentials refused", &engagement.Problem{Status: 401}, 502, ""},
		{"AXP failing", &engagement.Problem{Status: 500}, 503, ""},
		{"AXP unreachable", fmt.Errorf("x: %w", engagement.ErrUnreachable), 503, ""},
		{"store unavailable", fmt.Errorf("x: %w", mapping.ErrUnavailable), 503, ""},
		{"anything else", fmt.Errorf("boom"), 500, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := fromBackend(tc.err, testBinding)
			if e.Status != tc.want || e.Field() != tc.field {
				t.Fatalf("fromBackend() = %+v, want %d naming %q", e, tc.want, tc.field)
			}
		})
	}
}
