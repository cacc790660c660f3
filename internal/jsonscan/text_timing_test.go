package jsonscan

import (
	"strings"
	"testing"
)

// BenchmarkTextCleanSend scans a SEND envelope with a 1 KiB message, the
// check every Connector API body goes through: no allocation when clean.
func BenchmarkTextCleanSend(b *testing.B) {
	body := []byte(`{"kind":"req","id":"1","type":"ms.PublishEvent","body":{"dialogId":"5f0c7a6e-1d2b-4c1a-9f3e-2b7d8c9a0e11","event":{"type":"ContentEvent","contentType":"text/plain","message":"` +
		strings.Repeat("Grüße, 世界! ", 64) + `"}}}`)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if Text(body) != nil {
			b.Fatal("clean body refused")
		}
	}
}
