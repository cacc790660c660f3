package mapping

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// The embedded store keeps outbox items in a binary form: every delivery
// reads its item and the next one, and JSON was a tenth of the pipeline's
// CPU. The first byte tells the forms apart: itemV1, or '{' for the JSON
// items of files written before.
const itemV1 = 1

// encodeItem appends it's binary form to b, grown once to fit.
func encodeItem(b []byte, it *OutboxItem) []byte {
	strs := [...]string{it.Queue, string(it.Face), it.Target, it.Kind, it.App, it.LastError, it.Trace, it.DropReason}
	n := 1 + 4*8 + 3*binary.MaxVarintLen64 + binary.MaxVarintLen64 + len(it.Body) + binary.MaxVarintLen64
	for _, s := range strs {
		n += binary.MaxVarintLen64 + len(s)
	}
	for k, v := range it.Headers {
		n += 2*binary.MaxVarintLen64 + len(k) + len(v)
	}
	b = slices.Grow(b, n)
	b = append(b, itemV1)
	for _, t := range [...]time.Time{it.EnqueuedAt, it.NextAttempt, it.Expires, it.DroppedAt} {
		b = binary.BigEndian.AppendUint64(b, uint64(unixNano(t)))
	}
	b = binary.AppendUvarint(b, it.Seq)
	b = binary.AppendUvarint(b, uint64(max(it.Attempts, 0)))
	b = binary.AppendUvarint(b, uint64(max(it.Replays, 0)))
	for _, s := range strs {
		b = appendPrefixed(b, s)
	}
	b = append(binary.AppendUvarint(b, uint64(len(it.Body))), it.Body...)
	b = binary.AppendUvarint(b, uint64(len(it.Headers)))
	for k, v := range it.Headers {
		b = appendPrefixed(appendPrefixed(b, k), v)
	}
	return b
}

// itemTimes reads the enqueue and next-attempt times of a stored item
// without decoding the rest: what a removal needs of the queue's new head.
func itemTimes(v []byte) (enqueued, next time.Time, err error) {
	if len(v) >= 17 && v[0] == itemV1 {
		return fromUnixNano(int64(binary.BigEndian.Uint64(v[1:]))), fromUnixNano(int64(binary.BigEndian.Uint64(v[9:]))), nil
	}
	it, err := decodeItem(v)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	return it.EnqueuedAt, it.NextAttempt, nil
}

var errItem = errors.New("mapping: outbox item does not decode")

func decodeItem(v []byte) (*OutboxItem, error) {
	it := new(OutboxItem)
	if len(v) > 0 && v[0] == '{' {
		if err := json.Unmarshal(v, it); err != nil {
			return nil, err
		}
		return it, nil
	}
	if len(v) < 33 || v[0] != itemV1 {
		return nil, errItem
	}
	times := [4]*time.Time{&it.EnqueuedAt, &it.NextAttempt, &it.Expires, &it.DroppedAt}
	for i, t := range times {
		*t = fromUnixNano(int64(binary.BigEndian.Uint64(v[1+8*i:])))
	}
	r := itemReader{b: v[33:]}
	it.Seq = r.uvarint()
	it.Attempts = int(r.uvarint())
	it.Replays = int(r.uvarint())
	// The eight strings lie together: they are made from one copy of
	// them (one allocation, not eight).
	var face string
	fields := [...]*string{&it.Queue, &face, &it.Target, &it.Kind, &it.App, &it.LastError, &it.Trace, &it.DropReason}
	var spans [len(fields)][2]int
	from := r.pos
	for i := range fields {
		spans[i][0], spans[i][1] = r.field()
	}
	strs := string(r.b[from:r.pos])
	for i, f := range fields {
		*f = strs[spans[i][0]-from : spans[i][1]-from]
	}
	it.Face = Face(face)
	if lo, hi := r.field(); hi > lo {
		it.Body = bytes.Clone(r.b[lo:hi])
	}
	if n := r.uvarint(); n > 0 && r.err == nil {
		if n > uint64(len(r.b)-r.pos) {
			return nil, fmt.Errorf("%w: %d headers", errItem, n)
		}
		// The headers are the rest of the value: one copy of it holds them.
		from := r.pos
		rest := string(r.b[from:])
		it.Headers = make(map[string]string, n)
		for range n {
			klo, khi := r.field()
			vlo, vhi := r.field()
			it.Headers[rest[klo-from:khi-from]] = rest[vlo-from : vhi-from]
		}
	}
	if r.err != nil || r.pos != len(r.b) {
		return nil, errItem
	}
	return it, nil
}

// appendPrefixed appends s after its length (a uvarint): the field of
// every binary value the embedded store writes (outbox items, send
// records, journal records). cutPrefixed reads one back.
func appendPrefixed[S ~string | ~[]byte](b []byte, s S) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// cutPrefixed splits v into the field appendPrefixed wrote at its start
// and what follows it.
func cutPrefixed(v []byte) (field, rest []byte, ok bool) {
	n, w := binary.Uvarint(v)
	if w <= 0 || n > uint64(len(v)-w) {
		return nil, nil, false
	}
	return v[w : w+int(n)], v[w+int(n):], true
}

// itemReader reads what encodeItem wrote; its first failure sticks.
type itemReader struct {
	b   []byte
	pos int
	err error
}

func (r *itemReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.pos:])
	if n <= 0 {
		r.err = errItem
		return 0
	}
	r.pos += n
	return v
}

// field reads a length-prefixed field and returns where it lies in b.
func (r *itemReader) field() (lo, hi int) {
	n := r.uvarint()
	if r.err != nil || n > uint64(len(r.b)-r.pos) {
		r.err = errItem
		return r.pos, r.pos
	}
	lo = r.pos
	r.pos += int(n)
	return lo, r.pos
}

// unixNano is t in nanoseconds, 0 for the zero time (which UnixNano cannot
// hold).
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
