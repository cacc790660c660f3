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
	berrors "go.etcd.io/bbolt/errors"

	"github.com/connector-proxy/connector-proxy/internal/jsonwrite"
)

// The send records are found by their key (conversation|key) through
// sendIndex, in memory, which says where in the send log (sendwal.go) the
// record in force is. A stored record is its expiry (unix ns), its key's
// length and the key, then its JSON.

// sendHash names a send record's key in the index: 128 bits of two
// seeded hashes. The record itself holds the key, which every read
// compares; two keys whose hashes meet (never, in practice) would share
// one entry, the later taking it.
type sendHash [2]uint64

// sendIndex is where each key's record in force is. It follows from what
// the log holds: rebuilt when the store is opened (one process opens it),
// and a group commit's changes are staged and become visible once its
// records are durable. The log's writer stages and commits; the sweep
// removes the entries of the files it deletes; readers take the lock.
type sendIndex struct {
	seeds [2]maphash.Seed

	mu   sync.RWMutex
	seqs map[sendHash]sendLoc

	stage map[sendHash]sendLoc // the open batch's; expires 0: deleted
}

func newSendIndex() *sendIndex {
	return &sendIndex{seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		seqs: map[sendHash]sendLoc{}, stage: map[sendHash]sendLoc{}}
}

func (x *sendIndex) hash(key []byte) sendHash {
	return sendHash{maphash.Bytes(x.seeds[0], key), maphash.Bytes(x.seeds[1], key)}
}

// begin starts staging for a new batch.
func (x *sendIndex) begin() { clear(x.stage) }

func (x *sendIndex) commit() {
	if len(x.stage) == 0 {
		return
	}
	x.mu.Lock()
	for h, loc := range x.stage {
		if loc.expires == 0 {
			delete(x.seqs, h)
		} else {
			x.seqs[h] = loc
		}
	}
	x.mu.Unlock()
}

// staged is the record's place as the open batch sees it, and whether the
// batch wrote it.
func (x *sendIndex) staged(h sendHash) (loc sendLoc, inBatch, ok bool) {
	if loc, ok := x.stage[h]; ok {
		return loc, true, true
	}
	loc, ok = x.committed(h)
	return loc, false, ok
}

// committed is the record's place as the last commit left it.
func (x *sendIndex) committed(h sendHash) (sendLoc, bool) {
	x.mu.RLock()
	loc, ok := x.seqs[h]
	x.mu.RUnlock()
	return loc, ok
}

// len is how many keys the committed index holds: records in force, and
// expired ones until their file is deleted.
func (x *sendIndex) len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.seqs)
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

// sendOpKind is what a send record's write does.
type sendOpKind uint8

const (
	opPut   sendOpKind = iota // put val (MarkSent, PutSend)
	opBegin                   // put val unless a record is in force (BeginSend)
	opTake                    // put val if the record in force is expect (TakeSend)
	opDrop                    // forget the record in force (DropSend)
	opSweep                   // cut the spans that ended by now (SweepSends)
)

// sendOp is a send record's write, applied by the send log's writer.
type sendOp struct {
	op       sendOpKind
	key, val []byte
	h        sendHash
	now      time.Time
	expect   SendRecord // opTake's
	out      sendOutcome
}

// sendOutcome is what a send record's write did.
type sendOutcome struct {
	cur   SendRecord     // opBegin's: the record in force, when it is not val
	won   bool           // val is the record in force now
	wrote bool           // a record was appended
	gone  []*sendSegment // opSweep's: the segments cut
}

