package jsonscan

import "testing"

func TestMember(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
		ok   bool
	}{
		{"the top level's member", `{"body":{"eventType":"inner"},"eventType":"MESSAGES"}`, `"MESSAGES"`, true},
		{"any value, aliased as written", ` { "eventType" : [1, {"a":2}] } `, `[1, {"a":2}]`, true},
		{"absent", `{"type":"x"}`, ``, false},
		{"another case is left to the decoder", `{"EventType":"x"}`, ``, false},
		{"two that match are left to the decoder", `{"eventType":"a","eventtype":"b"}`, ``, false},
		{"an escaped name is left to the decoder", `{"event\u0054ype":"a"}`, ``, false},
		{"not an object", `["eventType"]`, ``, false},
		{"a trailing comma is not JSON", `{"eventType":"a",}`, ``, false},
		{"text after the object is not JSON", `{"eventType":"a"} {}`, ``, false},
		{"a bad value elsewhere is not JSON", `{"eventType":"a","b":tru}`, ``, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Member([]byte(tt.in), "eventType")
			if string(got) != tt.want || ok != tt.ok {
				t.Fatalf("Member(%s) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}
