package jsonscan

import (
	"bytes"
	"encoding/json"
	"strconv"
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

// FuzzText checks the scan against the decoder: it never panics, and in a
// document it calls clean every decoded string is free of NUL and control
// characters (tab and line breaks aside) and holds U+FFFD only where the
// document wrote one, never as the decoder's replacement for bad input.
func FuzzText(f *testing.F) {
	for _, s := range []string{`{"a":"b"}`, `[1,"\u0000"]`, "{\"a\":\"\xff\"}", `{"a":"\ud800"}`, `{"k\n":[{"x":"\ud83d\ude00"}]}`, `"`, `{"a":`, `[[[[`, `"\ufffd"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := Text(data)
		var v any
		if json.Unmarshal(data, &v) != nil {
			return
		}
		if p != nil {
			if p.Reason == "" {
				t.Fatalf("problem without a reason: %+v", p)
			}
			return
		}
		wroteFFFD := bytes.Contains(data, []byte("\uFFFD")) || bytes.Contains(bytes.ToLower(data), []byte(`\ufffd`))
		var walk func(v any)
		walk = func(v any) {
			switch x := v.(type) {
			case string:
				for _, r := range x {
					if r == 0xFFFD && !wroteFFFD {
						t.Fatalf("clean document decoded to a replacement character: %q", x)
					}
					if (r < 0x20 || (r >= 0x7f && r <= 0x9f)) && r != '\t' && r != '\n' && r != '\r' {
						t.Fatalf("clean document decoded to control U+%04X", r)
					}
				}
			case []any:
				for _, e := range x {
					walk(e)
				}
			case map[string]any:
				for k, e := range x {
					walk(k)
					walk(e)
				}
			}
		}
		walk(v)
	})
}

// FuzzPathAt checks that locating never panics and that, in a document the
// decoder accepts, every path it names leads to a value.
func FuzzPathAt(f *testing.F) {
	f.Add([]byte(`{"a":[1,{"b":"c"}]}`), int64(10))
	f.Add([]byte(`[]`), int64(1))
	f.Add([]byte(`{"a.b":{"c":[true]}}`), int64(14))
	f.Fuzz(func(t *testing.T, data []byte, off int64) {
		p, ok := PathAt(data, off)
		var v any
		if !ok || json.Unmarshal(data, &v) != nil || oddKeys(v) {
			return // member names with ".", "[" or "]" make paths ambiguous
		}
		if !resolves(v, p) {
			t.Fatalf("PathAt(%q, %d) = %q, which names no value", data, off, p)
		}
		if lp, ok := Locate(data, "a", "number"); ok && !resolves(v, lp) {
			t.Fatalf("Locate named %q, which names no value", lp)
		}
	})
}

// oddKeys reports a member name holding a path's punctuation.
func oddKeys(v any) bool {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if oddKeys(e) {
				return true
			}
		}
	case map[string]any:
		for k, e := range x {
			if strings.ContainsAny(k, ".[]") || oddKeys(e) {
				return true
			}
		}
	}
	return false
}

// resolves follows a path of PathAt's form through a decoded document
// whose member names hold none of its punctuation.
func resolves(v any, path string) bool {
	for path != "" {
		if path[0] == '[' {
			end := strings.IndexByte(path, ']')
			if end < 0 {
				return false
			}
			i, err := strconv.Atoi(path[1:end])
			arr, ok := v.([]any)
			if err != nil || !ok || i >= len(arr) {
				return false
			}
			v, path = arr[i], strings.TrimPrefix(path[end+1:], ".")
			continue
		}
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		end := strings.IndexAny(path, ".[")
		if end < 0 {
			end = len(path)
		}
		key := path[:end]
		if key == `""` { // how PathAt writes an empty member name
			key = ""
		}
		child, ok := m[key]
		if !ok {
			return false
		}
		v, path = child, strings.TrimPrefix(path[end:], ".")
	}
	return true
}

// FuzzMember: what Member finds is what encoding/json decodes into a field
// of that name; where it declines, encoding/json decides.
func FuzzMember(f *testing.F) {
	for _, s := range []string{
		`{"eventType":"MESSAGES","body":{"eventType":"x"}}`, `{"EventType":"A"}`, `{"eventType":"A","eventtype":"B"}`,
		`{"event\u0054ype":"A"}`, `{"eventType":1}`, `{"eventType":"A",}`, `{"eventType":"A"} x`, `[]`, `{}`,
		` { "eventType" : "A" } `, "{\"eventType\":\"A\",\"\xff\":1}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		raw, ok := Member(b, "eventType")
		if !ok {
			return
		}
		var want struct {
			EventType json.RawMessage `json:"eventType"`
		}
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatalf("%q: Member found %s, but Unmarshal fails: %v", b, raw, err)
		}
		if !bytes.Equal(raw, want.EventType) {
			t.Fatalf("%q: Member found %s, Unmarshal %s", b, raw, want.EventType)
		}
	})
}

// FuzzObject: Object accepts an object exactly when Value does, ends where
// Value ends, and hands out members that are each a valid string and value.
func FuzzObject(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		i := SkipSpace(b, 0)
		end, ok := Object(b, i, func(ks, vs Span) bool {
			k, v := b[ks.Start:ks.End], b[vs.Start:vs.End]
			if !json.Valid(k) || k[0] != '"' || !json.Valid(v) {
				t.Fatalf("member %q: %q of %q", k, v, b)
			}
			return true
		})
		vend, vok := Value(b, i)
		want := vok && b[i] == '{'
		if ok != want || (ok && end != vend) {
			t.Fatalf("Object(%q) = %d, %v; Value = %d, %v", b, end, ok, vend, vok)
		}
	})
}

// FuzzArray: Array accepts an array exactly when SplitArray does, with the
// same elements.
func FuzzArray(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var got [][]byte
		end, ok := Array(b, 0, func(e Span) bool {
			got = append(got, b[e.Start:e.End])
			return true
		})
		want, wantOK := SplitArray(b)
		if ok && SkipSpace(b, end) != len(b) {
			ok = false // SplitArray takes only a whole input
		}
		if ok != wantOK || len(got) != len(want) && ok {
			t.Fatalf("Array(%q) = %q, %v; SplitArray = %q, %v", b, got, ok, want, wantOK)
		}
		for i := range want {
			if ok && !bytes.Equal(got[i], want[i]) {
				t.Fatalf("element %d of %q = %q, want %q", i, b, got[i], want[i])
			}
		}
	})
}
