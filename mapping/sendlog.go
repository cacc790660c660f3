package mapping

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"strconv"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/connector-proxy/connector-proxy/internal/jsonwrite"
)

// The embedded store's send records are kept in bucketSendLog keyed by a
// sequence that only grows, with the record's own key (conversation|key)
// in its value, and found by that key through sendIndex, in memory. Keyed
// by conversation and key, as they were, the records of one group commit
// fell each on a page of its own among the conversations' records, and
// bbolt read each such page's every key into a node to change one: about
// half of the allocations of a SEND and a page written per record. Keyed
// by sequence, a commit's records share the bucket's last pages.
//
// A stored value is the record's expiry (unix ns), its key's length and
// the key, then its JSON.

// sendHash names a send record's key in the index: 128 bits of two
// seeded hashes. The record itself holds the key, which every read
// compares; two keys whose hashes meet (never, in practice) would share
// one entry, the later taking it.
type sendHash [2]uint64

// sendIndex is the send records by key hash: the sequence of the record
// in bucketSendLog. Like queueIndex it follows from what is stored: it is
// rebuilt when the file is opened (one process opens it), and a write
// transaction's changes are staged and become visible when it commits.
// Only the group writer's goroutine stages and commits, so it reads the
// committed map without the lock; readers take it.
type sendIndex struct {
	seeds [2]maphash.Seed

	mu   sync.RWMutex
	seqs map[sendHash]uint64

	stage map[sendHash]uint64 // the open transaction's; 0: deleted
	// cur reads the open write transaction's records: a cursor keeps its
	// stack from one seek to the next, where each Get makes one anew.
	cur *bolt.Cursor
}

func newSendIndex() *sendIndex {
	x := &sendIndex{seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		seqs: map[sendHash]uint64{}, stage: map[sendHash]uint64{}}
	return x
}

func (x *sendIndex) hash(key []byte) sendHash {
	return sendHash{maphash.Bytes(x.seeds[0], key), maphash.Bytes(x.seeds[1], key)}
}

// begin starts staging for a new write transaction.
func (x *sendIndex) begin() {
	clear(x.stage)
	x.cur = nil
}

func (x *sendIndex) commit() {
	if len(x.stage) == 0 {
		return
	}
	x.mu.Lock()
	for h, seq := range x.stage {
		if seq == 0 {
			delete(x.seqs, h)
		} else {
			x.seqs[h] = seq
		}
	}
	x.mu.Unlock()
}

// staged is the record's sequence as the open write transaction sees it.
func (x *sendIndex) staged(h sendHash) (uint64, bool) {
	if seq, ok := x.stage[h]; ok {
		return seq, seq != 0
	}
	seq, ok := x.seqs[h]
	return seq, ok
}

// committed is the record's sequence as the last commit left it.
func (x *sendIndex) committed(h sendHash) (uint64, bool) {
	x.mu.RLock()
	seq, ok := x.seqs[h]
	x.mu.RUnlock()
	return seq, ok
}

// load indexes the live records of bucketSendLog, when the file is opened.
func (x *sendIndex) load(tx *bolt.Tx, now time.Time) error {
	return bucket(tx, bucketSendLog).ForEach(func(k, v []byte) error {
		key, _, ok := loggedKey(v)
		if !ok || len(k) != 8 {
			return fmt.Errorf("%w: at %x", errSendLog, k)
		}
		if loggedLive(v, now) {
			x.seqs[x.hash(key)] = binary.BigEndian.Uint64(k)
		}
		return nil
	})
}

var errSendLog = errors.New("mapping: send record does not decode")

// A record's key in the index and in its value: the conversation, '|',
// the face's key.
func sendKey(conversation, key string) []byte { return appendSendKey(nil, conversation, key) }

func appendSendKey(b []byte, conversation, key string) []byte {
	b = append(b, conversation...)
	b = append(b, '|')
	return append(b, key...)
}

