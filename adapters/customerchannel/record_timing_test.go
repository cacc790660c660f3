package customerchannel

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/mapping"
)

// BenchmarkSendMessageRecorded is the sendMessage handler against a fake
// AXP and a bolt store, without and with the message record: the record
// costs one compare-and-set commit of the conversation per message.
func BenchmarkSendMessageRecorded(b *testing.B) {
	for _, recorded := range []bool{false, true} {
		b.Run(fmt.Sprintf("recorded=%v", recorded), func(b *testing.B) {
			f, store := newUnitFace(b, &fakeBackend{})
			conv := openConv(b, store, "c-1", "web", "")
			if recorded {
				conv.Attrs[attrRecord] = recordComplete
				if err := store.Commit(context.Background(), &mapping.Change{Conv: conv}); err != nil {
					b.Fatal(err)
				}
			}
			s := &fakeSocket{id: "s-1"}
			f.hub.join(s, "c-1")
			args := []json.RawMessage{json.RawMessage(`{"type":"ChatMessage","conversationId":"c-1","text":"hello there, how are you?"}`)}
			ack := ackFunc(func(a ...any) error {
				if a[0].(Ack).Status != "ok" {
					b.Fatalf("ack %+v", a[0])
				}
				return nil
			})
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				f.handleEvent(ctx, s, EventSendMessage, args, ack)
			}
		})
	}
}

// BenchmarkConversationInfo builds a rejoin's conversationInfo of a
// conversation of 200 messages from the record (a bolt read) and from a
// fake AXP list that answers at once (a real one is 4 pages over the
// network at 50 a page).
func BenchmarkConversationInfo(b *testing.B) {
	const n = 200
	for _, recorded := range []bool{false, true} {
		b.Run(fmt.Sprintf("recorded=%v", recorded), func(b *testing.B) {
			fb := &fakeBackend{}
			f, store := newUnitFace(b, fb)
			conv := openConv(b, store, "c-1", "web", "")
			var recs []mapping.LogRecord
			for i := 1; i <= n; i++ {
				m := &engagement.Message{MessageID: fmt.Sprint("m", i), MessageIndex: i, SenderParticipantID: "agent-1",
					SenderParticipantName: "Agent", SenderParticipantType: engagement.ParticipantAgent,
					Body: engagement.Body{ElementType: "text", ElementText: &engagement.ElementText{Text: "a message of a usual length, a sentence or two"}}}
				fb.messages = append(fb.messages, m)
				recs = append(recs, recordOf(m, testNow))
			}
			if recorded {
				conv.Attrs[attrRecord] = recordComplete
			}
			if err := store.Commit(context.Background(), &mapping.Change{Conv: conv, Append: recs}); err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				info, err := f.conversationInfo(ctx, conv)
				if err != nil || len(info.Messages) != n {
					b.Fatalf("%d messages, %v", len(info.Messages), err)
				}
			}
		})
	}
}

// BenchmarkRecordEncoding is the record of each message, written by hand
// and by json.Marshal.
func BenchmarkRecordEncoding(b *testing.B) {
	r := recordedMessage{Index: 12, ID: "5d2c7e0a-8f3b-4c1d-9e6a-2b7f4c8d1e3a", ProviderMessageID: "9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d",
		SenderID: "c1f0e2d3-a4b5-4c6d-8e7f-9a0b1c2d3e4f", SenderName: "Perf", SenderType: "CUSTOMER", Text: "hello there, how are you?",
		At: time.Date(2026, 12, 3, 10, 52, 28, 123456789, time.UTC)}
	b.Run("appended", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = encodeRecord(r)
		}
	})
	b.Run("marshalled", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = json.Marshal(r)
		}
	})
}
