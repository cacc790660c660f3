package mapping

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"
	"unicode/utf8"
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

// FuzzRecordVersion: whatever version the fast read finds is the one
// json.Unmarshal finds; where it declines, Unmarshal decides.
func FuzzRecordVersion(f *testing.F) {
	for _, s := range []string{
		`{"id":"c","owner":{"face":"x"},"version":7,"state":"OPEN"}`,
		`{"version":0}`, `{}`, `{"version":18446744073709551615}`, `{"version":18446744073709551616}`,
		`{"Version":3}`, `{"version":1,"version":2}`, `{"vers\u0069on":4}`, `{"version":01}`, `{"version":-1}`,
		`{"version":1.0}`, `{"version":null}`, `{"version":1,}`, ` { "version" : 5 } `, `{"version":5} x`, `[1]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		v, ok := recordVersion(raw)
		if !ok {
			return
		}
		var want struct {
			Version uint64 `json:"version"`
		}
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatalf("%q: read version %d, but Unmarshal fails: %v", raw, v, err)
		}
		if v != want.Version {
			t.Fatalf("%q: read version %d, Unmarshal %d", raw, v, want.Version)
		}
	})
}

// FuzzLoggedSend: any stored send record decodes or fails cleanly, and
// one written reads back under its key with its record.
func FuzzLoggedSend(f *testing.F) {
	at := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	good, _ := appendLoggedSend(nil, []byte("conv|key"), SendRecord{ProviderMessageID: "p", State: SendPending, At: at}, at.Add(time.Hour))
	f.Add(good, "conv|key", "p")
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 1, 0xff}, "", "")
	f.Fuzz(func(t *testing.T, v []byte, key, id string) {
		_, _, _ = decodeLoggedSend(v, at)
		raw, err := appendLoggedSend(nil, []byte(key), SendRecord{ProviderMessageID: id, State: SendSent, At: at}, at.Add(time.Minute))
		if err != nil || !utf8.ValidString(id) { // JSON writes U+FFFD for what is not UTF-8
			return
		}
		k, _, ok := loggedKey(raw)
		rec, live, err := decodeLoggedSend(raw, at)
		if !ok || string(k) != key || err != nil || !live || rec.ProviderMessageID != id || rec.State != SendSent {
			t.Fatalf("key %q id %q read back as key %q, %+v, live %v, %v", key, id, k, rec, live, err)
		}
	})
}

// FuzzPrefixed: a field reads back as written, with what follows it; any
// other bytes are refused or split within themselves.
func FuzzPrefixed(f *testing.F) {
	f.Add(append(appendPrefixed(nil, logPrefix("conv", "cc.messages")), `{"t":"hi"}`...), []byte("conv\x00log\x00"), []byte("x"))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, []byte{}, []byte{})
	f.Fuzz(func(t *testing.T, v, field, rest []byte) {
		if p, r, ok := cutPrefixed(v); ok && len(p)+len(r) > len(v) {
			t.Fatalf("%x split into %d + %d bytes", v, len(p), len(r))
		}
		p, r, ok := cutPrefixed(append(appendPrefixed(nil, field), rest...))
		if !ok || !bytes.Equal(p, field) || !bytes.Equal(r, rest) {
			t.Fatalf("field %x, rest %x read back as %x, %x, %v", field, rest, p, r, ok)
		}
	})
}

// FuzzSendJSON holds a send record's hand-written JSON to json.Marshal,
// and to its refusals of times JSON cannot hold.
func FuzzSendJSON(f *testing.F) {
	f.Add("p-1", SendPending, "", 0, "replica-a", int64(1796287166), int64(5), 0)
	f.Add("<\"\xff>", SendSent, "m\u2028", 7, "", int64(253402300800), int64(0), 3600)
	f.Fuzz(func(t *testing.T, pm, state, id string, index int, holder string, sec, nsec int64, offset int) {
		rec := SendRecord{ProviderMessageID: pm, State: state, MessageID: id, MessageIndex: index, Holder: holder,
			At: time.Unix(sec, nsec).In(time.FixedZone("z", offset%(48*3600)))}
		want, werr := json.Marshal(rec)
		got, ok := appendSendJSON(nil, &rec)
		if ok != (werr == nil) || ok && string(got) != string(want) {
			t.Fatalf("hand-written (%v):\n%s\nmarshalled (%v):\n%s", ok, got, werr, want)
		}
	})
}

// FuzzScanSegment: reading a send log's file stops at its first frame
// that does not check, and what it read is exactly the frames before it.
func FuzzScanSegment(f *testing.F) {
	at := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	rec, _ := appendLoggedSend(nil, []byte("conv|key"), SendRecord{ProviderMessageID: "p", State: SendPending, At: at}, at.Add(time.Hour))
	two := appendFrame(appendFrame(nil, 1, rec), 2, appendLoggedHead(nil, 0, []byte("conv|key")))
	f.Add(two)
	f.Add(two[:len(two)-1])
	f.Add(append(slices.Clone(two), make([]byte, 64)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		var again []byte
		end, err := scanSegment(bytes.NewReader(data), func(off int64, seq uint64, rec []byte) {
			if off != int64(len(again))+sendFrameHead+sendSeqLen || !bytes.Equal(data[off:off+int64(len(rec))], rec) {
				t.Fatalf("record at %d, %d bytes, is not where it was read", off, len(rec))
			}
			again = appendFrame(again, seq, rec)
		})
		if err != nil || end > int64(len(data)) || !bytes.Equal(again, data[:end]) {
			t.Fatalf("read to %d of %d (%v); the frames read do not make its start again", end, len(data), err)
		}
	})
}
