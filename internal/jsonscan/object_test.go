package jsonscan

import (
	"bytes"
	"testing"
)

func TestObject(t *testing.T) {
	tests := []struct {
		name string
		in   string
		at   int
		want []string // key=value, as written
		end  int
		ok   bool
	}{
		{"empty", `{}`, 0, nil, 2, true},
		{"empty with space", `{ }x`, 0, nil, 3, true},
		{"members in order", `{"a":1, "b" : "x" ,"c":{"d":[1]}}`, 0, []string{`"a"=1`, `"b"="x"`, `"c"={"d":[1]}`}, 33, true},
		{"escaped key kept as written", `{"\u0061":true}`, 0, []string{`"\u0061"=true`}, 15, true},
		{"at an offset", `[{"a":null}]`, 1, []string{`"a"=null`}, 11, true},
		{"a duplicate is walked twice", `{"a":1,"a":2}`, 0, []string{`"a"=1`, `"a"=2`}, 13, true},
		{"not an object", `[1]`, 0, nil, 0, false},
		{"trailing comma", `{"a":1,}`, 0, []string{`"a"=1`}, 0, false},
		{"no colon", `{"a" 1}`, 0, nil, 0, false},
		{"bad value", `{"a":tru}`, 0, nil, 0, false},
		{"unterminated", `{"a":1`, 0, []string{`"a"=1`}, 0, false},
		{"key not a string", `{a:1}`, 0, nil, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			b := []byte(tt.in)
			end, ok := Object(b, tt.at, func(k, v Span) bool {
				got = append(got, string(b[k.Start:k.End])+"="+string(b[v.Start:v.End]))
				return true
			})
			if ok != tt.ok || (ok && end != tt.end) {
				t.Fatalf("Object(%q) = %d, %v; want %d, %v", tt.in, end, ok, tt.end, tt.ok)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("members %q, want %q", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("members %q, want %q", got, tt.want)
				}
			}
		})
	}
}

func TestObjectStopsWhenTold(t *testing.T) {
	calls := 0
	b := []byte(`{"a":1,"b":2,"c":3}`)
	_, ok := Object(b, 0, func(k, v Span) bool {
		calls++
		return !bytes.Equal(b[k.Start:k.End], []byte(`"b"`))
	})
	if ok || calls != 2 {
		t.Fatalf("ok %v after %d calls, want false after 2", ok, calls)
	}
}

func TestArray(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
		end  int
		ok   bool
	}{
		{"empty", `[ ]`, nil, 3, true},
		{"elements in order", `[1, {"a":[2]} ,"x"]`, []string{`1`, `{"a":[2]}`, `"x"`}, 19, true},
		{"trailing comma", `[1,]`, []string{`1`}, 0, false},
		{"missing comma", `[1 2]`, []string{`1`}, 0, false},
		{"not an array", `{}`, nil, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := []byte(tt.in)
			var got []string
			end, ok := Array(b, 0, func(e Span) bool {
				got = append(got, string(b[e.Start:e.End]))
				return true
			})
			if ok != tt.ok || (ok && end != tt.end) || len(got) != len(tt.want) {
				t.Fatalf("Array(%q) = %d, %v, %q; want %d, %v, %q", tt.in, end, ok, got, tt.end, tt.ok, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("elements %q, want %q", got, tt.want)
				}
			}
		})
	}
}
