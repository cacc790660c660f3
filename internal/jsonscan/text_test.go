package jsonscan

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestTextFindsTheStringThatIsNotCleanText(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantPath string // "-" for no problem
		wantKey  bool
	}{
		{"clean document", `{"a":"héllo","b":[1,"x\ty\nz\r"],"c":{"d":"日本語 😀"}}`, "-", false},
		{"escaped newline and emoji pair", `{"t":"line\\none \ud83d\ude00"}`, "-", false},
		{"invalid UTF-8 byte", "{\"a\":{\"b\":\"ok\",\"c\":\"x\xffy\"}}", "a.c", false},
		{"truncated UTF-8 sequence", "{\"a\":\"\xe6\x97\"}", "a", false},
		{"escaped NUL", `{"name":"a\u0000b"}`, "name", false},
		{"escaped bell", `{"list":["ok","\u0007"]}`, "list[1]", false},
		{"backspace escape", `{"a":"\b"}`, "a", false},
		{"raw DEL", "{\"a\":\"\x7f\"}", "a", false},
		{"C1 control", `{"a":"\u0085"}`, "a", false},
		{"raw C1 control", "{\"a\":\"\xc2\x85\"}", "a", false},
		{"lone high surrogate", `{"a":[{"b":"\ud800"}]}`, "a[0].b", false},
		{"lone low surrogate", `{"a":"\udc00x"}`, "a", false},
		{"high surrogate then non-low", `{"a":"\ud800\u0041"}`, "a", false},
		{"bad member name", `{"ok":1,"k\u0000":2}`, "k\x00", true},
		{"root string", "\"\x01\"", "", false},
		{"batch element body", `[{"body":{"x":"ok"}},{"body":{"campaignInfo":{"n":"\u0001"}}}]`, "[1].body.campaignInfo.n", false},
		{"not JSON is left to the decoder", "{\"a\":\"\xff", "-", false},
		{"garbage", `]]`, "-", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Text([]byte(tt.in))
			if tt.wantPath == "-" {
				if p != nil {
					t.Fatalf("Text = %v, want none", p)
				}
				return
			}
			if p == nil {
				t.Fatalf("Text found nothing, want %q", tt.wantPath)
			}
			if p.Path != tt.wantPath || p.Key != tt.wantKey || p.Reason == "" {
				t.Fatalf("Text = %+v, want path %q key %v", p, tt.wantPath, tt.wantKey)
			}
		})
	}
}

func TestCheckLineRefusesControlsAndBrokenText(t *testing.T) {
	tests := []struct {
		in    string
		clean bool
	}{
		{"Ada Lovelace", true},
		{"Zoë 日本 مرحبا", true},
		{"", true},
		{"tab\there", false},
		{"new\nline", false},
		{"nul\x00", false},
		{"bad\xffbyte", false},
		{"replaced \uFFFD", false},
		{"del\x7f", false},
		{"c1\u0085", false},
	}
	for _, tt := range tests {
		if got := CheckLine(tt.in); (got == "") != tt.clean {
			t.Errorf("CheckLine(%q) = %q, want clean %v", tt.in, got, tt.clean)
		}
	}
}

type loose string

func (l *loose) UnmarshalJSON(b []byte) error {
	if b[0] == '"' || b[0] == '-' || (b[0] >= '0' && b[0] <= '9') {
		*l = loose(b)
		return nil
	}
	return &json.UnmarshalTypeError{Value: "bool", Type: nil}
}

// The decoder's own errors carry an offset, those of UnmarshalJSON methods
// only a dotted field: both lead to the exact path, indices included.
func TestDecoderErrorsLeadToTheExactPath(t *testing.T) {
	type target struct {
		Info *struct {
			ID loose `json:"campaignId"`
		} `json:"campaignInfo"`
		SDEs []struct {
			Contacts []struct {
				Phone loose `json:"phone"`
				N     int   `json:"n"`
			} `json:"contacts"`
		} `json:"lp_sdes"`
	}
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"method error, no array", `{"campaignInfo":{"campaignId":true}}`, "campaignInfo.campaignId"},
		{"method error in arrays", `{"lp_sdes":[{"contacts":[{"phone":"1"}]},{"contacts":[{"phone":2},{"phone":false}]}]}`, "lp_sdes[1].contacts[1].phone"},
		{"decoder error with offset", `{"lp_sdes":[{"contacts":[{"n":1},{"n":"x"}]}]}`, "lp_sdes[0].contacts[1].n"},
		{"object where a number goes", `{"lp_sdes":[{"contacts":[{"n":{"a":[1]}}]}]}`, "lp_sdes[0].contacts[0].n"},
		{"object where an object's field is a string", `{"campaignInfo":"x"}`, "campaignInfo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v target
			err := json.Unmarshal([]byte(tt.in), &v)
			var te *json.UnmarshalTypeError
			if !errors.As(err, &te) {
				t.Fatalf("err = %v, want a type error", err)
			}
			var got string
			var ok bool
			if te.Offset > 0 {
				got, ok = PathAt([]byte(tt.in), te.Offset)
			} else {
				got, ok = Locate([]byte(tt.in), te.Field, te.Value)
			}
			if !ok || got != tt.want {
				t.Fatalf("path = %q (%v), want %q (error %v)", got, ok, tt.want, err)
			}
		})
	}
}

func TestPathAtOutsideEveryValue(t *testing.T) {
	if _, ok := PathAt([]byte(`{"a":1}`), 99); ok {
		t.Fatal("an offset past the end found a value")
	}
	if _, ok := PathAt([]byte(`{"a":`), 3); ok {
		t.Fatal("broken JSON found a value")
	}
	if p, ok := PathAt([]byte(`{"a":1}`), 1); !ok || p != "" {
		t.Fatalf("offset inside the root object = %q %v, want the root", p, ok)
	}
}
