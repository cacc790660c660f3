package customerchannel

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzPDFString: any text becomes a balanced, ASCII-only PDF literal.
func FuzzPDFString(f *testing.F) {
	for _, s := range []string{"", "plain", "a(b)c\\", "caf\u00e9 \u20ac", "\x00\xff\xfe", "((((", "\\)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := pdfString(s)
		if out[0] != '(' || out[len(out)-1] != ')' {
			t.Fatalf("not a literal: %q", out)
		}
		body := out[1 : len(out)-1]
		for i := 0; i < len(body); i++ {
			c := body[i]
			if c < 0x20 || c > 0x7e {
				t.Fatalf("raw byte %#x in %q", c, out)
			}
			if c == '\\' {
				i++ // the escaped byte
				continue
			}
			if c == '(' || c == ')' {
				t.Fatalf("unescaped paren in %q", out)
			}
		}
	})
}

// FuzzTranscriptRender: any message text renders a structurally valid PDF
// whose lines fit the page.
func FuzzTranscriptRender(f *testing.F) {
	f.Add("hello", "Ada")
	f.Add(strings.Repeat("W", 300), "x")
	f.Add("line\nbreak\ttab", "\u00e9\u00e8")
	f.Fuzz(func(t *testing.T, text, name string) {
		doc := &transcriptDoc{Title: "t", Created: testNow, Entries: []transcriptEntry{{From: name, Text: text}}}
		checkPDFStructure(t, doc.render())
		for _, l := range doc.lines() {
			if l.indent && textWidth(l.text, pdfFontSize) > pdfTextWidth-pdfIndent {
				t.Fatalf("line %q overflows", l.text)
			}
		}
	})
}

// FuzzSocketEvent: any event name and payload is answered with an ack or an
// error event, never a panic, and nothing reaches AXP unless it was a valid
// sendMessage to the joined conversation.
func FuzzSocketEvent(f *testing.F) {
	f.Add("sendMessage", `{"conversationId":"1","text":"hi"}`)
	f.Add("joinConversation", `{"conversationId":"1","id":"proof-1"}`)
	f.Add("endConversation", `{"conversationId":"1"}`)
	f.Add("registerConnector", `{"id":"sms","channel":"sms"}`)
	f.Add("sendMessage", `[1,2]`)
	f.Add("x", `null`)
	b := &fakeBackend{}
	face, store := newUnitFace(f, b)
	openConv(f, store, "1", "web", "cleo@example.com")
	f.Fuzz(func(t *testing.T, event, payload string) {
		s := &fakeSocket{id: "fuzz"}
		face.hub.join(s, "1")
		defer face.hub.leave(s)
		var acks []Ack
		ack := func(args ...any) error {
			raw, _ := json.Marshal(args[0])
			var a Ack
			_ = json.Unmarshal(raw, &a)
			acks = append(acks, a)
			return nil
		}
		before := len(b.sent)
		face.handleEvent(context.Background(), s, event, []json.RawMessage{json.RawMessage(payload)}, ack)
		if len(acks) != 1 {
			t.Fatalf("%d acks", len(acks))
		}
		if acks[0].Status == "error" && len(s.events(EventError)) != 1 {
			t.Fatal("error ack without an error event")
		}
		if len(b.sent) > before {
			var req SendRequest
			if event != EventSendMessage || json.Unmarshal([]byte(payload), &req) != nil || req.ConversationID != "1" ||
				strings.TrimSpace(req.Text) == "" || utf8.RuneCountInString(req.Text) > maxTextRunes {
				t.Fatalf("sent to AXP for %s %s", event, payload)
			}
		}
		// Put the conversation back if the input ended it.
		openConv(t, store, "1", "web", "cleo@example.com")
	})
}

