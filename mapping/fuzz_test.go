package mapping

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

// FuzzDecodeOutboxCursor: a cursor from a client is one a listing made
// (it reads back the same) or ErrBadCursor, never a shard out of range.
func FuzzDecodeOutboxCursor(f *testing.F) {
	for _, c := range []outboxCursor{{}, {Shard: 5, Queue: "q", Seq: 9}, {Shard: 63, Queue: "0b54fd2b-0e58-4645-9ef9-7dbf247cfb04", Seq: 1 << 40}} {
		f.Add(c.encode())
	}
	for _, s := range []string{"zzz", "eyJzIjo5OX0", "e30", "bnVsbA", "W10"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := DecodeOutboxCursor(s)
		if err != nil {
			if !errors.Is(err, ErrBadCursor) {
				t.Fatalf("%q: %v is not ErrBadCursor", s, err)
			}
			return
		}
		if c.Shard < 0 || c.Shard >= Shards {
			t.Fatalf("%q: shard %d taken", s, c.Shard)
		}
		again, err := DecodeOutboxCursor(c.encode())
		if err != nil || again != c {
			t.Fatalf("%q: %+v reads back as %+v, %v", s, c, again, err)
		}
	})
}

// FuzzDecodeItem: any stored bytes decode or fail cleanly, and an item
// decoded from the binary form reads back the same once written again.
func FuzzDecodeItem(f *testing.F) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	f.Add(encodeItem(nil, &OutboxItem{Queue: "c", Seq: 1, Target: "http://x", Body: []byte("b"), EnqueuedAt: at}))
	f.Add(encodeItem(nil, &OutboxItem{Headers: map[string]string{"a": "b"}}))
	f.Add([]byte(`{"queue":"c","seq":1}`))
	f.Fuzz(func(t *testing.T, v []byte) {
		it, err := decodeItem(v)
		if err != nil || len(v) == 0 || v[0] != itemV1 {
			return
		}
		again, err := decodeItem(encodeItem(nil, it))
		if err != nil || !reflect.DeepEqual(again, it) {
			t.Fatalf("%x decodes to %+v, which reads back as %+v (%v)", v, it, again, err)
		}
	})
}
