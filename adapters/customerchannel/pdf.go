package customerchannel

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// A small PDF 1.4 writer for transcripts: Helvetica text on A4 pages,
// uncompressed content streams, a correct cross-reference table. It exists so
// that the proxy needs no PDF dependency; it writes text only.

const (
	pdfPageW      = 595 // A4 in points
	pdfPageH      = 842
	pdfMargin     = 50
	pdfFontSize   = 10
	pdfLeading    = 14
	pdfTitleSize  = 16
	pdfIndent     = 12
	pdfTextWidth  = pdfPageW - 2*pdfMargin
	pdfLinesStart = pdfPageH - pdfMargin
)

// pdfLine is one line of the document before layout.
type pdfLine struct {
	text   string
	bold   bool
	indent bool
	// gap puts half a line of space before the line.
	gap bool
	// rtl marks a line of a right-to-left paragraph (Unicode writer only).
	rtl bool
}

// transcriptDoc is what a transcript shows.
type transcriptDoc struct {
	Title   string
	Header  []string // "Key: value" lines under the title
	Entries []transcriptEntry
	Created time.Time
}

type transcriptEntry struct {
	At   time.Time
	From string
	Role string
	Text string
}

// lines lays the transcript out as lines of text.
func (d *transcriptDoc) lines() []pdfLine {
	var out []pdfLine
	for _, h := range d.Header {
		out = append(out, pdfLine{text: h})
	}
	if len(d.Entries) == 0 {
		out = append(out, pdfLine{text: "(no messages)", gap: true})
	}
	for _, e := range d.Entries {
		head := e.From
		if e.Role != "" {
			head += " (" + e.Role + ")"
		}
		if !e.At.IsZero() {
			head = "[" + e.At.UTC().Format("2006-01-02 15:04:05 UTC") + "] " + head
		}
		out = append(out, pdfLine{text: head, bold: true, gap: true})
		for _, para := range strings.Split(e.Text, "\n") {
			for _, l := range wrapText(para, pdfTextWidth-pdfIndent, pdfFontSize) {
				out = append(out, pdfLine{text: l, indent: true})
			}
		}
	}
	return out
}

// render writes the PDF.
func (d *transcriptDoc) render() []byte {
	pages := paginate(d.lines())
	var w pdfWriter
	w.buf.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	// Object numbers: 1 catalog, 2 pages, 3 font, 4 bold font, 5 info, then
	// a page and its content stream per page.
	const firstPage = 6
	kids := make([]string, len(pages))
	for i := range pages {
		kids[i] = strconv.Itoa(firstPage+2*i) + " 0 R"
	}
	w.object(1, "<< /Type /Catalog /Pages 2 0 R >>")
	w.object(2, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(pages)))
	w.object(3, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
	w.object(4, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>")
	w.object(5, fmt.Sprintf("<< /Producer (connector-proxy) /Title %s /CreationDate (D:%s) >>",
		pdfString(d.Title), d.Created.UTC().Format("20060102150405Z")))
	for i, page := range pages {
		var c bytes.Buffer
		y := pdfLinesStart
		if i == 0 {
			y -= pdfTitleSize
			fmt.Fprintf(&c, "BT /F2 %d Tf %d %d Td %s Tj ET\n", pdfTitleSize, pdfMargin, y, pdfString(d.Title))
			y -= pdfLeading
		}
		for _, l := range page {
			if l.gap {
				y -= pdfLeading / 2
			}
			y -= pdfLeading
			x, font := pdfMargin, "F1"
			if l.indent {
				x += pdfIndent
			}
			if l.bold {
				font = "F2"
			}
			fmt.Fprintf(&c, "BT /%s %d Tf %d %d Td %s Tj ET\n", font, pdfFontSize, x, y, pdfString(l.text))
		}
		fmt.Fprintf(&c, "BT /F1 8 Tf %d %d Td %s Tj ET\n", pdfMargin, pdfMargin/2, pdfString(fmt.Sprintf("Page %d of %d", i+1, len(pages))))
		n := firstPage + 2*i
		w.object(n, fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents %d 0 R >>",
			pdfPageW, pdfPageH, n+1))
		w.stream(n+1, c.Bytes())
	}
	return w.finish(5)
}

// paginate splits lines into pages; the first page holds the title too.
func paginate(lines []pdfLine) [][]pdfLine {
	var pages [][]pdfLine
	var cur []pdfLine
	y := pdfLinesStart - pdfTitleSize - pdfLeading
	for _, l := range lines {
		h := pdfLeading
		if l.gap {
			h += pdfLeading / 2
		}
		if y-h < pdfMargin && len(cur) > 0 {
			pages = append(pages, cur)
			cur, y = nil, pdfLinesStart
		}
		cur = append(cur, l)
		y -= h
	}
	return append(pages, cur) // a transcript has at least one page, even empty
}

// pdfWriter tracks object offsets for the xref table.
type pdfWriter struct {
	buf     bytes.Buffer
	offsets []int // by object number; 0 unused
}