// appendLoggedSend appends a stored record: its expiry, its key, its JSON.
func appendLoggedSend(b, key []byte, rec SendRecord, expires time.Time) ([]byte, error) {
	b = appendLoggedHead(b, uint64(expires.UnixNano()), key)
	if out, ok := appendSendJSON(b, &rec); ok {
		return out, nil
	}
	return marshalSend(b, rec)
}

// appendLoggedHead appends what a stored record has before its JSON.
func appendLoggedHead(b []byte, expires uint64, key []byte) []byte {
	return appendPrefixed(binary.BigEndian.AppendUint64(b, expires), key)
}

// marshalSend is appendLoggedSend's general case.
func marshalSend(b []byte, rec SendRecord) ([]byte, error) {
	raw, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	return append(b, raw...), nil
}

// appendSendJSON appends rec as json.Marshal writes it (a record is
// written on every SEND); ok is false for a time Marshal refuses, which
// it then decides.
func appendSendJSON(b []byte, rec *SendRecord) (_ []byte, ok bool) {
	b = jsonwrite.String(append(b, `{"providerMessageId":`...), rec.ProviderMessageID)
	b = jsonwrite.String(append(b, `,"state":`...), rec.State)
	if rec.MessageID != "" {
		b = jsonwrite.String(append(b, `,"messageId":`...), rec.MessageID)
	}
	if rec.MessageIndex != 0 {
		b = strconv.AppendInt(append(b, `,"messageIndex":`...), int64(rec.MessageIndex), 10)
	}
	if rec.Holder != "" {
		b = jsonwrite.String(append(b, `,"holder":`...), rec.Holder)
	}
	b, ok = jsonwrite.Time(append(b, `,"at":`...), rec.At)
	return append(b, '}'), ok
}

func unmarshalSend(raw []byte) (SendRecord, bool, error) {
	var rec SendRecord
	return rec, true, json.Unmarshal(raw, &rec)
}

// loggedKey is the key a stored record is under, and its JSON.
func loggedKey(v []byte) (key, rest []byte, ok bool) {
	if len(v) < 8 {
		return nil, nil, false
	}
	return cutPrefixed(v[8:])
}

// loggedLive reports whether a stored record has not expired.
func loggedLive(v []byte, now time.Time) bool {
	return len(v) >= 8 && int64(binary.BigEndian.Uint64(v[:8])) > now.UnixNano()
}

// decodeLoggedSend reads a stored record; live is false past its expiry.
func decodeLoggedSend(v []byte, now time.Time) (rec SendRecord, live bool, err error) {
	_, raw, ok := loggedKey(v)
	if !ok {
		return rec, false, errSendLog
	}
	if !loggedLive(v, now) {
		return rec, false, nil
	}
	return unmarshalSend(raw)
}

// sendAt finds key's record in a write transaction: its sequence and
// stored value, or 0 and nil.
func (b *Bolt) sendAt(tx *bolt.Tx, h sendHash, key []byte) (uint64, []byte) {
	seq, ok := b.sends.staged(h)
	if !ok {
		return 0, nil
	}
	if b.sends.cur == nil {
		b.sends.cur = bucket(tx, bucketSendLog).Cursor()
	}
	k := seqKey(seq)
	if at, v := b.sends.cur.Seek(k[:]); bytes.Equal(at, k[:]) && isRecordOf(v, key) {
		return seq, v
	}
	return 0, nil
}

// isRecordOf reports whether v is a stored record of key.
func isRecordOf(v, key []byte) bool {
	k, _, ok := loggedKey(v)
	return ok && bytes.Equal(k, key)
}

// recordAt is the record at seq if it is key's.
func recordAt(bk *bolt.Bucket, seq uint64, key []byte) (uint64, []byte) {
	k := seqKey(seq)
	if v := bk.Get(k[:]); isRecordOf(v, key) {
		return seq, v
	}
	return 0, nil
}