// FuzzDecodeBusMessage: whatever another replica (or anything able to
// PUBLISH on the channel) sends, decoding never panics, and what it accepts
// has an origin and a known kind.
func FuzzDecodeBusMessage(f *testing.F) {
	f.Add([]byte(`{"kind":"deliver","origin":"a","conversation":"c","channel":"web","room":{},"connector":{}}`))
	f.Add([]byte(`{"kind":"connector","origin":"b","channel":"sms","owner":"b/s1","connector":{"id":"sms"}}`))
	f.Add([]byte(`{"kind":"deliver"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := decodeBusMessage(raw)
		if err != nil {
			return
		}
		if m.Origin == "" || (m.Kind != BusDeliver && m.Kind != BusConnector) {
			t.Fatalf("accepted %+v", m)
		}
	})
}

// FuzzDecodeSend: the hand-written sendMessage decoder gives exactly what
// json.Unmarshal gives, the same request or the same error, on any input.
func FuzzDecodeSend(f *testing.F) {
	for _, s := range []string{
		`{"type":"ChatMessage","conversationId":"c-1","text":"hi\nthere","from":{"id":"p","name":"Ada"}}`,
		`{"type":"ChatMessage","conversationId":"c-1","id":"m-1","text":"a retry names its message"}`, `{"id":7}`,
		`{"type":"ActivityMessage","activityType":"typing","conversationId":"c-1"}`,
		`{"type":"ChatMessage","conversationId":"c-1","id":"m-1","ID":"m-2","text":"retry me"}`,
		`{"TEXT":"a","text":null,"from":{"id":"a"},"from":{"name":"b"},"from":null,"extra":[1,{"x":2}]}`,
		`{"te\u0078t":"escaped key","conver\u017Fationid":"long s"}`, `{"text":5}`, `{"from":"x"}`,
		"{\"text\":\"\xff\"}", `{"text":"a"} x`, `{"text":"a",}`, `{}`, `[]`, `null`, ` {"text":"a"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var got SendRequest
		gerr := decodeSend(b, &got)
		var want SendRequest
		werr := decode(b, &want)
		if (gerr == nil) != (werr == nil) || (gerr != nil && gerr.Error() != werr.Error()) {
			t.Fatalf("%q: decodeSend error %v, decode error %v", b, gerr, werr)
		}
		if gerr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: decodeSend %+v (from %+v), decode %+v (from %+v)", b, got, got.From, want, want.From)
		}
	})
}

// FuzzRecordEncoding holds the hand-written message record to what
// json.Marshal writes for it, times JSON cannot hold included.
func FuzzRecordEncoding(f *testing.F) {
	f.Add("", 3, "m-1", "p-1", "s-1", "Zoë", "CUSTOMER", "hello <b>", "image/png", "a.png", int64(1796287166), uint32(851000000), 0, false, "")
	f.Add("end", 0, "", "", "", "", "", "", "", "", int64(0), uint32(0), 0, false, "AGENT")
	f.Add("", -1, "\"", "\xff", "\u2028", "\n", "", "", "", "", int64(-62135596801), uint32(1), 86399, true, "")
	f.Add("", 1, "", "", "", "", "", "", "", "", int64(253402300800), uint32(0), -3600*24, false, "")
	f.Fuzz(func(t *testing.T, kind string, index int, id, pm, sid, sn, st, text, aType, aName string, sec int64, nsec uint32, offset int, whisper bool, reason string) {
		r := recordedMessage{Kind: kind, Index: index, ID: id, ProviderMessageID: pm, SenderID: sid, SenderName: sn, SenderType: st,
			Text: text, Whisper: whisper, Reason: reason}
		if sec != 0 || nsec != 0 {
			r.At = time.Unix(sec, int64(nsec%1e9)).In(time.FixedZone("z", offset%(48*3600)))
		}
		if aType != "" || aName != "" {
			r.Attachments = []recordedAttachment{{Type: aType, Name: aName}, {URL: aName, Thumb: aType}}
		}
		want, werr := json.Marshal(r)
		got, ok := appendRecord(nil, &r)
		if ok != (werr == nil) || ok && string(got) != string(want) {
			t.Fatalf("hand-written (%v):\n%s\nmarshalled (%v):\n%s", ok, got, werr, want)
		}
	})
}
