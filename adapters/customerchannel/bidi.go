package customerchannel

import "unicode"

// Right-to-left text for the PDF writer, which draws glyphs left to right
// as given and shapes nothing:
//
//   - Arabic letters are shaped here into their contextual presentation
//     forms (isolated, initial, medial, final; lam-alef ligatures), for the
//     Arabic, Persian and Urdu letters whose forms Unicode encodes, when the
//     font has them;
//   - each line is put in visual order by a reduced Unicode Bidirectional
//     Algorithm: paragraph direction from the first strong character,
//     numbers kept left to right inside right-to-left text, neutrals taking
//     the direction around them, mirrored brackets, combining marks kept
//     with their base. Explicit embeddings, overrides and isolates
//     (U+202A–U+202E, U+2066–U+2069) are not applied.
//
// Scripts that need a real shaping engine (Devanagari conjuncts and
// reordered vowel signs, other Indic scripts) are drawn character by
// character: legible and searchable, not typeset.

// bidiClass is the reduced set of bidirectional classes used here.
type bidiClass uint8

const (
	bidiL   bidiClass = iota // left to right
	bidiR                    // right to left (Hebrew …)
	bidiAL                   // Arabic letter
	bidiEN                   // European number
	bidiAN                   // Arabic number
	bidiN                    // neutral: spaces, punctuation, symbols
	bidiNSM                  // combining mark: its base's class
)

func classOf(r rune) bidiClass {
	switch {
	case r >= '0' && r <= '9', r >= 0x06f0 && r <= 0x06f9:
		return bidiEN
	case r >= 0x0660 && r <= 0x0669, r == 0x066b || r == 0x066c:
		return bidiAN
	case unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r):
		return bidiNSM
	case r >= 0x0590 && r <= 0x05ff, r >= 0x07c0 && r <= 0x085f, r >= 0xfb1d && r <= 0xfb4f, r == 0x200f:
		return bidiR
	case r >= 0x0600 && r <= 0x07bf, r >= 0x0860 && r <= 0x08ff, r >= 0xfb50 && r <= 0xfdff, r >= 0xfe70 && r <= 0xfefe:
		return bidiAL
	case unicode.IsLetter(r) || unicode.Is(unicode.Mc, r) || r == 0x200e:
		return bidiL
	}
	return bidiN
}

// paragraphRTL reports whether a paragraph's first strong character is
// right to left.
func paragraphRTL(s string) bool {
	for _, r := range s {
		switch classOf(r) {
		case bidiL:
			return false
		case bidiR, bidiAL:
			return true
		}
	}
	return false
}