// putSend stores val (a stored record of key) in a write transaction: in
// place of key's record when that is still live (a pending record that
// becomes sent: it is recent, on the last pages), else at a new sequence,
// the expired one removed.
func (b *Bolt) putSend(tx *bolt.Tx, h sendHash, key, val []byte, now time.Time) error {
	bk := bucket(tx, bucketSendLog)
	seq, old := b.sendAt(tx, h, key)
	if old != nil && loggedLive(old, now) {
		k := seqKey(seq)
		return bk.Put(k[:], val)
	}
	if old != nil {
		k := seqKey(seq)
		if err := bk.Delete(k[:]); err != nil {
			return err
		}
	}
	seq, err := bk.NextSequence()
	if err != nil {
		return err
	}
	k := seqKey(seq)
	if err := bk.Put(k[:], val); err != nil {
		return err
	}
	b.sends.stage[h] = seq
	return nil
}

// dropSend removes key's record in a write transaction.
func (b *Bolt) dropSend(tx *bolt.Tx, h sendHash, key []byte) error {
	seq, old := b.sendAt(tx, h, key)
	if old == nil {
		return nil
	}
	b.sends.stage[h] = 0
	k := seqKey(seq)
	return bucket(tx, bucketSendLog).Delete(k[:])
}

// removeLoggedSend is the sweep's removal of an expired record: its index
// entry goes with it unless a newer record of its key holds it.
func (b *Bolt) removeLoggedSend(tx *bolt.Tx, k, v []byte) error {
	if key, _, ok := loggedKey(v); ok {
		h := b.sends.hash(key)
		if seq, ok := b.sends.staged(h); ok && len(k) == 8 && seq == binary.BigEndian.Uint64(k) {
			b.sends.stage[h] = 0
		}
	}
	return bucket(tx, bucketSendLog).Delete(k)
}

// moveSends moves the records of a file written before, keyed by
// conversation and key in bucketSends, into bucketSendLog, when the file
// is opened. Expired ones are left behind.
func moveSends(tx *bolt.Tx, now time.Time) error {
	old := tx.Bucket([]byte(bucketSends))
	if old == nil {
		return nil
	}
	log := bucket(tx, bucketSendLog)
	err := old.ForEach(func(k, v []byte) error {
		// There a value was the expiry and the JSON: the key goes between.
		if !loggedLive(v, now) {
			return nil // expired: it would be swept
		}
		seq, err := log.NextSequence()
		if err != nil {
			return err
		}
		return log.Put(u64(seq), append(appendLoggedHead(nil, binary.BigEndian.Uint64(v[:8]), k), v[8:]...))
	})
	if err != nil {
		return err
	}
	return tx.DeleteBucket([]byte(bucketSends))
}

// BeginSend implements Sends. Its write is carried by the pooled request
// (sendOp): a BeginSend allocates nothing of its own.
func (b *Bolt) BeginSend(ctx context.Context, conversation, key string, rec SendRecord, ttl time.Duration) (SendRecord, bool, error) {
	r, err := b.sendWrite(conversation, key, rec, ttl)
	if err != nil {
		return rec, false, err
	}
	op := &r.send
	op.begin = true
	answered, err := b.w.queue(ctx, r)
	if !answered {
		return rec, false, err
	}
	out, won := rec, op.won
	if !won {
		out = op.cur
	}
	if outcome := b.w.put(r); err == nil {
		err = outcome
	}
	if err != nil {
		return rec, false, err
	}
	return out, won, nil
}

// sendOp is a send record's write: BeginSend's (put rec unless a live
// record is there, told in cur and won) or MarkSent's put.
type sendOp struct {
	b        *Bolt
	begin    bool
	key, val []byte
	h        sendHash
	now      time.Time
	cur      SendRecord
	won      bool
}

func (o *sendOp) apply(tx *bolt.Tx) error {
	if !o.begin {
		return o.b.putSend(tx, o.h, o.key, o.val, o.now)
	}
	o.cur, o.won = SendRecord{}, false // a batch that failed runs it again alone
	_, v := o.b.sendAt(tx, o.h, o.key)
	if v != nil {
		cur, live, err := decodeLoggedSend(v, o.now)
		if err != nil {
			return err
		}
		if live {
			o.cur = cur
			return nil
		}
	}
	o.won = true
	return o.b.putSend(tx, o.h, o.key, o.val, o.now)
}

