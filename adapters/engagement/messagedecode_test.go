package engagement

import (
	"os"
	"reflect"
	"testing"
)

// messageShapes are MESSAGES bodies as AXP writes them (the fast path
// takes them) and bodies it must leave to encoding/json.
var messageShapes = []struct {
	name string
	body string
	fast bool
}{
	{"the reference event", "", true}, // testdata/golden/Event__ref5_messages.json
	{"the receiver's", messagesJSON, true},
	{"rich content and headers", `{"eventType":"MESSAGES","messageId":"m","body":{"elementType":"richMedia","richMediaPayload":{"actions":[{"type":"reply","text":"Yes"}]}},"headers":{"subject":"s","to":["a"]},"attachments":[{"name":"x.png","size":3}],"engagementParameters":{"k":"v","k":"w"}}`, true},
	{"escapes and other scripts", `{"eventType":"MESSAGES","body":{"elementType":"text","elementText":{"text":"caf\u00e9 \"ok\"\n日本"}},"senderParticipantName":"Zoë"}`, true},
	{"an unknown member", `{"eventType":"MESSAGES","messageId":"m","futureField":{"a":[1,2]},"messageIndex":-3}`, true},
	{"the type not first", `{"messageId":"m","eventType":"MESSAGES"}`, true},
	{"empty lists and maps", `{"eventType":"MESSAGES","recipientParticipants":[],"customData":{}}`, true},
	{"a member in another case", `{"eventType":"MESSAGES","MessageId":"m"}`, false},
	{"a member twice", `{"eventType":"MESSAGES","messageId":"m","messageId":"n"}`, false},
	{"the type twice", `{"eventType":"MESSAGES","eventType":"OTHER"}`, false},
	{"an escaped member name", `{"eventType":"MESSAGES","message\u0049d":"m"}`, false},
	{"a null", `{"eventType":"MESSAGES","receivedAt":null}`, false},
	{"a number as text", `{"eventType":"MESSAGES","messageId":7}`, false},
	{"a fraction as the index", `{"eventType":"MESSAGES","messageIndex":4.0}`, false},
	{"a bad date", `{"eventType":"MESSAGES","eventDate":"yesterday"}`, false},
	{"another type", `{"eventType":"PARTICIPANT_ADDED","dialogId":"d"}`, false},
	{"no type", `{"messageId":"m"}`, false},
	{"trailing data", `{"eventType":"MESSAGES"} {}`, false},
	{"a body member in another case", `{"eventType":"MESSAGES","body":{"ElementType":"text"}}`, false},
	{"a participant member twice", `{"eventType":"MESSAGES","recipientParticipants":[{"participantId":"a","participantId":"b"}]}`, false},
}

func referenceMessage(t testing.TB) string {
	b, err := os.ReadFile("testdata/golden/Event__ref5_messages.json")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDecodeMessageTakesWhatAXPWritesAndLeavesTheRest(t *testing.T) {
	for _, tt := range messageShapes {
		t.Run(tt.name, func(t *testing.T) {
			body := tt.body
			if body == "" {
				body = referenceMessage(t)
			}
			m, date, ok := decodeMessage([]byte(body))
			if ok != tt.fast {
				t.Fatalf("fast path took it: %v, want %v", ok, tt.fast)
			}
			if ok {
				agreesWithEncodingJSON(t, []byte(body), m, date)
			}
		})
	}
}

// agreesWithEncodingJSON fails t unless encoding/json decodes body to m
// and date.
func agreesWithEncodingJSON(t *testing.T, body []byte, m *Message, date Time) {
	t.Helper()
	want, wantDate, err := decodeMessageJSON(body)
	if err != nil {
		t.Fatalf("fast path took %q, encoding/json refuses it: %v", body, err)
	}
	if !reflect.DeepEqual(m, want) || !reflect.DeepEqual(date, wantDate) {
		t.Fatalf("%q:\nfast path     %+v %v\nencoding/json %+v %v", body, m, date, want, wantDate)
	}
}

// FuzzDecodeMessageAgrees: whatever the fast path decodes, encoding/json
// decodes to the same message and date, and it is a MESSAGES event.
func FuzzDecodeMessageAgrees(f *testing.F) {
	f.Add([]byte(referenceMessage(f)))
	for _, tt := range messageShapes {
		f.Add([]byte(tt.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		m, date, ok := decodeMessage(body)
		if !ok {
			return
		}
		agreesWithEncodingJSON(t, body, m, date)
		ev, err := DecodeEvent(body)
		if err != nil || ev.EventType != EventMessages || !reflect.DeepEqual(ev.Message, m) {
			t.Fatalf("DecodeEvent(%q) = %+v, %v", body, ev, err)
		}
	})
}
