package jsonwrite

import (
	"encoding/json"
	"testing"
)

func TestStringIsWhatEncodingJSONWrites(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"plain", "hello there"},
		{"empty", ""},
		{"quotes and backslashes", `say "hi" \ bye`},
		{"control characters", "a\b\f\n\r\t\x00\x1f"},
		{"HTML characters", "<b>&amp;</b>"},
		{"line and paragraph separators", "x\u2028y\u2029z"},
		{"invalid UTF-8", "ok\xffnot\xc3"},
		{"non-ASCII", "Zoë 東京 🚀"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, _ := json.Marshal(tc.in)
			if got := String(nil, tc.in); string(got) != string(want) {
				t.Fatalf("String(%q) = %s, want %s", tc.in, got, want)
			}
		})
	}
}