// applyLog runs the write in the log's open batch.
func (o *sendOp) applyLog(l *sendLog) error {
	o.out = sendOutcome{}
	if o.op == opSweep {
		return nil
	}
	// A put replaces whatever is there: it needs only where that is.
	prev, had, rec, err := l.current(o.h, o.key, o.now, o.op != opPut)
	if err != nil {
		return err
	}
	var span int64 // appendRecord files it by its expiry, and
	if had {
		// never before what it replaces: deleting that segment first
		// cannot bring the replaced record back.
		span = prev.seg
	}
	switch o.op {
	case opBegin:
		if rec != nil {
			o.out.cur, _, err = decodeLoggedSend(rec, o.now)
			return err
		}
	case opTake:
		if rec == nil {
			return nil
		}
		if cur, _, err := decodeLoggedSend(rec, o.now); err != nil || !sameSend(cur, o.expect) {
			return err
		}
	case opDrop:
		if rec == nil {
			return nil
		}
		o.val = appendLoggedHead(o.val[:0], 0, o.key)
	}
	loc, err := l.appendRecord(span, o.val)
	if err != nil {
		return err
	}
	l.x.stage[o.h] = loc
	o.out.won, o.out.wrote = true, true
	return nil
}

// current is what the open batch sees under key: where its last record is
// (had), and, when read is set, that record if it is in force.
func (l *sendLog) current(h sendHash, key []byte, now time.Time, read bool) (loc sendLoc, had bool, rec []byte, err error) {
	loc, inBatch, had := l.x.staged(h)
	if !had || !read || loc.expires <= now.UnixNano() {
		return loc, had, nil, nil
	}
	if inBatch {
		rec = l.staged(loc)
	} else if rec, err = l.read(loc, l.rbuf); err != nil {
		return loc, had, nil, err
	} else if rec != nil {
		l.rbuf = rec
	}
	if rec == nil || !isRecordOf(rec, key) {
		return loc, false, nil, nil
	}
	return loc, had, rec, nil
}

// isRecordOf reports whether v is a stored record of key.
func isRecordOf(v, key []byte) bool {
	k, _, ok := loggedKey(v)
	return ok && bytes.Equal(k, key)
}

// reset keeps the buffers for the next write.
func (o *sendOp) reset() {
	*o = sendOp{key: o.key[:0], val: o.val[:0]}
}

// BeginSend implements Sends. Its write is carried by the pooled request
// (sendOp): a BeginSend allocates nothing of its own.
func (b *Bolt) BeginSend(ctx context.Context, conversation, key string, rec SendRecord, ttl time.Duration) (SendRecord, bool, error) {
	r, err := b.sendWrite(opBegin, conversation, key, rec, ttl)
	if err != nil {
		return rec, false, err
	}
	out, err := b.waitSend(ctx, r)
	switch {
	case err != nil:
		return rec, false, err
	case out.won:
		return rec, true, nil
	}
	return out.cur, false, nil
}

// TakeSend implements Sends.
func (b *Bolt) TakeSend(ctx context.Context, conversation, key string, expect, rec SendRecord, ttl time.Duration) (bool, error) {
	r, err := b.sendWrite(opTake, conversation, key, rec, ttl)
	if err != nil {
		return false, err
	}
	r.send.expect = expect
	out, err := b.waitSend(ctx, r)
	return out.won && err == nil, err
}

// sameSend reports whether cur is still the pending attempt expect names.
func sameSend(cur, expect SendRecord) bool {
	return cur.State == SendPending && cur.ProviderMessageID == expect.ProviderMessageID &&
		cur.Holder == expect.Holder && cur.At.Equal(expect.At)
}

// Send implements Sends.
func (b *Bolt) Send(ctx context.Context, conversation, key string) (SendRecord, bool, error) {
	if err := ctx.Err(); err != nil {
		return SendRecord{}, false, err
	}
	now := b.now()
	k := sendKey(conversation, key)
	loc, ok := b.sends.committed(b.sends.hash(k))
	if !ok || loc.expires <= now.UnixNano() {
		return SendRecord{}, false, nil
	}
	v, err := b.log.read(loc, nil)
	if err != nil || v == nil || !isRecordOf(v, k) {
		return SendRecord{}, false, storeErr(err)
	}
	return decodeLoggedSend(v, now)
}

// PutSend implements Sends.
func (b *Bolt) PutSend(ctx context.Context, conversation, key string, rec SendRecord, ttl time.Duration) error {
	r, err := b.sendWrite(opPut, conversation, key, rec, ttl)
	if err != nil {
		return err
	}
	_, err = b.waitSend(ctx, r)
	return err
}