// reset keeps the buffers for the next write.
func (o *sendOp) reset() {
	*o = sendOp{key: o.key[:0], val: o.val[:0]}
}

// TakeSend implements Sends.
func (b *Bolt) TakeSend(ctx context.Context, conversation, key string, expect, rec SendRecord, ttl time.Duration) (bool, error) {
	now := b.now()
	k := sendKey(conversation, key)
	h := b.sends.hash(k)
	raw, err := appendLoggedSend(nil, k, rec, now.Add(ttl))
	if err != nil {
		return false, err
	}
	took := false
	err = b.update(ctx, func(tx *bolt.Tx) error {
		took = false
		_, v := b.sendAt(tx, h, k)
		if v == nil {
			return nil
		}
		cur, live, err := decodeLoggedSend(v, now)
		if err != nil || !live || !sameSend(cur, expect) {
			return err
		}
		took = true
		return b.putSend(tx, h, k, raw, now)
	})
	return took, err
}

// sameSend reports whether cur is still the pending attempt expect names.
func sameSend(cur, expect SendRecord) bool {
	return cur.State == SendPending && cur.ProviderMessageID == expect.ProviderMessageID &&
		cur.Holder == expect.Holder && cur.At.Equal(expect.At)
}

// Send implements Sends.
func (b *Bolt) Send(ctx context.Context, conversation, key string) (SendRecord, bool, error) {
	var (
		rec  SendRecord
		live bool
	)
	now := b.now()
	k := sendKey(conversation, key)
	seq, ok := b.sends.committed(b.sends.hash(k))
	if !ok {
		return rec, false, ctx.Err()
	}
	err := b.view(ctx, func(tx *bolt.Tx) error {
		_, v := recordAt(bucket(tx, bucketSendLog), seq, k)
		if v == nil {
			return nil
		}
		var err error
		rec, live, err = decodeLoggedSend(v, now)
		return err
	})
	return rec, live, err
}

// PutSend implements Sends.
func (b *Bolt) PutSend(ctx context.Context, conversation, key string, rec SendRecord, ttl time.Duration) error {
	now := b.now()
	k := sendKey(conversation, key)
	h := b.sends.hash(k)
	raw, err := appendLoggedSend(nil, k, rec, now.Add(ttl))
	if err != nil {
		return err
	}
	return b.update(ctx, func(tx *bolt.Tx) error { return b.putSend(tx, h, k, raw, now) })
}

// DropSend implements Sends.
func (b *Bolt) DropSend(ctx context.Context, conversation, key string) error {
	k := sendKey(conversation, key)
	h := b.sends.hash(k)
	return b.update(ctx, func(tx *bolt.Tx) error { return b.dropSend(tx, h, k) })
}

// MarkSent implements Sends: the put joins the next group commit, and the
// caller does not wait for it.
func (b *Bolt) MarkSent(ctx context.Context, conversation, key string, rec SendRecord, ttl time.Duration) error {
	r, err := b.sendWrite(conversation, key, rec, ttl)
	if err != nil {
		return err
	}
	return b.w.post(ctx, r)
}

// sendWrite is a pooled request carrying the put of rec under key, in the
// request's own buffers.
func (b *Bolt) sendWrite(conversation, key string, rec SendRecord, ttl time.Duration) (*writeReq, error) {
	r := b.w.get()
	op := &r.send
	op.b, op.now = b, b.now()
	op.key = appendSendKey(op.key[:0], conversation, key)
	op.h = b.sends.hash(op.key)
	var err error
	if op.val, err = appendLoggedSend(op.val[:0], op.key, rec, op.now.Add(ttl)); err != nil {
		_ = b.w.put(r)
		return nil, err
	}
	return r, nil
}
