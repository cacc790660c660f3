package mapping

import (
	"testing"
	"time"
)

// BenchmarkItemCodec is an outbox item as the Connector API face makes
// one, written (every enqueue) and read back (every delivery's head).
func BenchmarkItemCodec(b *testing.B) {
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	it := &OutboxItem{Queue: "0f8e1c2d3b4a5968778695a4b3c2d1e0", Seq: 1234, Face: FaceConnectorAPI, Target: "http://127.0.0.1:18095/content",
		Kind: "content", App: "bench-app", EnqueuedAt: now, NextAttempt: now, Expires: now.Add(24 * time.Hour),
		Headers: map[string]string{"Content-Type": "application/json", "X-Account-Id": "le12345678", "X-Client-Id": "bench-app"},
		Body:    make([]byte, 480)}
	raw := encodeItem(nil, it)
	b.Run("Encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			raw = encodeItem(nil, it)
		}
	})
	b.Run("Decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeItem(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
}
