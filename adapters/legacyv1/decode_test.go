package legacyv1

import (
	"testing"
)

func TestBadLegacyInputNamesTheField(t *testing.T) {
	type decoder func([]byte) *Error
	session := func(b []byte) *Error { _, e := DecodeCreateSession(b, testBinding); return e }
	terminate := func(b []byte) *Error { _, e := DecodeTerminateSession(b, testBinding); return e }
	create := func(b []byte) *Error { _, e := DecodeCreateEngagement(b, testBinding); return e }
	join := func(b []byte) *Error { _, e := DecodeJoinEngagement(b); return e }
	disconnect := func(b []byte) *Error { _, e := DecodeDisconnectEngagement(b); return e }
	send := func(b []byte) *Error { _, e := DecodeSendMessage(b); return e }
	cases := []struct {
		name   string
		decode decoder
		body   string
		status int
		field  string
	}{
		{"session without any identifier", session, `{"accountId":"ABCDEF","displayName":"Ada"}`, 400, "customerIdentifier"},
		{"session of another account", session, `{"accountId":"XYZXYZ","customerIdentifier":"c"}`, 403, "accountId"},
		{"session of another tenant", session, `{"tenantId":"XYZXYZ","customerIdentifier":"c"}`, 403, "tenantId"},
		{"session whose accountId and tenantId differ", session, `{"accountId":"ABCDEF","tenantId":"XYZXYZ","customerIdentifier":"c"}`, 400, "tenantId"},
		{"session of another channel provider", session, `{"customerIdentifier":"c","channelProviderId":"Other"}`, 400, "channelProviderId"},
		{"session parameters that are not strings", session, `{"customerIdentifier":"c","sessionParameters":{"age":42}}`, 400, "sessionParameters"},
		{"session identifier that is a number", session, `{"customerIdentifier":42}`, 400, "customerIdentifier"},
		{"session body that is an array", session, `[{"customerIdentifier":"c"}]`, 400, ""},
		{"session body that is not JSON", session, `{"customerIdentifier":`, 400, ""},
		{"empty session body", session, ``, 400, ""},
		{"terminate with an unknown reason", terminate, `{"reason":"BORED"}`, 400, "reason"},
		{"engagement without a session", create, `{"mediaType":"CHAT"}`, 400, "sessionId"},
		{"engagement on another media", create, `{"sessionId":"s","mediaType":"VOICE"}`, 400, "mediaType"},
		{"engagement with context that is a list", create, `{"sessionId":"s","contextParameters":["a"]}`, 400, "contextParameters"},
		{"engagement of another account", create, `{"sessionId":"s","accountId":"XYZXYZ"}`, 403, "accountId"},
		{"join without a dialog", join, `{"sessionId":"s"}`, 400, "dialogId"},
		{"disconnect without a session", disconnect, `{"dialogId":"d"}`, 400, "sessionId"},
		{"disconnect with an unknown reason", disconnect, `{"sessionId":"s","dialogId":"d","reason":"BORED"}`, 400, "reason"},
		{"message without a body", send, `{"sessionId":"s","dialogId":"d"}`, 400, "body.elementType"},
		{"text message without text", send, `{"sessionId":"s","dialogId":"d","body":{"elementType":"Text"}}`, 400, "body.elementText.text"},
		{"message from an agent", send, `{"sessionId":"s","dialogId":"d","body":"hi","senderType":"AGENT"}`, 400, "senderType"},
		{"message with a bad provider timestamp", send, `{"sessionId":"s","dialogId":"d","body":"hi","headers":{"providerTimestamp":"soon"}}`, 400, "headers.providerTimestamp"},
		{"message whose text is a number", send, `{"sessionId":"s","dialogId":"d","body":{"elementType":"text","elementText":{"text":7}}}`, 400, "body.elementText.text"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := tc.decode([]byte(tc.body))
			if e == nil {
				t.Fatal("decoded without error")
			}
			if e.Status != tc.status || e.Field() != tc.field {
				t.Fatalf("error %+v, want %d naming %q", e, tc.status, tc.field)
			}
			if e.Type == "" || e.Title == "" || (tc.field == "" && e.Detail == "") {
				t.Fatalf("error %+v lacks its problem fields", e)
			}
		})
	}
}

func TestGoodLegacyInputDecodes(t *testing.T) {
	// The forms legacy clients send (S16, S17c and the seed).
	if r, e := DecodeCreateSession([]byte(`{"tenantId":"ABCDEF","customerIdentifier":"custId","channelProviderId":"ChatConnector01","userId":"1234","displayName":"D","firstName":"Dermot","lastName":"S","emailAddress":"e@x","contactNumber":"5555","sessionParameters":{"language":"English"}}`), testBinding); e != nil || r.UserID != "1234" {
		t.Fatalf("session: %+v %v", r, e)
	}
	if r, e := DecodeTerminateSession(nil, testBinding); e != nil || r.V1Beta() != "" {
		t.Fatalf("empty terminate: %+v %v", r, e)
	}
	if r, e := DecodeTerminateSession([]byte(`{"channelProviderId":"ChatConnector01","reason":"USER_CLOSED"}`), testBinding); e != nil || r.V1Beta() != "USER_CLOSED" {
		t.Fatalf("terminate: %+v %v", r, e)
	}
	if r, e := DecodeCreateEngagement([]byte(`{"sessionId":"s","tenantId":"ABCDEF","customerIdentifier":"custId","channelProviderId":"ChatConnector01","conversation":"c","mediaType":"chat","contextParameters":{"language":"English"}}`), testBinding); e != nil || r.V1Beta().ChannelID != "Chat" {
		t.Fatalf("engagement: %+v %v", r, e)
	}
	r, e := DecodeSendMessage([]byte(`{"correlationId":"c","parentMessageId":"p","sessionId":"s","dialogId":"d","senderType":"CUSTOMER","senderName":"T","providerSenderId":null,"body":{"elementType":"Text","elementText":{"text":"hi","textFormat":"PLAINTEXT"},"payload":null}}`))
	if e != nil || r.V1Beta().Body.ElementType != "text" {
		t.Fatalf("message: %+v %v", r, e)
	}
	if r, e := DecodeSendMessage([]byte(`{"sessionId":"s","dialogId":"d","body":"plain words"}`)); e != nil || r.Body.ElementText.Text != "plain words" {
		t.Fatalf("string body: %+v %v", r, e)
	}
}
