package connectorapi

import (
	"testing"
	"time"
)

// BenchmarkContentNotification is the body of every agent message's
// notification, written by hand and by json.Marshal.
func BenchmarkContentNotification(b *testing.B) {
	sent := time.UnixMilli(1796287166851)
	ch := messagingChange{Sequence: 12, OriginatorID: "7b3c1a4e-4f0e-4b8e-9d51-6f2a0c9e8d11",
		OriginatorMetadata: participant{ID: "7b3c1a4e-4f0e-4b8e-9d51-6f2a0c9e8d11", Role: "ASSIGNED_AGENT"},
		ServerTimestamp:    1796287166851, ConversationID: "0f8e1c2d3b4a5968778695a4b3c2d1e0", DialogID: "0f8e1c2d3b4a5968778695a4b3c2d1e0"}
	const text = "Thanks for waiting, let me look at your order."
	b.Run("appended", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = contentNotification(sent, ch, text)
		}
	})
	b.Run("marshalled", func(b *testing.B) {
		ch := ch
		ch.Event = contentEvent{Type: "ContentEvent", ContentType: "text/plain", Message: text}
		b.ReportAllocs()
		for b.Loop() {
			_ = newNotification(typeMessagingEvent, sent, ch)
		}
	})
}