// DropSend implements Sends.
func (b *Bolt) DropSend(ctx context.Context, conversation, key string) error {
	_, err := b.waitSend(ctx, b.sendOf(opDrop, conversation, key))
	return err
}

// MarkSent implements Sends: the put joins the send log's next group
// commit, and the caller does not wait for it.
func (b *Bolt) MarkSent(ctx context.Context, conversation, key string, rec SendRecord, ttl time.Duration) error {
	r, err := b.sendWrite(opPut, conversation, key, rec, ttl)
	if err != nil {
		return err
	}
	return b.sw.post(ctx, r)
}

// waitSend queues a send record's write and waits for its commit; the
// request goes back to the pool.
func (b *Bolt) waitSend(ctx context.Context, r *writeReq) (sendOutcome, error) {
	answered, err := b.sw.queue(ctx, r)
	if !answered {
		return sendOutcome{}, err
	}
	out := r.send.out
	if outcome := b.sw.put(r); err == nil {
		err = outcome
	}
	return out, err
}

// sendOf is a pooled request carrying op under key, in its own buffers.
func (b *Bolt) sendOf(op sendOpKind, conversation, key string) *writeReq {
	r := b.sw.get()
	o := &r.send
	o.op, o.now = op, b.now()
	o.key = appendSendKey(o.key[:0], conversation, key)
	o.h = b.sends.hash(o.key)
	return r
}

// sendWrite is sendOf carrying rec too, stored for ttl.
func (b *Bolt) sendWrite(op sendOpKind, conversation, key string, rec SendRecord, ttl time.Duration) (*writeReq, error) {
	r := b.sendOf(op, conversation, key)
	o := &r.send
	var err error
	if o.val, err = appendLoggedSend(o.val[:0], o.key, rec, o.now.Add(ttl)); err != nil {
		_ = b.sw.put(r)
		return nil, err
	}
	return r, nil
}

// SweepSends removes the send log's files whose records have all expired,
// and returns how many records in force went with them. Sweep does as
// well, every few minutes; at thousands of SENDs a second the files are
// better gone every few seconds.
func (b *Bolt) SweepSends(ctx context.Context) (int, error) {
	r := b.sw.get()
	r.send.op, r.send.now = opSweep, b.now()
	out, err := b.waitSend(ctx, r)
	if err != nil {
		return 0, err
	}
	return b.log.remove(ctx, out.gone)
}

// moveSends moves the live send records of a file written before into
// the send log, when the store is opened, and drops the buckets they were
// in: bucketSendLog (keyed by sequence, a value as the log stores it) and
// bucketSends before it (keyed by conversation|key, a value the expiry
// and the JSON). A record the log already has (a move that a crash cut
// short) is left as the log has it.
func (b *Bolt) moveSends(tx *bolt.Tx) error {
	now := b.now()
	moved := false
	move := func(key, rec []byte) error {
		h := b.sends.hash(key)
		if _, _, ok := b.sends.staged(h); ok {
			return nil
		}
		loc, err := b.log.appendRecord(spanOf(loggedExpiry(rec)), rec)
		if err != nil {
			return err
		}
		b.sends.stage[h], moved = loc, true
		return nil
	}
	b.sends.begin()
	for _, name := range []string{bucketSendLog, bucketSends} {
		bk := tx.Bucket([]byte(name))
		if bk == nil {
			continue
		}
		err := bk.ForEach(func(k, v []byte) error {
			if !loggedLive(v, now) {
				return nil
			}
			if name == bucketSendLog {
				key, _, ok := loggedKey(v)
				if !ok {
					return fmt.Errorf("%w: at %x", errSendLog, k)
				}
				return move(key, v)
			}
			return move(k, append(appendLoggedHead(nil, binary.BigEndian.Uint64(v[:8]), k), v[8:]...))
		})
		if err != nil {
			return err
		}
	}
	if moved {
		// Durable in the log before the buckets' removal commits.
		if err := b.log.flush(); err != nil {
			return err
		}
		b.sends.commit()
	}
	for _, name := range []string{bucketSendLog, bucketSends} {
		if err := tx.DeleteBucket([]byte(name)); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
			return err
		}
	}
	return nil
}
