package customerchannel

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkTranscriptPDF renders a 200-message transcript.
func BenchmarkTranscriptPDF(b *testing.B) {
	doc := &transcriptDoc{Title: "Conversation transcript", Created: testNow}
	for i := range 200 {
		doc.Entries = append(doc.Entries, transcriptEntry{At: testNow.Add(time.Duration(i) * time.Second), From: "Agent", Role: RoleAgent,
			Text: fmt.Sprintf("message %d: the quick brown fox jumps over the lazy dog, twice over, to fill a line or two of text", i)})
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = doc.render()
	}
}
