package connectorapi

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

// freshSend is one SEND envelope whose request id is rewritten in place, so
// that each request a benchmark makes is a new message (forwarded to AXP)
// rather than a retry answered from its send record, without allocating.
type freshSend struct {
	body []byte
	id   []byte // the id's digits, inside body
}

// idDigits is the fixed width of a fresh id: room for any benchmark's count.
const idDigits = 12

func newFreshSend(tb testing.TB, conv, text string) *freshSend {
	tb.Helper()
	zeros := strings.Repeat("0", idDigits)
	body := []byte(textEnvelope(zeros, conv, text))
	at := bytes.Index(body, []byte(`"id":"`+zeros+`"`))
	if at < 0 {
		tb.Fatalf("no id in %s", body)
	}
	at += len(`"id":"`)
	return &freshSend{body: body, id: body[at : at+idDigits]}
}

// next returns the envelope with id n, right-aligned and zero-padded; the
// slice is reused by the following call.
func (f *freshSend) next(n uint64) []byte {
	var digits [20]byte
	num := strconv.AppendUint(digits[:0], n, 10)
	pad := idDigits - len(num)
	for i := range pad {
		f.id[i] = '0'
	}
	copy(f.id[pad:], num)
	return f.body
}

// A benchmark whose requests shared an id would measure retries answered
// from the send record, not SENDs.
func TestFreshSendGivesEachRequestItsOwnID(t *testing.T) {
	f := newFreshSend(t, "c-1", "hello")
	for _, tc := range []struct {
		n    uint64
		want string
	}{{1, "000000000001"}, {42, "000000000042"}, {7, "000000000007"}, {123456789012, "123456789012"}} {
		var env struct {
			ID   string `json:"id"`
			Body struct {
				DialogID string `json:"dialogId"`
			} `json:"body"`
		}
		if err := json.Unmarshal(f.next(tc.n), &env); err != nil {
			t.Fatalf("next(%d): %v", tc.n, err)
		}
		if env.ID != tc.want || env.Body.DialogID != "c-1" {
			t.Errorf("next(%d): id %q dialog %q, want %q c-1", tc.n, env.ID, env.Body.DialogID, tc.want)
		}
	}
}
