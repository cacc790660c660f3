package customerchannel

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// checkPDFStructure verifies what a reader relies on: the header, every
// xref entry pointing at its "n 0 obj", startxref pointing at the table,
// and stream lengths matching their data.
func checkPDFStructure(t *testing.T, pdf []byte) {
	t.Helper()
	if !bytes.HasPrefix(pdf, []byte("%PDF-1.")) {
		t.Fatalf("no PDF header: %q", pdf[:min(20, len(pdf))])
	}
	if !bytes.HasSuffix(pdf, []byte("%%EOF\n")) {
		t.Fatal("no EOF trailer")
	}
	m := regexp.MustCompile(`startxref\n(\d+)\n%%EOF\n$`).FindSubmatch(pdf)
	if m == nil {
		t.Fatal("no startxref")
	}
	xref, _ := strconv.Atoi(string(m[1]))
	if !bytes.HasPrefix(pdf[xref:], []byte("xref\n0 ")) {
		t.Fatalf("startxref %d does not point at the xref table", xref)
	}
	rest := pdf[xref+len("xref\n0 "):]
	nl := bytes.IndexByte(rest, '\n')
	count, err := strconv.Atoi(string(rest[:nl]))
	if err != nil {
		t.Fatalf("xref count: %v", err)
	}
	entries := rest[nl+1:]
	for i := range count {
		e := entries[i*20 : (i+1)*20]
		if i == 0 {
			if string(e) != "0000000000 65535 f \n" {
				t.Fatalf("xref entry 0 = %q", e)
			}
			continue
		}
		off, err := strconv.Atoi(string(e[:10]))
		if err != nil || string(e[10:]) != " 00000 n \n" {
			t.Fatalf("xref entry %d = %q", i, e)
		}
		if want := fmt.Sprintf("%d 0 obj\n", i); !bytes.HasPrefix(pdf[off:], []byte(want)) {
			t.Fatalf("xref entry %d points at %q, want %q", i, pdf[off:off+10], want)
		}
	}
	for _, sm := range regexp.MustCompile(`<< /Length (\d+) >>\nstream\n`).FindAllSubmatchIndex(pdf, -1) {
		n, _ := strconv.Atoi(string(pdf[sm[2]:sm[3]]))
		if !bytes.HasPrefix(pdf[sm[1]+n:], []byte("\nendstream")) {
			t.Fatalf("stream at %d: /Length %d does not end at endstream", sm[0], n)
		}
	}
}

// pdfText extracts the text with poppler's pdftotext, which the tests need.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Fatal("pdftotext is missing: install poppler-utils (apt-get install -y poppler-utils)")
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "t.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-layout", in, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v: %s", err, out)
	}
	return string(out)
}

func TestTranscriptPDFHoldsEveryMessage(t *testing.T) {
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		entries   int
		text      func(i int) string
		wantPages int
	}{
		{name: "empty conversation is one page", entries: 0, text: nil, wantPages: 1},
		{name: "short conversation", entries: 3, text: func(i int) string { return fmt.Sprintf("hello number %d", i) }, wantPages: 1},
		{name: "long conversation spans pages", entries: 120, text: func(i int) string { return fmt.Sprintf("message-%03d (with parens) and \\ backslash", i) }, wantPages: 5},
		{name: "long words wrap", entries: 2, text: func(i int) string { return strings.Repeat("W", 200) + fmt.Sprintf(" tail%d", i) }, wantPages: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := &transcriptDoc{Title: "Conversation transcript", Header: []string{"Conversation: c-1", "Customer: Zoë Müller"}, Created: at}
			var want []string
			for i := range tt.entries {
				txt := tt.text(i)
				doc.Entries = append(doc.Entries, transcriptEntry{At: at.Add(time.Duration(i) * time.Second), From: "Agent Smith", Role: RoleAgent, Text: txt})
				want = append(want, txt)
			}
			pdf := doc.render()
			checkPDFStructure(t, pdf)
			if got := bytes.Count(pdf, []byte("/Type /Page ")); got < tt.wantPages {
				t.Errorf("pages = %d, want at least %d", got, tt.wantPages)
			}
			text := pdfText(t, pdf)
			// Wrapped lines are joined back before matching.
			flat := strings.Join(strings.Fields(text), "")
			for _, w := range append(want, "Zoë Müller", "Conversation transcript") {
				if !strings.Contains(flat, strings.Join(strings.Fields(w), "")) {
					t.Errorf("extracted text lacks %q", w)
				}
			}
		})
	}
}

func TestPDFStringEscapes(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "(plain)"},
		{"a(b)c\\", `(a\(b\)c\\)`},
		{"café", `(caf\351)`},
		{"“quoted” – €", `(\223quoted\224 \226 \200)`},
		{"emoji 😀 and \x01", "(emoji ? and ?)"},
		{"tab\there", "(tab here)"},
	}
	for _, tt := range tests {
		if got := pdfString(tt.in); got != tt.want {
			t.Errorf("pdfString(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestWrapTextKeepsLinesWithinWidth(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"words", strings.Repeat("lorem ipsum dolor sit amet ", 40)},
		{"one huge word", strings.Repeat("M", 500)},
		{"multibyte word", strings.Repeat("é", 300)},
		{"empty", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines := wrapText(tt.in, 200, 10)
			if strings.Join(strings.Fields(strings.Join(lines, "")), "") != strings.Join(strings.Fields(tt.in), "") {
				t.Fatalf("wrapping lost text")
			}
			for _, l := range lines {
				if textWidth(l, 10) > 200 {
					t.Errorf("line %q is %.0f points wide, over 200", l, textWidth(l, 10))
				}
			}
		})
	}
}
