package jsonwrite

import (
	"encoding/json"
	"testing"
	"time"
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

func TestTimeIsWhatMarshalJSONWritesOrRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		at   time.Time
	}{
		{"UTC with nanoseconds", time.Date(2026, 12, 3, 10, 52, 28, 123456789, time.UTC)},
		{"a zone east", time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 5*3600+1800))},
		{"a zone west", time.Date(1999, 12, 31, 23, 59, 59, 1, time.FixedZone("y", -8*3600))},
		{"the zero time", time.Time{}},
		{"year 9999", time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)},
		{"year 10000 is refused", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"a negative year is refused", time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"a zone of 24 hours is refused", time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("z", 24*3600))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, werr := tc.at.MarshalJSON()
			got, ok := Time(nil, tc.at)
			if ok != (werr == nil) || ok && string(got) != string(want) {
				t.Fatalf("Time = %s, %v; MarshalJSON = %s, %v", got, ok, want, werr)
			}
		})
	}
}
