package customerchannel

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/go-pdf/fpdf"
)

// renderUnicode writes the transcript with go-pdf/fpdf and TrueType fonts,
// so that every script a font of fs covers comes out as text (embedded,
// subset, with a ToUnicode map, so that it can be searched and copied).
// The layout is the WinAnsi writer's: A4, the same margins, sizes and
// pagination. Right-to-left paragraphs are shaped, put in visual order
// (bidi.go) and aligned right. Characters outside the Basic Multilingual
// Plane (emoji, rare CJK) are drawn as U+FFFD: the writer encodes text in
// two bytes per character.
func (d *transcriptDoc) renderUnicode(fs *pdfFonts) ([]byte, error) {
	pdf := fpdf.New("P", "pt", "A4", "")
	pdf.SetMargins(pdfMargin, pdfMargin, pdfMargin)
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetCreationDate(d.Created)
	pdf.SetModificationDate(d.Created)
	pdf.SetProducer("connector-proxy", false)
	pdf.SetTitle(d.Title, true)

	w := &fontWriter{pdf: pdf, fs: fs, added: map[int]bool{}}
	lines := d.unicodeLines(w)
	if err := pdf.Error(); err != nil {
		return nil, fmt.Errorf("customerchannel: transcript fonts: %w", err)
	}
	pages := paginate(lines)
	for i, page := range pages {
		pdf.AddPage()
		y := float64(pdfMargin) // from the top, as fpdf counts
		if i == 0 {
			y += pdfTitleSize
			w.draw(d.Title, pdfMargin, y, pdfTitleSize, true, false)
			y += pdfLeading
		}
		for _, l := range page {
			if l.gap {
				y += pdfLeading / 2
			}
			y += pdfLeading
			x := float64(pdfMargin)
			if l.indent {
				x += pdfIndent
			}
			if l.rtl {
				x = pdfPageW - pdfMargin - w.width(l.text, pdfFontSize, l.bold)
			}
			w.draw(l.text, x, y, pdfFontSize, l.bold, l.rtl)
		}
		w.draw(fmt.Sprintf("Page %d of %d", i+1, len(pages)), pdfMargin, pdfPageH-pdfMargin/2, 8, false, false)
	}
	var out bytes.Buffer
	if err := pdf.Output(&out); err != nil {
		return nil, fmt.Errorf("customerchannel: write transcript PDF: %w", err)
	}
	return out.Bytes(), nil
}

// unicodeLines lays the transcript out as the WinAnsi writer's lines do,
// measuring with the real fonts; a right-to-left paragraph's lines are
// shaped and marked rtl, and stay in logical order until drawn.
func (d *transcriptDoc) unicodeLines(w *fontWriter) []pdfLine {
	var out []pdfLine
	for _, h := range d.Header {
		out = append(out, w.paragraph(h, pdfTextWidth, false, false, false)...)
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
		hl := w.paragraph(head, pdfTextWidth, true, false, true)
		out = append(out, hl...)
		for _, para := range strings.Split(e.Text, "\n") {
			out = append(out, w.paragraph(para, pdfTextWidth-pdfIndent, false, true, false)...)
		}
	}
	return out
}

// fontWriter measures and draws text with the fallback list: each
// character in the first font that has it.
type fontWriter struct {
	pdf   *fpdf.Fpdf
	fs    *pdfFonts
	added map[int]bool // fonts registered with pdf; -1 is the bold face
}

const boldFont = -1

func family(i int) string {
	if i == boldFont {
		return "fb"
	}
	return fmt.Sprintf("f%d", i)
}

// use selects font i at size, registering it with the document first.
func (w *fontWriter) use(i int, size float64) {
	if !w.added[i] {
		data := w.fs.bold
		if i != boldFont {
			data = w.fs.regular[i]
		}
		w.pdf.AddUTF8FontFromBytes(family(i), "", data.data)
		w.added[i] = true
	}
	w.pdf.SetFont(family(i), "", size)
}

// fontRun is text drawn in one font.
type fontRun struct {
	font int
	text string
}

// runs splits s by font. Bold text uses the bold face where it has the
// character, the regular list elsewhere.
func (w *fontWriter) runs(s string, bold bool) []fontRun {
	var out []fontRun
	var b strings.Builder
	cur := 0
	flush := func() {
		if b.Len() > 0 {
			out = append(out, fontRun{cur, b.String()})
			b.Reset()
		}
	}
	for _, r := range s {
		if r > 0xffff || r == utf8.RuneError {
			r = 0xfffd
		}
		var f int
		if bold && w.fs.bold != nil && w.fs.bold.has(r) {
			f = boldFont
		} else if p := w.fs.pick(r); p >= 0 {
			f = p
		} else {
			f = 0 // no font has it: the first one's missing-glyph box
		}
		if f != cur {
			flush()
			cur = f
		}
		b.WriteRune(r)
	}
	flush()
	return out
}

func (w *fontWriter) width(s string, size float64, bold bool) float64 {
	var total float64
	for _, run := range w.runs(s, bold) {
		w.use(run.font, size)
		total += w.pdf.GetStringWidth(run.text)
	}
	return total
}

// draw writes a line at (x, y), y being the baseline from the top; an rtl
// line is reordered for display first.
func (w *fontWriter) draw(s string, x, y, size float64, bold, rtl bool) {
	if rtl || hasRTL(s) {
		s = string(visualOrder([]rune(s), rtl))
	}
	for _, run := range w.runs(s, bold) {
		w.use(run.font, size)
		w.pdf.Text(x, y, run.text)
		x += w.pdf.GetStringWidth(run.text)
	}
}

// paragraph shapes a paragraph when it holds Arabic and wraps it to width
// points with the real fonts.
func (w *fontWriter) paragraph(s string, width float64, bold, indent, gap bool) []pdfLine {
	rtl := paragraphRTL(s)
	if hasRTL(s) {
		s = string(shapeArabic([]rune(s), w.anyHas))
	}
	var out []pdfLine
	for i, l := range wrapFunc(s, width, func(t string) float64 { return w.width(t, pdfFontSize, bold) }) {
		out = append(out, pdfLine{text: l, bold: bold, indent: indent, gap: gap && i == 0, rtl: rtl})
	}
	return out
}

// anyHas reports whether some regular font has r (shaping only uses a
// presentation form a font can draw).
func (w *fontWriter) anyHas(r rune) bool { return w.fs.pick(r) >= 0 }

func hasRTL(s string) bool {
	for _, r := range s {
		if c := classOf(r); c == bidiR || c == bidiAL {
			return true
		}
	}
	return false
}
