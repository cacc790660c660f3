package engagement

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/valyala/fasthttp"
)

// encoded is what the general call writes for a message.
func encoded(t testing.TB, m *SendMessage) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestSendTextWritesWhatSendMessageWrites(t *testing.T) {
	tests := []struct {
		name string
		m    TextMessage
	}{
		{"plain", TextMessage{SessionID: "s-1", DialogID: "d-1", Text: "hello there", ProviderMessageID: "p-1"}},
		{"with a sender name", TextMessage{SessionID: "s", DialogID: "d", Text: "hi", SenderParticipantName: "Ada Lovelace", ProviderMessageID: "p"}},
		{"no provider id", TextMessage{SessionID: "s", DialogID: "d", Text: "hi"}},
		{"escapes", TextMessage{SessionID: "s", DialogID: "d", Text: "a \"quote\"\\ <b>&amp;</b>\n\t\r\b\f\x00\x1f\x7f", ProviderMessageID: "p"}},
		{"unicode", TextMessage{SessionID: "s", DialogID: "d", Text: "héllo 世界 🚗 \u2028\u2029 \ufffd", SenderParticipantName: "Zoë"}},
		{"invalid UTF-8", TextMessage{SessionID: "s", DialogID: "d", Text: "bad \xff\xfe here \xe2\x82", ProviderMessageID: "p"}},
		{"empty", TextMessage{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := appendTextMessage(nil, &tc.m)
			if want := encoded(t, tc.m.SendMessage()); !bytes.Equal(got, want) {
				t.Fatalf("got  %s\nwant %s", got, want)
			}
		})
	}
}

func TestSendTextReadsTheIDAndIndexOfTheAnswer(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		want   SentMessage
		broken bool
	}{
		{"the simulator's answer", `{"messageId":"m-1","accountId":"A","status":"SENT","body":{"elementType":"text","elementText":{"text":"hi","textFormat":"PLAINTEXT"}},"messageIndex":4,"recipientParticipants":[{"participantId":"x"}],"receivedAt":"2024-01-01T00:00:00.000Z"}`, SentMessage{MessageID: "m-1", MessageIndex: 4, ReceivedAt: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}, false},
		{"no messageId (the reference's example)", `{"status":"SENT","messageIndex":1}`, SentMessage{MessageID: "", MessageIndex: 1}, false},
		{"empty body", ``, SentMessage{}, false},
		{"whitespace around", " \n{ \"messageIndex\" : 2 , \"messageId\" : \"m\" }\n", SentMessage{MessageID: "m", MessageIndex: 2}, false},
		{"an escaped id", `{"messageId":"m\u002d1","messageIndex":3}`, SentMessage{MessageID: "m-1", MessageIndex: 3}, false},
		{"a member in other case", `{"MessageIndex":7}`, SentMessage{MessageID: "", MessageIndex: 7}, false},
		{"a duplicate: the last wins", `{"messageIndex":1,"messageIndex":2}`, SentMessage{MessageID: "", MessageIndex: 2}, false},
		{"null id", `{"messageId":null,"messageIndex":5}`, SentMessage{MessageID: "", MessageIndex: 5}, false},
		{"null answer", `null`, SentMessage{}, false},
		{"index not an integer", `{"messageIndex":1.5}`, SentMessage{}, true},
		{"index a string", `{"messageIndex":"1"}`, SentMessage{}, true},
		{"not JSON", `{"messageIndex":1`, SentMessage{}, true},
		{"trailing garbage", `{"messageIndex":1} x`, SentMessage{}, true},
		{"an array", `[1]`, SentMessage{}, true},
		{"a receivedAt that is no time", `{"messageIndex":1,"receivedAt":"soon"}`, SentMessage{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeSent([]byte(tc.body))
			if (err != nil) != tc.broken || got != tc.want {
				t.Fatalf("decodeSent = %+v, %v; want %+v (error: %v)", got, err, tc.want, tc.broken)
			}
		})
	}
}

func TestSendTextPostsTheMessageAndAnswersItsIndex(t *testing.T) {
	var gotBody []byte
	var gotPath, gotType string
	f := startFake(t, func(ctx *fasthttp.RequestCtx) {
		gotPath, gotType = string(ctx.Request.Header.RequestURI()), string(ctx.Request.Header.ContentType())
		gotBody = append([]byte(nil), ctx.PostBody()...)
		jsonAnswer(ctx, 202, `{"messageId":"m-9","status":"SENT","messageIndex":9}`)
	})
	c, _, _ := newTestClient(t, f, nil)
	m := TextMessage{SessionID: "s", DialogID: "d", Text: strings.Repeat("long text ", 500), ProviderMessageID: "p"}
	sent, err := c.SendText(context.Background(), "e/1", m)
	if err != nil || sent != (SentMessage{MessageID: "m-9", MessageIndex: 9}) {
		t.Fatalf("SendText() = %+v, %v", sent, err)
	}
	if want := "/api/digital/channel/v1beta/accounts/" + testAccount + "/engagements/e%2F1/messages"; gotPath != want {
		t.Errorf("path %q, want %q", gotPath, want)
	}
	if gotType != "application/json" || !bytes.Equal(gotBody, encoded(t, m.SendMessage())) {
		t.Errorf("content type %q, body %s", gotType, gotBody)
	}
	if auth := f.LastAuth(); !strings.HasPrefix(auth, "Bearer ") {
		t.Errorf("Authorization %q", auth)
	}
}

func TestMessageIDsAreDistinctVersion4UUIDs(t *testing.T) {
	var ids MessageIDs
	seen := map[string]bool{}
	for i := range 1000 { // several blocks of randomness
		id := ids.New()
		if i%2 == 1 { // Append's, after what was there
			b := ids.Append([]byte("prefix"))
			if !bytes.HasPrefix(b, []byte("prefix")) {
				t.Fatalf("Append dropped what was there: %q", b)
			}
			id = string(b[len("prefix"):])
		}
		u, err := uuid.Parse(id)
		if err != nil || u.Version() != 4 || u.Variant() != uuid.RFC4122 || seen[id] || u.String() != id {
			t.Fatalf("id %q: %v, version %v, variant %v, seen %v, canonical %q", id, err, u.Version(), u.Variant(), seen[id], u.String())
		}
		seen[id] = true
	}
}
