package jsonscan

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

var seeds = []string{
	`["sendMessage",{"text":"hi","n":-1.5e+3,"ok":true,"x":null,"a":[1,[2,{}]]}]`,
	`[]`, ` [ 1 , "a" ] `, `[1,]`, `[,1]`, `["\u00e9\n\"",{"k":"v"}]`, `{"a":1}`, `"\xff"`,
	`01`, `-`, `1.`, `1e`, `[1 2]`, `{"a" 1}`, `{"a":1,}`, `tru`, `nulll`, `"\u12"`, "\"\x01\"",
	`[` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `]`,
	strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
}

// FuzzValid: Valid agrees with json.Valid on every input.
func FuzzValid(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := Valid(b), json.Valid(b); got != want {
			t.Fatalf("Valid(%q) = %v, json.Valid = %v", b, got, want)
		}
	})
}

// FuzzSplitArray: SplitArray accepts what json.Unmarshal into
// []json.RawMessage accepts (for input starting with '['), with the same
// elements.
func FuzzSplitArray(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := SplitArray(b)
		var want []json.RawMessage
		err := json.Unmarshal(b, &want)
		wantOK := err == nil && len(b) > 0 && b[0] == '['
		if ok != wantOK {
			t.Fatalf("SplitArray(%q) ok = %v, json.Unmarshal: %v", b, ok, err)
		}
		if !ok {
			return
		}
		if len(got) != len(want) {
			t.Fatalf("SplitArray(%q) = %d elements, want %d", b, len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("element %d of %q = %q, want %q", i, b, got[i], want[i])
			}
		}
	})
}
