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
