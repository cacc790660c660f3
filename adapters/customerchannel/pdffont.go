package customerchannel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sort"
)

// The transcript's fonts: TrueType files read from configured paths (none
// is committed; the image and CI install Debian's), tried in order for each
// character, so that one list covers every script (DejaVu Sans for Latin,
// Cyrillic, Greek, Arabic and Hebrew, Droid Sans Fallback for CJK, Lohit
// for Devanagari …). A font's coverage comes from its own cmap table.

// DefaultTranscriptFonts are tried when the configuration names none (the
// missing ones are skipped): Debian's fonts-dejavu-core, fonts-droid-fallback
// and fonts-lohit-deva, which the image and .ci/run install.
func DefaultTranscriptFonts() []string {
	return []string{
		"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
		"/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
		"/usr/share/fonts/truetype/lohit-devanagari/Lohit-Devanagari.ttf",
	}
}

// DefaultTranscriptBoldFont is the bold face of the headings, when present.
const DefaultTranscriptBoldFont = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"

// maxFontFile bounds a font file read into memory.
const maxFontFile = 64 << 20

// pdfFont is one loaded TrueType file.
type pdfFont struct {
	path  string
	data  []byte
	cover []runeRange // sorted, disjoint
}

type runeRange struct{ lo, hi rune }

func (f *pdfFont) has(r rune) bool {
	i := sort.Search(len(f.cover), func(i int) bool { return f.cover[i].hi >= r })
	return i < len(f.cover) && f.cover[i].lo <= r
}

// pdfFonts is the transcript's font list.
type pdfFonts struct {
	regular []*pdfFont
	bold    *pdfFont // nil: headings use the regular list
}

// loadPDFFonts reads the fonts; files that are missing or unreadable are
// reported in errs and skipped. It returns nil when no regular font could
// be read (transcripts then use the built-in WinAnsi writer).
func loadPDFFonts(paths []string, bold string) (fonts *pdfFonts, errs []error) {
	fs := &pdfFonts{}
	for _, p := range paths {
		f, err := readPDFFont(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fs.regular = append(fs.regular, f)
	}
	if len(fs.regular) == 0 {
		return nil, errs
	}
	if bold != "" {
		f, err := readPDFFont(bold)
		if err != nil {
			errs = append(errs, err)
		} else {
			fs.bold = f
		}
	}
	return fs, errs
}

func readPDFFont(path string) (*pdfFont, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("customerchannel: transcript font: %w", err)
	}
	if st.Size() > maxFontFile {
		return nil, fmt.Errorf("customerchannel: transcript font %s: %d bytes, over %d", path, st.Size(), maxFontFile)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("customerchannel: transcript font: %w", err)
	}
	cover, err := ttfCoverage(data)
	if err != nil {
		return nil, fmt.Errorf("customerchannel: transcript font %s: %w", path, err)
	}
	return &pdfFont{path: path, data: data, cover: cover}, nil
}

// pick returns the index in the regular list of the first font that has
// r, or -1 when none has.
func (fs *pdfFonts) pick(r rune) int {
	for i, f := range fs.regular {
		if f.has(r) {
			return i
		}
	}
	return -1
}

var errNotTrueType = errors.New("not a TrueType font (collections and CFF-based OpenType are not supported)")

