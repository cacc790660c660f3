package jsonwrite

import (
	"encoding/json"
	"testing"
	"time"
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

// FuzzTime holds Time to Time.MarshalJSON, refusals included.
func FuzzTime(f *testing.F) {
	f.Add(int64(1796287166), int64(851000000), 0)
	f.Add(int64(253402300800), int64(0), -86400)
	f.Add(int64(-62135596801), int64(1), 86399)
	f.Fuzz(func(t *testing.T, sec, nsec int64, offset int) {
		at := time.Unix(sec, nsec).In(time.FixedZone("z", offset%(48*3600)))
		want, werr := at.MarshalJSON()
		got, ok := Time(nil, at)
		if ok != (werr == nil) || ok && string(got) != string(want) {
			t.Fatalf("Time(%v) = %s, %v; MarshalJSON = %s, %v", at, got, ok, want, werr)
		}
	})
}
