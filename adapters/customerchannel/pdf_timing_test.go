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

// BenchmarkTranscriptPDFUnicode renders the same 200 messages with the
// TrueType fonts: Latin only (one font embedded), and in four scripts
// (three fonts, Droid Sans Fallback's 4 MB among them).
func BenchmarkTranscriptPDFUnicode(b *testing.B) {
	fs, errs := loadPDFFonts(DefaultTranscriptFonts(), DefaultTranscriptBoldFont)
	if fs == nil || len(errs) > 0 {
		b.Fatalf("transcript fonts missing: %v", errs)
	}
	texts := map[string][]string{
		"latin": {"the quick brown fox jumps over the lazy dog, twice over, to fill a line or two of text"},
		"scripts": {"Здравствуйте, мне нужна помощь с заказом, который не пришёл вовремя",
			"您好，请问有什么可以帮您？我们的客服时间是上午九点到下午六点。",
			"مرحبا، أريد تغيير عنوان التوصيل رقم 123 من فضلك",
			"the quick brown fox jumps over the lazy dog"},
	}
	for _, name := range []string{"latin", "scripts"} {
		b.Run(name, func(b *testing.B) {
			doc := &transcriptDoc{Title: "Conversation transcript", Created: testNow}
			for i := range 200 {
				t := texts[name][i%len(texts[name])]
				doc.Entries = append(doc.Entries, transcriptEntry{At: testNow.Add(time.Duration(i) * time.Second), From: "Agent", Role: RoleAgent,
					Text: fmt.Sprintf("message %d: %s", i, t)})
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := doc.renderUnicode(fs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
