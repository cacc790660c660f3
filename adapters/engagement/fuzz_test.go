package engagement

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// FuzzDecodeEvent feeds arbitrary bodies to the webhook decoder: it must not
// panic, must either accept or wrap ErrBadEvent, and what it accepts must
// keep the body and re-encode to valid JSON.
func FuzzDecodeEvent(f *testing.F) {
	for _, s := range []string{messagesJSON, participantAddedJSON, createdJSON, errorJSON, typingJSON, `{}`, `{"eventType":"MESSAGES","body":null}`, `{"eventType":"PARTICIPANT_DISCONNECTED","eventDate":"2018-11-13T20:25:39Z"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := DecodeEvent(body)
		if err != nil {
			if !errors.Is(err, ErrBadEvent) {
				t.Fatalf("error %v does not wrap ErrBadEvent", err)
			}
			return
		}
		if ev.EventType == "" || !bytes.Equal(ev.Raw, body) {
			t.Fatalf("accepted event without a type or with a different Raw: %+v", ev)
		}
		var kind struct {
			EventType string `json:"eventType"`
		}
		if err := json.Unmarshal(body, &kind); err != nil || kind.EventType != ev.EventType {
			t.Fatalf("type %q read, encoding/json reads %q (%v)", ev.EventType, kind.EventType, err)
		}
		known := 0
		var typed any
		for _, p := range []any{ev.Message, ev.Participant, ev.EngagementCreated, ev.EngagementError} {
			switch v := p.(type) {
			case *Message:
				if v != nil {
					known++
					typed = v
				}
			case *ParticipantEvent:
				if v != nil {
					known++
					typed = v
				}
			case *EngagementCreatedEvent:
				if v != nil {
					known++
					typed = v
				}
			case *EngagementErrorEvent:
				if v != nil {
					known++
					typed = v
				}
			}
		}
		if want := eventLabel(ev.EventType) != "other"; (known == 1) != want || known > 1 {
			t.Fatalf("%d typed parts for %q", known, ev.EventType)
		}
		if typed != nil {
			b, err := json.Marshal(typed)
			if err != nil || !json.Valid(b) {
				t.Fatalf("re-encoding %T: %v", typed, err)
			}
		}
		_ = ev.DialogID()
		_ = ev.DedupeKey()
	})
}

// FuzzSendTextEncoding holds SendText's hand-written request to what
// encoding/json writes for the same message.
func FuzzSendTextEncoding(f *testing.F) {
	f.Add("s-1", "d-1", "hello there", "", "p-1")
	f.Add("s", "d", "<b>\"x\"</b>\n\u2028\xff", "Zoë", "")
	f.Fuzz(func(t *testing.T, session, dialog, text, name, provider string) {
		m := TextMessage{SessionID: session, DialogID: dialog, Text: text, SenderParticipantName: name, ProviderMessageID: provider}
		if got, want := appendTextMessage(nil, &m), encoded(t, m.SendMessage()); !bytes.Equal(got, want) {
			t.Fatalf("got  %q\nwant %q", got, want)
		}
	})
}

// FuzzDecodeSent holds the send answer's one-pass reading to what
// encoding/json reads of messageId and messageIndex.
func FuzzDecodeSent(f *testing.F) {
	for _, s := range []string{`{"messageId":"m-1","status":"SENT","messageIndex":4}`, `{"messageIndex":1}`, `{"MessageId":"x"}`,
		`{"messageId":"a\u00e9"}`, `{"messageIndex":1e2}`, `null`, `[]`, `{"a":[1,{"b":null}],"messageIndex":-3}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := decodeSent(body)
		if len(body) == 0 {
			if err != nil || got != (SentMessage{}) {
				t.Fatalf("empty answer: %+v, %v", got, err)
			}
			return
		}
		var want struct {
			MessageID    string `json:"messageId"`
			MessageIndex int    `json:"messageIndex"`
		}
		werr := json.Unmarshal(body, &want)
		if (err != nil) != (werr != nil) {
			t.Fatalf("decodeSent error %v, encoding/json %v", err, werr)
		}
		if err == nil && (got.MessageID != want.MessageID || got.MessageIndex != want.MessageIndex) {
			t.Fatalf("decodeSent %+v, encoding/json %+v", got, want)
		}
	})
}

// FuzzParseUTC holds the timestamp fast path to ParseTime: whatever it
// reads, ParseTime reads as the same instant in UTC.
func FuzzParseUTC(f *testing.F) {
	for _, s := range []string{"2026-12-03T13:26:27.123Z", "2018-11-13T20:25:39.34Z", "2024-02-29T23:59:59Z", "2026-04-31T00:00:00Z", "2026-12-03T13:26:27.1234567890Z", "0000-01-01T00:00:00.0Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseUTC([]byte(s))
		if !ok {
			return
		}
		want, err := ParseTime(s)
		if err != nil || got != want {
			t.Fatalf("parseUTC(%q) = %s, but ParseTime = %s, %v", s, got, want, err)
		}
	})
}
