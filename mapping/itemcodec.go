package mapping

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// The embedded store keeps outbox items in a binary form: every delivery
// reads its item and the next one, and JSON was a tenth of the pipeline's
// CPU. The first byte tells the forms apart: itemV1, or '{' for the JSON
// items of files written before.
const itemV1 = 1

// encodeItem appends it's binary form to b.
func encodeItem(b []byte, it *OutboxItem) []byte {
	b = append(b, itemV1)
	for _, t := range []time.Time{it.EnqueuedAt, it.NextAttempt, it.Expires, it.DroppedAt} {
		b = binary.BigEndian.AppendUint64(b, uint64(unixNano(t)))
	}
	b = binary.AppendUvarint(b, it.Seq)
	b = binary.AppendUvarint(b, uint64(max(it.Attempts, 0)))
	b = binary.AppendUvarint(b, uint64(max(it.Replays, 0)))
	for _, s := range []string{it.Queue, string(it.Face), it.Target, it.Kind, it.App, it.LastError, it.Trace, it.DropReason} {
		b = appendString(b, s)
	}
	b = appendString(b, string(it.Body))
	b = binary.AppendUvarint(b, uint64(len(it.Headers)))
	for k, v := range it.Headers {
		b = appendString(appendString(b, k), v)
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
	var face string
	for _, s := range []*string{&it.Queue, &face, &it.Target, &it.Kind, &it.App, &it.LastError, &it.Trace, &it.DropReason} {
		*s = r.string()
	}
	it.Face = Face(face)
	if body := r.string(); body != "" {
		it.Body = []byte(body)
	}
	if n := r.uvarint(); n > 0 && r.err == nil {
		if n > uint64(len(r.b)) {
			return nil, fmt.Errorf("%w: %d headers", errItem, n)
		}
		it.Headers = make(map[string]string, n)
		for range n {
			k := r.string()
			it.Headers[k] = r.string()
		}
	}
	if r.err != nil || len(r.b) != 0 {
		return nil, errItem
	}
	return it, nil
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// itemReader reads what encodeItem wrote; its first failure sticks.
type itemReader struct {
	b   []byte
	err error
}

func (r *itemReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errItem
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *itemReader) string() string {
	n := r.uvarint()
	if r.err != nil || n > uint64(len(r.b)) {
		r.err = errItem
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
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
