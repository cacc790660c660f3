package jsonscan

import (
	"encoding/json"
	"testing"
)

// TestAgreesWithEncodingJSON runs the fuzz seeds as a table: each is
// judged as encoding/json judges it.
func TestAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range seeds {
		b := []byte(s)
		if Valid(b) != json.Valid(b) {
			t.Errorf("Valid(%.40q) = %v, json.Valid disagrees", s, Valid(b))
		}
		var want []json.RawMessage
		wantOK := json.Unmarshal(b, &want) == nil && b[0] == '['
		if _, ok := SplitArray(b); ok != wantOK {
			t.Errorf("SplitArray(%.40q) ok = %v, want %v", s, ok, wantOK)
		}
	}
}

func TestSplitArrayAliasesItsInput(t *testing.T) {
	b := []byte(`[ "a" , {"b":[1]} ]`)
	got, ok := SplitArray(b)
	if !ok || len(got) != 2 || string(got[0]) != `"a"` || string(got[1]) != `{"b":[1]}` {
		t.Fatalf("SplitArray = %q %v", got, ok)
	}
	if &got[0][0] != &b[2] {
		t.Fatal("the element is a copy")
	}
}