// visualOrder returns a line's characters in the order they are drawn,
// left to right, in a paragraph of the given direction.
func visualOrder(line []rune, rtl bool) []rune {
	n := len(line)
	if n == 0 {
		return line
	}
	// rtlAt says, for each strong or number character, whether it is right
	// to left for the neutrals around it; isStrong whether it is one.
	rtlAt, isStrong := make([]bool, n), make([]bool, n)
	levels := make([]uint8, n)
	base, even := uint8(0), uint8(0) // the paragraph's level, and its left-to-right one
	if rtl {
		base, even = 1, 2
	}
	lastStrong := bidiL
	if rtl {
		lastStrong = bidiR
	}
	prev := bidiN
	for i, r := range line {
		c := classOf(r)
		if c == bidiNSM {
			c = prev // W1: a mark is of its base's class
		}
		prev = c
		switch c {
		case bidiL:
			lastStrong, isStrong[i], levels[i] = bidiL, true, even
		case bidiR, bidiAL:
			lastStrong, isStrong[i], rtlAt[i], levels[i] = c, true, true, 1
		case bidiEN, bidiAN:
			isStrong[i] = true
			if c == bidiEN && lastStrong == bidiL { // W7: a number in left-to-right text
				levels[i] = even
			} else { // W2, I1, I2: a number in right-to-left text
				rtlAt[i], levels[i] = true, 2
			}
		}
	}
	// Neutrals (N1, N2): between two characters of one direction they take
	// it, else the paragraph's.
	for i := 0; i < n; {
		if isStrong[i] {
			i++
			continue
		}
		j := i
		for j < n && !isStrong[j] {
			j++
		}
		before, after := rtl, rtl
		if i > 0 {
			before = rtlAt[i-1]
		}
		if j < n {
			after = rtlAt[j]
		}
		lvl := base
		if before == after {
			if before {
				lvl = 1
			} else {
				lvl = even
			}
		}
		for k := i; k < j; k++ {
			levels[k] = lvl
		}
		i = j
	}
	// Clusters (a base and its combining marks) move as one.
	type cluster struct {
		start, end int
		level      uint8
	}
	var cs []cluster
	for i := 0; i < n; i++ {
		if classOf(line[i]) == bidiNSM && len(cs) > 0 {
			cs[len(cs)-1].end = i + 1
			continue
		}
		cs = append(cs, cluster{i, i + 1, levels[i]})
	}
	var top uint8
	for _, c := range cs {
		top = max(top, c.level)
	}
	// L2: from the highest level down to the lowest odd one, reverse every
	// run at that level or above.
	for lvl := top; lvl >= 1; lvl-- {
		for i := 0; i < len(cs); {
			if cs[i].level < lvl {
				i++
				continue
			}
			j := i
			for j < len(cs) && cs[j].level >= lvl {
				j++
			}
			for a, b := i, j-1; a < b; a, b = a+1, b-1 {
				cs[a], cs[b] = cs[b], cs[a]
			}
			i = j
		}
	}
	out := make([]rune, 0, n)
	for _, c := range cs {
		for k := c.start; k < c.end; k++ {
			r := line[k]
			if c.level%2 == 1 {
				r = mirror(r)
			}
			out = append(out, r)
		}
	}
	return out
}

func mirror(r rune) rune {
	switch r {
	case '(':
		return ')'
	case ')':
		return '('
	case '[':
		return ']'
	case ']':
		return '['
	case '{':
		return '}'
	case '}':
		return '{'
	case '<':
		return '>'
	case '>':
		return '<'
	case '«':
		return '»'
	case '»':
		return '«'
	case '‹':
		return '›'
	case '›':
		return '‹'
	}
	return r
}

// arabicForms are the presentation forms of a letter: isolated, final,
// initial, medial (0 where the letter has none: right-joining letters
// have no initial or medial form).
type arabicForms [4]rune

