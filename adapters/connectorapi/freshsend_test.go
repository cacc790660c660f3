package connectorapi

import (
	"bytes"
	"strconv"
	"testing"
)

// freshSend is one SEND envelope whose request id is rewritten in place, so
// that each request a benchmark makes is a new message (forwarded to AXP)
// rather than a retry answered from its send record, without allocating.
type freshSend struct {
	body []byte
	id   []byte // the id's digits, inside body
	num  []byte
}

// idDigits is the fixed width of a fresh id: room for any benchmark's count.
const idDigits = 12

func newFreshSend(tb testing.TB, conv, text string) *freshSend {
	tb.Helper()
	zeros := string(bytes.Repeat([]byte("0"), idDigits))
	body := []byte(textEnvelope(zeros, conv, text))
	at := bytes.Index(body, []byte(`"id":"`+zeros+`"`))
	if at < 0 {
		tb.Fatalf("no id in %s", body)
	}
	at += len(`"id":"`)
	return &freshSend{body: body, id: body[at : at+idDigits], num: make([]byte, 0, 20)}
}

// next returns the envelope with id n, right-aligned and zero-padded; the
// slice is reused by the following call.
func (f *freshSend) next(n uint64) []byte {
	f.num = strconv.AppendUint(f.num[:0], n, 10)
	for i := range f.id {
		f.id[i] = '0'
	}
	copy(f.id[idDigits-len(f.num):], f.num)
	return f.body
}