func (w *pdfWriter) begin(n int) {
	for len(w.offsets) <= n {
		w.offsets = append(w.offsets, 0)
	}
	w.offsets[n] = w.buf.Len()
	fmt.Fprintf(&w.buf, "%d 0 obj\n", n)
}

func (w *pdfWriter) object(n int, body string) {
	w.begin(n)
	w.buf.WriteString(body)
	w.buf.WriteString("\nendobj\n")
}

func (w *pdfWriter) stream(n int, data []byte) {
	w.begin(n)
	fmt.Fprintf(&w.buf, "<< /Length %d >>\nstream\n", len(data))
	w.buf.Write(data)
	w.buf.WriteString("\nendstream\nendobj\n")
}

// finish writes the xref table and trailer. Every xref entry is exactly 20
// bytes, as the format requires.
func (w *pdfWriter) finish(info int) []byte {
	xref := w.buf.Len()
	fmt.Fprintf(&w.buf, "xref\n0 %d\n0000000000 65535 f \n", len(w.offsets))
	for _, off := range w.offsets[1:] {
		fmt.Fprintf(&w.buf, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&w.buf, "trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(w.offsets), info, xref)
	return w.buf.Bytes()
}

// pdfString encodes s as a PDF literal string in WinAnsiEncoding: bytes
// outside printable ASCII are written as octal escapes, runes WinAnsi lacks
// become '?'.
func pdfString(s string) string {
	var b strings.Builder
	b.WriteByte('(')
	for _, r := range s {
		c, ok := winAnsi(r)
		switch {
		case !ok:
			b.WriteByte('?')
		case c == '(' || c == ')' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, "\\%03o", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(')')
	return b.String()
}

// winAnsiExtra are the WinAnsi code points 0x80-0x9f that are not Latin-1.
var winAnsiExtra = map[rune]byte{
	'€': 0x80, '‚': 0x82, 'ƒ': 0x83, '„': 0x84, '…': 0x85, '†': 0x86, '‡': 0x87, 'ˆ': 0x88,
	'‰': 0x89, 'Š': 0x8a, '‹': 0x8b, 'Œ': 0x8c, 'Ž': 0x8e, '‘': 0x91, '’': 0x92, '“': 0x93,
	'”': 0x94, '•': 0x95, '–': 0x96, '—': 0x97, '˜': 0x98, '™': 0x99, 'š': 0x9a, '›': 0x9b,
	'œ': 0x9c, 'ž': 0x9e, 'Ÿ': 0x9f,
}

func winAnsi(r rune) (byte, bool) {
	switch {
	case r == '\t':
		return ' ', true
	case r >= 0x20 && r < 0x7f, r >= 0xa0 && r <= 0xff:
		return byte(r), true
	case r < 0x20 || r == utf8.RuneError:
		return 0, false
	}
	c, ok := winAnsiExtra[r]
	return c, ok
}

// helveticaWidths are the Helvetica AFM widths (1/1000 em) of ' '..'~'.
var helveticaWidths = [95]uint16{
	278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
	556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
	1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
	667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
	333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
	556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
}

// textWidth is s's width in points at size, bold ignored (it is close).
func textWidth(s string, size int) float64 {
	var w int
	for _, r := range s {
		if r >= ' ' && r <= '~' {
			w += int(helveticaWidths[r-' '])
		} else {
			w += 667 // wide enough for any Latin-1 letter
		}
	}
	return float64(w) * float64(size) / 1000
}

// wrapText breaks a paragraph into lines no wider than width points of
// Helvetica, between words where it can and inside a word that alone is too
// wide.
func wrapText(s string, width, size int) []string {
	return wrapFunc(s, float64(width), func(t string) float64 { return textWidth(t, size) })
}

// wrapFunc breaks a paragraph into lines no wider than width as measured
// by textW.
func wrapFunc(s string, width float64, textW func(string) float64) []string {
	words := strings.Fields(s)
	if len(words) == 0 {
		return []string{""}
	}
	var lines []string
	cur := ""
	for _, word := range words {
		for textW(word) > width {
			if cur != "" {
				lines = append(lines, cur)
				cur = ""
			}
			cut := fitPrefix(word, width, textW)
			lines = append(lines, word[:cut])
			word = word[cut:]
		}
		switch {
		case word == "":
		case cur == "":
			cur = word
		case textW(cur+" "+word) <= width:
			cur += " " + word
		default:
			lines = append(lines, cur)
			cur = word
		}
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}

// fitPrefix returns the byte length of the longest prefix of word (at least
// one rune) that fits in width.
func fitPrefix(word string, width float64, textW func(string) float64) int {
	cut := 0
	for i := 0; i < len(word); {
		_, n := utf8.DecodeRuneInString(word[i:])
		end := i + n
		if cut > 0 && textW(word[:end]) > width {
			break
		}
		cut, i = end, end
	}
	return cut
}
