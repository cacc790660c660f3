package customerchannel

import "testing"

func TestVisualOrder(t *testing.T) {
	tests := []struct {
		name, logical string
		rtl           bool
		want          string
	}{
		{"left to right text is untouched", "hello (world) 42", false, "hello (world) 42"},
		{"Hebrew is reversed", "שלום", true, "םולש"},
		{"numbers stay left to right in right-to-left text", "רחוב 123 ב", true, "ב 123 בוחר"},
		{"brackets are mirrored in right-to-left text", "(שלום)", true, "(םולש)"},
		{"an embedded right-to-left word in left-to-right text", "say שלום now", false, "say םולש now"},
		{"an embedded left-to-right word in right-to-left text", "אני אוהב Go מאוד", true, "דואמ Go בהוא ינא"},
		{"combining marks stay after their base", "שָׁלוֹם", true, "םוֹלשָׁ"},
		{"Arabic numbers after Arabic letters", "رقم ١٢٣", true, "١٢٣ مقر"},
		{"empty", "", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(visualOrder([]rune(tt.logical), tt.rtl)); got != tt.want {
				t.Fatalf("visualOrder(%q) = %q, want %q", tt.logical, got, tt.want)
			}
		})
	}
}

// The presentation forms are Unicode's (values from the Arabic
// Presentation Forms-A and -B charts).
func TestShapeArabicUsesTheContextualForms(t *testing.T) {
	all := func(rune) bool { return true }
	tests := []struct {
		name, in string
		want     []rune
	}{
		{"beh alone", "ب", []rune{0xfe8f}},
		{"beh beh beh: initial, medial, final", "ببب", []rune{0xfe91, 0xfe92, 0xfe90}},
		{"a right-joining letter breaks the word", "بدب", []rune{0xfe91, 0xfeaa, 0xfe8f}},
		{"lam alef ligature, isolated", "لا", []rune{0xfefb}},
		{"lam alef ligature after a joining letter", "سلا", []rune{0xfeb3, 0xfefc}},
		{"marks are transparent to joining", "بَب", []rune{0xfe91, 0x064e, 0xfe90}},
		{"Persian peh and gaf", "پگ", []rune{0xfb58, 0xfb93}},
		{"hamza never joins", "ءب", []rune{0xfe80, 0xfe8f}},
		{"Latin is untouched", "ab", []rune{'a', 'b'}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := shapeArabic([]rune(tt.in), all)
			if string(got) != string(tt.want) {
				t.Fatalf("shapeArabic(%q) = %U, want %U", tt.in, got, tt.want)
			}
		})
	}
	if got := shapeArabic([]rune("بب"), func(r rune) bool { return r < 0xfb50 }); string(got) != "بب" {
		t.Fatalf("forms the font lacks were used: %U", got)
	}
}
