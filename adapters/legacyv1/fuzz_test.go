package legacyv1

import (
	"encoding/json"
	"testing"
)

// The decoders take any bytes: they answer a legacy error or a request
// that translates and encodes without panicking; a request they accept
// carries the fields the translation needs.
func FuzzDecodeRequests(f *testing.F) {
	for _, name := range []string{"create_engagement_request.v1", "disconnect_request.v1", "join_request.v1", "send_message_request.v1"} {
		b, err := readGolden(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"customerIdentifier":"c","accountId":"ABCDEF","sessionParameters":{"a":"b"}}`))
	f.Add([]byte(`{"sessionId":"s","dialogId":"d","body":"text","headers":{"providerTimestamp":"2020-08-14T19:35:17Z"}}`))
	f.Add([]byte(`{"reason":"USER_DISCONNECTED"}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if r, e := DecodeCreateSession(body, testBinding); e == nil {
			out := r.V1Beta(testBinding)
			if len(out.CustomerIdentifiers) == 0 || out.ChannelProviderID != testBinding.ChannelProviderID {
				t.Fatalf("accepted a session with no identifier: %+v", out)
			}
			mustEncode(t, out)
		} else {
			mustEncode(t, e)
		}
		if r, e := DecodeTerminateSession(body, testBinding); e == nil {
			_ = r.V1Beta()
		}
		if r, e := DecodeCreateEngagement(body, testBinding); e == nil {
			if out := r.V1Beta(); out.SessionID == "" || out.ChannelID != "Chat" {
				t.Fatalf("accepted %+v", out)
			}
		}
		if r, e := DecodeJoinEngagement(body); e == nil {
			mustEncode(t, r.V1Beta())
		}
		if r, e := DecodeDisconnectEngagement(body); e == nil {
			mustEncode(t, r.V1Beta())
		}
		if r, e := DecodeSendMessage(body); e == nil {
			out := r.V1Beta()
			if out.SessionID == "" || out.DialogID == "" || out.Body.ElementType == "" {
				t.Fatalf("accepted %+v", out)
			}
			mustEncode(t, out)
		} else if e.Status < 400 || e.Status > 499 {
			t.Fatalf("bad input answered %d", e.Status)
		}
	})
}

// Webhook registrations decode from any bytes into a valid registration or
// a legacy error naming the element at fault.
func FuzzDecodeWebhookRegistration(f *testing.F) {
	f.Add([]byte(`[{"callbackUrl":"https://hooks.example/legacy","eventTypes":["ALL"]}]`))
	f.Add([]byte(`[{"callbackUrl":"http://127.0.0.1:9/x","eventTypes":["MESSAGES","PARTICIPANT_ADDED"]},{"callbackUrl":"ftp://x"}]`))
	f.Add([]byte(`{"callbackUrl":"https://x"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		regs, e := DecodeWebhookRegistration(body, false)
		if e != nil {
			mustEncode(t, e)
			return
		}
		if len(regs) == 0 {
			t.Fatal("accepted an empty registration")
		}
		for _, r := range regs {
			if r.CallbackURL == "" || len(r.EventTypes) == 0 {
				t.Fatalf("accepted %+v", r)
			}
		}
	})
}

// Legacy timestamps decode from any JSON value or fail; those that decode
// encode as a number that decodes to the same value.
func FuzzMillis(f *testing.F) {
	for _, s := range []string{`1597433717833`, `"1597433717833"`, `"2018-11-13T20:25:39.34Z"`, `null`, `1e3`, `"x"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Millis
		if json.Unmarshal(b, &m) != nil {
			return
		}
		enc, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var back Millis
		if err := json.Unmarshal(enc, &back); err != nil || back != m {
			t.Fatalf("%s → %d → %s → %d (%v)", b, m, enc, back, err)
		}
	})
}

func mustEncode(t *testing.T, v any) {
	t.Helper()
	if _, err := json.Marshal(v); err != nil {
		t.Fatalf("encode %+v: %v", v, err)
	}
}
