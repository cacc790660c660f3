package jsonwrite

import (
	"encoding/json"
	"testing"
)

// FuzzString holds String to json.Marshal for every string.
func FuzzString(f *testing.F) {
	for _, s := range []string{"", "plain", "<\"\\\n\u2028\xff>", "Zoë"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := String([]byte("x"), s); string(got[1:]) != string(want) || got[0] != 'x' {
			t.Fatalf("String(%q) = %s, want x%s", s, got, want)
		}
	})
}
