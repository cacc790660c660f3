package legacyv1

import (
	"encoding/json"
	"testing"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
)

// BenchmarkDecodeSendMessage is a legacy send's body read, checked and
// translated to v1beta (the seed's sample).
func BenchmarkDecodeSendMessage(b *testing.B) {
	body, err := readGolden("send_message_request.v1")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		r, e := DecodeSendMessage(body)
		if e != nil {
			b.Fatal(e)
		}
		_ = r.V1Beta()
	}
}

// BenchmarkEngagementOf is a v1beta engagement (the seed's GET answer)
// translated to the legacy one and encoded.
func BenchmarkEngagementOf(b *testing.B) {
	raw, err := readGolden("get_engagement_response.v1beta")
	if err != nil {
		b.Fatal(err)
	}
	var e engagement.Engagement
	if err := json.Unmarshal(raw, &e); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(EngagementOf(&e, seedSession)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeMessageEvent is an agent's MESSAGES event made into the
// legacy webhook payload.
func BenchmarkEncodeMessageEvent(b *testing.B) {
	ev := &engagement.Event{EventType: engagement.EventMessages, Message: &engagement.Message{
		MessageID: "f314569c-710b-11eb-9439-0242ac130002", AccountID: "ABCDEF", DialogID: "fc741b00-710b-11eb-9439-0242ac130002",
		EngagementID: "8d7cf5b8-70ad-11eb-9439-0242ac130002", Status: "SENT", ChannelID: "Chat", SenderParticipantType: "AGENT",
		SenderParticipantName: "Jane Doe", Body: engagement.Body{ElementType: "text", ElementText: &engagement.ElementText{Text: "What is the make and model?"}},
	}}
	sc := SessionContext{AccountID: "ABCDEF", SessionID: "10494b78-710c-11eb-9439-0242ac130002"}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := EncodeEvent(ev, sc); err != nil {
			b.Fatal(err)
		}
	}
}
