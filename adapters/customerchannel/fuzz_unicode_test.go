package customerchannel

import (
	"slices"
	"testing"
)

// FuzzBidi: reordering only moves (and mirrors) characters, and shaping
// only replaces letters by presentation forms, never longer.
func FuzzBidi(f *testing.F) {
	for _, s := range []string{"hello", "مرحبا 123 world", "שָׁלוֹם (x)", "لا", "ـبـ", "\u064e\u064e", ""} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, rtl bool) {
		in := []rune(s)
		out := visualOrder(in, rtl)
		a, b := slices.Clone(in), slices.Clone(out)
		for i := range a {
			a[i] = min(a[i], mirror(a[i]))
		}
		for i := range b {
			b[i] = min(b[i], mirror(b[i]))
		}
		slices.Sort(a)
		slices.Sort(b)
		if !slices.Equal(a, b) {
			t.Fatalf("visualOrder(%q) = %q: not a permutation", s, string(out))
		}
		shaped := shapeArabic(in, func(rune) bool { return true })
		if len(shaped) > len(in) {
			t.Fatalf("shaping %q grew it to %q", s, string(shaped))
		}
		for _, r := range shaped {
			form := (r >= 0xfb50 && r <= 0xfdff) || (r >= 0xfe70 && r <= 0xfeff)
			if !form && !slices.Contains(in, r) {
				t.Fatalf("shaping %q invented %U", s, r)
			}
		}
	})
}

// FuzzTTFCoverage: any bytes as a font file are refused or read, never a
// panic, and what is read is sorted and disjoint.
func FuzzTTFCoverage(f *testing.F) {
	f.Add([]byte{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 'c', 'm', 'a', 'p', 0, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0, 12, 0, 0, 0, 0})
	f.Add([]byte("true\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rs, err := ttfCoverage(b)
		if err != nil {
			return
		}
		for i, r := range rs {
			if r.lo > r.hi || (i > 0 && rs[i-1].hi >= r.lo) {
				t.Fatalf("ranges not sorted and disjoint: %v", rs)
			}
		}
	})
}