// ttfCoverage reads the characters a TrueType file maps to a glyph, from
// its Unicode cmap subtable (format 12, else format 4).
func ttfCoverage(b []byte) ([]runeRange, error) {
	if len(b) < 12 {
		return nil, errNotTrueType
	}
	switch v := binary.BigEndian.Uint32(b); v {
	case 0x00010000, 0x74727565: // TrueType outlines, as the PDF writer needs
	default:
		return nil, errNotTrueType
	}
	n := int(binary.BigEndian.Uint16(b[4:]))
	var cmap []byte
	for i := range n {
		rec := 12 + 16*i
		if rec+16 > len(b) {
			return nil, errors.New("truncated table directory")
		}
		if string(b[rec:rec+4]) == "cmap" {
			off, ln := int(binary.BigEndian.Uint32(b[rec+8:])), int(binary.BigEndian.Uint32(b[rec+12:]))
			if off < 0 || ln < 0 || off+ln > len(b) || off+ln < off {
				return nil, errors.New("cmap outside the file")
			}
			cmap = b[off : off+ln]
		}
	}
	if len(cmap) < 4 {
		return nil, errors.New("no cmap table")
	}
	var f4, f12 []byte
	for i := range int(binary.BigEndian.Uint16(cmap[2:])) {
		rec := 4 + 8*i
		if rec+8 > len(cmap) {
			break
		}
		pid, eid := binary.BigEndian.Uint16(cmap[rec:]), binary.BigEndian.Uint16(cmap[rec+2:])
		off := int(binary.BigEndian.Uint32(cmap[rec+4:]))
		if off < 0 || off+4 > len(cmap) {
			continue
		}
		sub := cmap[off:]
		switch format := binary.BigEndian.Uint16(sub); {
		case format == 12 && (pid == 3 && eid == 10 || pid == 0):
			f12 = sub
		case format == 4 && (pid == 3 && eid == 1 || pid == 0):
			f4 = sub
		}
	}
	switch {
	case f12 != nil:
		return format12(f12)
	case f4 != nil:
		return format4(f4)
	}
	return nil, errors.New("no Unicode cmap subtable")
}

func format12(t []byte) ([]runeRange, error) {
	if len(t) < 16 {
		return nil, errors.New("truncated cmap format 12")
	}
	groups := int(binary.BigEndian.Uint32(t[12:]))
	if groups < 0 || 16+12*groups > len(t) {
		return nil, errors.New("truncated cmap format 12 groups")
	}
	var out []runeRange
	for g := range groups {
		p := 16 + 12*g
		lo, hi, glyph := binary.BigEndian.Uint32(t[p:]), binary.BigEndian.Uint32(t[p+4:]), binary.BigEndian.Uint32(t[p+8:])
		if glyph == 0 { // the first code maps to .notdef
			lo++
		}
		if lo <= hi && hi <= 0x10ffff {
			out = addRange(out, rune(lo), rune(hi))
		}
	}
	return mergeRanges(out), nil
}

func format4(t []byte) ([]runeRange, error) {
	if len(t) < 14 {
		return nil, errors.New("truncated cmap format 4")
	}
	segs := int(binary.BigEndian.Uint16(t[6:])) / 2
	ends, starts := 14, 14+2*segs+2
	deltas, ranges := starts+2*segs, starts+4*segs
	if ranges+2*segs > len(t) {
		return nil, errors.New("truncated cmap format 4 segments")
	}
	u16 := func(off int) int { return int(binary.BigEndian.Uint16(t[off:])) }
	var out []runeRange
	for s := range segs {
		end, start, delta, ro := u16(ends+2*s), u16(starts+2*s), u16(deltas+2*s), u16(ranges+2*s)
		if start > end || start == 0xffff {
			continue
		}
		if ro == 0 {
			for c := start; c <= end; c++ {
				if (c+delta)&0xffff != 0 {
					out = addRange(out, rune(c), rune(c))
				}
			}
			continue
		}
		for c := start; c <= end; c++ {
			at := ranges + 2*s + ro + 2*(c-start)
			if at+2 > len(t) {
				break
			}
			if g := u16(at); g != 0 && (g+delta)&0xffff != 0 {
				out = addRange(out, rune(c), rune(c))
			}
		}
	}
	return mergeRanges(out), nil
}

// addRange appends [lo, hi], extending the last range when adjacent.
func addRange(rs []runeRange, lo, hi rune) []runeRange {
	if n := len(rs); n > 0 && rs[n-1].hi+1 >= lo && rs[n-1].lo <= lo {
		if hi > rs[n-1].hi {
			rs[n-1].hi = hi
		}
		return rs
	}
	return append(rs, runeRange{lo, hi})
}

func mergeRanges(rs []runeRange) []runeRange {
	sort.Slice(rs, func(i, j int) bool { return rs[i].lo < rs[j].lo })
	out := rs[:0]
	for _, r := range rs {
		out = addRange(out, r.lo, r.hi)
	}
	return out
}