// arabicLetters maps the letters Unicode gives presentation forms for.
func arabicLetter(r rune) (arabicForms, bool) {
	switch {
	case r == 0x0621:
		return arabicForms{0xfe80}, true
	case r >= 0x0622 && r <= 0x0625: // alef madda/hamza forms, waw hamza: right-joining
		b := 0xfe81 + 2*(r-0x0622)
		return arabicForms{b, b + 1}, true
	case r == 0x0626:
		return arabicForms{0xfe89, 0xfe8a, 0xfe8b, 0xfe8c}, true
	case r == 0x0627:
		return arabicForms{0xfe8d, 0xfe8e}, true
	case r == 0x0628:
		return arabicForms{0xfe8f, 0xfe90, 0xfe91, 0xfe92}, true
	case r == 0x0629:
		return arabicForms{0xfe93, 0xfe94}, true
	case r >= 0x062a && r <= 0x062e: // teh … khah: dual-joining
		b := 0xfe95 + 4*(r-0x062a)
		return arabicForms{b, b + 1, b + 2, b + 3}, true
	case r >= 0x062f && r <= 0x0632: // dal, thal, reh, zain: right-joining
		b := 0xfea9 + 2*(r-0x062f)
		return arabicForms{b, b + 1}, true
	case r >= 0x0633 && r <= 0x063a: // seen … ghain
		b := 0xfeb1 + 4*(r-0x0633)
		return arabicForms{b, b + 1, b + 2, b + 3}, true
	case r >= 0x0641 && r <= 0x0647: // feh … heh
		b := 0xfed1 + 4*(r-0x0641)
		return arabicForms{b, b + 1, b + 2, b + 3}, true
	case r == 0x0648:
		return arabicForms{0xfeed, 0xfeee}, true
	case r == 0x0649:
		return arabicForms{0xfeef, 0xfef0, 0xfbe8, 0xfbe9}, true
	case r == 0x064a:
		return arabicForms{0xfef1, 0xfef2, 0xfef3, 0xfef4}, true
	case r == 0x067e: // peh
		return arabicForms{0xfb56, 0xfb57, 0xfb58, 0xfb59}, true
	case r == 0x0686: // tcheh
		return arabicForms{0xfb7a, 0xfb7b, 0xfb7c, 0xfb7d}, true
	case r == 0x0698: // jeh
		return arabicForms{0xfb8a, 0xfb8b}, true
	case r == 0x06a9: // keheh
		return arabicForms{0xfb8e, 0xfb8f, 0xfb90, 0xfb91}, true
	case r == 0x06af: // gaf
		return arabicForms{0xfb92, 0xfb93, 0xfb94, 0xfb95}, true
	case r == 0x06cc: // farsi yeh
		return arabicForms{0xfbfc, 0xfbfd, 0xfbfe, 0xfbff}, true
	}
	return arabicForms{}, false
}

// joinsForward reports whether a character connects to the letter after
// it: dual-joining letters and tatweel.
func joinsForward(r rune) bool {
	if r == 0x0640 {
		return true
	}
	f, ok := arabicLetter(r)
	return ok && f[2] != 0
}

// joinsBackward reports whether a character connects to the letter
// before it: every joining letter and tatweel.
func joinsBackward(r rune) bool {
	if r == 0x0640 {
		return true
	}
	f, ok := arabicLetter(r)
	return ok && f[1] != 0
}

// lamAlef is the ligature of lam followed by an alef, isolated and final.
func lamAlef(alef rune) (iso, fin rune, ok bool) {
	switch alef {
	case 0x0622:
		return 0xfef5, 0xfef6, true
	case 0x0623:
		return 0xfef7, 0xfef8, true
	case 0x0625:
		return 0xfef9, 0xfefa, true
	case 0x0627:
		return 0xfefb, 0xfefc, true
	}
	return 0, 0, false
}

// shapeArabic replaces Arabic letters, in logical order, by their
// contextual forms; a form the font lacks (has false) leaves the letter as
// it is.
func shapeArabic(s []rune, has func(rune) bool) []rune {
	transparent := func(r rune) bool { return classOf(r) == bidiNSM }
	// neighbour finds the next non-mark character from i in direction d.
	neighbour := func(i, d int) rune {
		for k := i + d; k >= 0 && k < len(s); k += d {
			if !transparent(s[k]) {
				return s[k]
			}
		}
		return 0
	}
	out := make([]rune, 0, len(s))
	for i := 0; i < len(s); i++ {
		r := s[i]
		forms, ok := arabicLetter(r)
		if !ok {
			out = append(out, r)
			continue
		}
		joinPrev := joinsForward(neighbour(i, -1)) && forms[1] != 0
		if r == 0x0644 && i+1 < len(s) {
			if iso, fin, ok := lamAlef(s[i+1]); ok {
				lig := iso
				if joinPrev {
					lig = fin
				}
				if has(lig) {
					out = append(out, lig)
					i++
					continue
				}
			}
		}
		joinNext := forms[2] != 0 && joinsBackward(neighbour(i, 1))
		form := forms[0]
		switch {
		case joinPrev && joinNext:
			form = forms[3]
		case joinPrev:
			form = forms[1]
		case joinNext:
			form = forms[2]
		}
		if form == 0 || !has(form) {
			form = r
		}
		out = append(out, form)
	}
	return out
}
