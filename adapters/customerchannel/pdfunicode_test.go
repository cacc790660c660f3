package customerchannel

import (
	"context"
	"strings"
	"testing"
	"unicode"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"golang.org/x/text/unicode/norm"
)

// installedFonts loads the default fonts, which the tests need (.ci/run
// and the image install them).
func installedFonts(t *testing.T) *pdfFonts {
	t.Helper()
	fs, errs := loadPDFFonts(DefaultTranscriptFonts(), DefaultTranscriptBoldFont)
	if fs == nil || len(errs) > 0 {
		t.Fatalf("transcript fonts missing (apt-get install fonts-dejavu-core fonts-droid-fallback fonts-lohit-deva): %v", errs)
	}
	return fs
}

// readBack is pdftotext's text made comparable: presentation forms back to
// letters (NFKC), bidi controls dropped, whitespace removed.
func readBack(t *testing.T, pdf []byte) string {
	t.Helper()
	text := norm.NFKC.String(pdfText(t, pdf))
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || (r >= 0x202a && r <= 0x202e) || r == 0x200e || r == 0x200f {
			return -1
		}
		return r
	}, text)
}

// compact is s as readBack leaves text: NFKC, no whitespace.
func compact(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, norm.NFKC.String(s))
}

// arabicPhrases are the runs of Arabic words of s, in logical order.
func arabicPhrases(s string) []string {
	var out []string
	var cur []string
	for _, w := range strings.Fields(s) {
		arabic := true
		for _, r := range w {
			if !unicode.Is(unicode.Arabic, r) || unicode.IsPunct(r) {
				arabic = false
			}
		}
		if arabic {
			cur = append(cur, w)
			continue
		}
		if len(cur) > 0 {
			out = append(out, compact(strings.Join(cur, "")))
			cur = nil
		}
	}
	if len(cur) > 0 {
		out = append(out, compact(strings.Join(cur, "")))
	}
	return out
}

// A transcript in Arabic, Chinese and Cyrillic has text that pdftotext
// reads back: the letters themselves (not replacement characters), the
// Arabic words in their order.
func TestTranscriptInEveryScriptReadsBack(t *testing.T) {
	msgs := []struct{ from, role, text string }{
		{"Зоя Петрова", RoleCustomer, "Здравствуйте! Мне нужна помощь с заказом № 4521."},
		{"李明", RoleAgent, "您好，请问有什么可以帮您？我们的客服时间是上午九点到下午六点。"},
		{"أحمد", RoleCustomer, "مرحبا، أريد تغيير عنوان التوصيل رقم 123 من فضلك."},
		{"Agent Ada", RoleAgent, "Of course — سأساعدك الآن (one moment)."},
		{"Cleo", RoleCustomer, strings.Repeat("长消息没有空格需要换行。", 30)},
	}
	b := &fakeBackend{}
	for _, m := range msgs {
		b.messages = append(b.messages, &engagement.Message{SenderParticipantType: map[string]string{RoleCustomer: "CUSTOMER", RoleAgent: "AGENT"}[m.role],
			SenderParticipantName: m.from, Body: engagement.Body{ElementText: &engagement.ElementText{Text: m.text}}})
	}
	f, store := newUnitFace(t, b)
	installedFonts(t)
	conv := closedConv(t, store, "scripts")
	pdf, ferr := f.transcript(context.Background(), conv)
	if ferr != nil {
		t.Fatal(ferr)
	}
	if f.transcriptFonts() == nil {
		t.Fatal("the face fell back to the WinAnsi writer")
	}
	checkPDFStructure(t, pdf)
	got := readBack(t, pdf)
	if strings.ContainsRune(got, 0xfffd) {
		t.Errorf("replacement characters in the transcript:\n%s", pdfText(t, pdf))
	}
	for _, m := range msgs {
		if !strings.Contains(got, compact(m.from)) {
			t.Errorf("transcript lacks the sender %q", m.from)
		}
		if phrases := arabicPhrases(m.text); len(phrases) > 0 {
			for _, p := range phrases {
				if !strings.Contains(got, p) {
					t.Errorf("transcript lacks the Arabic %q in order:\n%s", p, pdfText(t, pdf))
				}
			}
			continue
		}
		if !strings.Contains(got, compact(m.text)) {
			t.Errorf("transcript lacks %q:\n%s", m.text, pdfText(t, pdf))
		}
	}
}

func TestFontCoverageComesFromTheCmap(t *testing.T) {
	fs := installedFonts(t)
	tests := []struct {
		r    rune
		want string // the font file that should draw it
	}{
		{'A', "DejaVuSans.ttf"}, {'Ж', "DejaVuSans.ttf"}, {'م', "DejaVuSans.ttf"}, {0xfeb3, "DejaVuSans.ttf"},
		{'中', "DroidSansFallbackFull.ttf"}, {'あ', "DroidSansFallbackFull.ttf"}, {'न', "Lohit-Devanagari.ttf"},
	}
	for _, tt := range tests {
		i := fs.pick(tt.r)
		if i < 0 || !strings.HasSuffix(fs.regular[i].path, tt.want) {
			t.Errorf("%q is drawn by %d, want %s", tt.r, i, tt.want)
		}
	}
	if fs.pick(0x10fffd) >= 0 {
		t.Error("a private-use plane character is covered")
	}
}

func TestTTFCoverageRefusesWhatItCannotRead(t *testing.T) {
	for name, b := range map[string][]byte{
		"empty":      nil,
		"collection": append([]byte("ttcf"), make([]byte, 20)...),
		"truncated":  {0, 1, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0},
	} {
		if _, err := ttfCoverage(b); err == nil {
			t.Errorf("%s: read without error", name)
		}
	}
}
