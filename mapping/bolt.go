package mapping

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/connector-proxy/connector-proxy/internal/jsonscan"
)

// Bucket names. Conversations are indexed by dialog and by owner (a
// consumer's list). Inbox entries are queues per conversation (see
// queueKey); outbox items are keyed by their sequence, and their queues
// are in memory (queueIndex). Each has an index by due time, so that a
// sweep reads only what is due: the inbox's in the file (key: shard, time,
// conversation, with a reverse entry per conversation), the outbox's, and
// its index by age, in memory (memIndex).
const (
	bucketSessions  = "sessions"
	bucketConvs     = "conversations"
	bucketDialogs   = "dialogs"
	bucketOwners    = "owners"
	bucketSeen      = "seen"
	bucketInbox     = "inbox"
	bucketInReady   = "inbox-ready"
	bucketInReadyOf = "inbox-ready-of"
	// bucketOutbox holds the outbox's items keyed by their sequence
	// alone (queueIndex has them by queue); files written before hold
	// them in bucketOutboxByQueue, keyed like the inbox, and are moved on
	// open.
	bucketOutbox        = "outbox-items"
	bucketOutboxByQueue = "outbox"
	// bucketOutboxGone names removed items that are still in bucketOutbox
	// (key: its own sequence, value: the item's), until purgeOutbox
	// deletes both.
	bucketOutboxGone = "outbox-gone"
	bucketClaims     = "claims"
	// Files written before the send log (sendwal.go) hold send records in
	// bucketSendLog, keyed by sequence, and before that in bucketSends, keyed by
	// conversation and key, and are moved on open.
	bucketSendLog = "send-log"
	bucketSends   = "sends"
	// bucketLogs holds the logs keyed by conversation, log and sequence;
	// records are appended to bucketLogJournal first (logjournal.go).
	bucketLogs       = "logs"
	bucketLogJournal = "log-journal"
	bucketLogCounts  = "log-counts"
	bucketWebhooks   = "webhooks"
	bucketMeta       = "meta"
	keyDepth         = "outbox-depth" // retired: the depth is queueIndex's
	// The outbox's operator side (boltadmin.go): the dropped items and
	// their index by drop time (key: shard, time, queue, 0, seq), the
	// paused endpoints.
	bucketDropped   = "outbox-dropped"
	bucketDroppedAt = "outbox-dropped-at"
	bucketPauses    = "outbox-pauses"
	keyDropped      = "outbox-dropped-" // + the shard's byte: its count
)

func boltBuckets() []string {
	return []string{bucketSessions, bucketConvs, bucketDialogs, bucketOwners, bucketSeen, bucketInbox,
		bucketInReady, bucketInReadyOf, bucketOutbox, bucketOutboxGone, bucketClaims, bucketLogs, bucketLogJournal, bucketLogCounts, bucketWebhooks, bucketMeta,
		bucketDropped, bucketDroppedAt, bucketPauses}
}

// retiredBuckets are the outbox's indexes by due time and by age, which
// files written before they moved to memory hold: they are dropped on open.
func retiredBuckets() []string {
	return []string{"outbox-due", "outbox-due-of", "outbox-age", "outbox-age-of"}
}

// errSeen refuses an inbox write whose dedupe key is already there.
var errSeen = errors.New("mapping: event already received")

// Bolt is the embedded Store: one bbolt file, fsync'd on every commit, so
// that whatever a face acknowledged survives a crash of the process.
// Concurrent writes share commits (see groupWriter); reads do not wait for
// writes.
type Bolt struct {
	db        *bolt.DB
	w         *groupWriter
	now       func() time.Time
	retention time.Duration
	observe   func(writes int, took time.Duration)
	// observeSends is observe for the send log's commits.
	observeSends func(writes int, took time.Duration)
	// due and age index the outbox's queues by their heads' next attempt
	// and enqueue time; queues has their items; sends finds the send
	// records in log, which sw writes.
	due, age *memIndex
	queues   *queueIndex
	sends    *sendIndex
	journal  *journalIndex
	log      *sendLog
	sw       *groupWriter
	// gone counts the removed items not purged yet (roughly: a write that
	// rolls back leaves its count), and purging is set while a purge runs.
	gone    atomic.Int64
	purging atomic.Bool
	// compacting is set while the log journal's compaction runs.
	compacting atomic.Bool

	// Leases live in memory: only one process can open the file, so it
	// holds every shard; the map keeps Lease's contract for tests and
	// for a holder that names itself differently.
	leaseMu sync.Mutex
	leases  map[int]boltLease
	alive   string // the holder that last said it was alive
}

type boltLease struct {
	holder string
	until  time.Time
}

var _ Store = (*Bolt)(nil)

// BoltOption configures OpenBolt.
type BoltOption func(*Bolt)

// WithClock injects the clock that expiry decisions use.
func WithClock(now func() time.Time) BoltOption { return func(b *Bolt) { b.now = now } }

// WithRetention sets how long a closed conversation is kept before Sweep
// removes it (default 72 h).
func WithRetention(d time.Duration) BoltOption { return func(b *Bolt) { b.retention = d } }

// WithCommitObserver is told the size and duration of every group commit
// of the bbolt file.
func WithCommitObserver(fn func(writes int, took time.Duration)) BoltOption {
	return func(b *Bolt) { b.observe = fn }
}

// WithSendCommitObserver is told the size and duration of every group
// commit of the send log.
func WithSendCommitObserver(fn func(writes int, took time.Duration)) BoltOption {
	return func(b *Bolt) { b.observeSends = fn }
}

// OpenBolt opens (creating when missing) the store at path. A second process
// on the same file fails after a second instead of waiting for the lock.
func OpenBolt(path string, opts ...BoltOption) (*Bolt, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, FreelistType: bolt.FreelistMapType,
		// The freelist is rebuilt from the pages on open: not writing it on
		// every commit makes commits smaller.
		NoFreelistSync: true, InitialMmapSize: 64 << 20})
	if err != nil {
		return nil, fmt.Errorf("mapping: open %s: %w", path, err)
	}
	b := &Bolt{db: db, now: time.Now, retention: 72 * time.Hour, leases: map[int]boltLease{}, due: newMemIndex(), age: newMemIndex(),
		queues: newQueueIndex(), sends: newSendIndex(), journal: newJournalIndex()}
	for _, o := range opts {
		o(b)
	}
	if b.log, err = openSendLog(path+".sends", b.sends, b.now, b.observeSends); err != nil {
		db.Close()
		return nil, err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range boltBuckets() {
			if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
				return err
			}
		}
		for _, name := range retiredBuckets() {
			if err := tx.DeleteBucket([]byte(name)); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
				return err
			}
		}
		if err := bucket(tx, bucketMeta).Delete([]byte(keyDepth)); err != nil {
			return err
		}
		if err := moveOutboxByQueue(tx); err != nil {
			return err
		}
		if err := b.moveSends(tx); err != nil {
			return err
		}
		if err := b.journal.load(tx); err != nil {
			return err
		}
		return b.indexOutbox(tx)
	})
	if err != nil {
		b.log.close()
		db.Close()
		return nil, fmt.Errorf("mapping: prepare %s: %w", path, err)
	}
	indexes := []txIndex{b.due, b.age, b.queues, b.journal}
	commit := func() { // made once: a func value per transaction allocates
		for _, x := range indexes {
			x.commit()
		}
	}
	b.sw = newGroupWriter(b.log.commit)
	b.w = newBoltWriter(db, b.observe, func(tx *bolt.Tx) {
		for _, x := range indexes {
			x.begin()
		}
		tx.OnCommit(commit)
	})
	return b, nil
}

// txIndex is an index the embedded store keeps in memory beside the file,
// following what is stored: a write transaction's changes to it are
// staged, and become visible only if the transaction commits.
type txIndex interface {
	begin()  // a write transaction starts: what an earlier one staged goes
	commit() // it committed: what it staged becomes visible
}

var (
	_ txIndex = (*memIndex)(nil)
	_ txIndex = (*queueIndex)(nil)
	_ txIndex = (*journalIndex)(nil)
)

// Close waits for the writes under way and releases the files.
func (b *Bolt) Close() error {
	b.sw.close()
	b.w.close()
	return errors.Join(b.log.close(), b.db.Close())
}

// Ping checks that the file still answers a read, and that the send log
// still takes writes.
func (b *Bolt) Ping(ctx context.Context) error {
	if err := b.log.err(); err != nil {
		return err
	}
	return b.view(ctx, func(*bolt.Tx) error { return nil })
}

func (b *Bolt) view(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := b.db.View(fn); err != nil {
		return storeErr(err)
	}
	return nil
}

// update runs fn in the next group commit.
func (b *Bolt) update(ctx context.Context, fn func(*bolt.Tx) error) error {
	return b.w.write(ctx, fn)
}

// storeErr keeps the refusals and marks every other failure inside a
// transaction (closed file, I/O, a record that no longer decodes) as the
// store being unavailable: callers answer 503, never "not found".
func storeErr(err error) error {
	if err == nil || refusal(err) || errors.Is(err, ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// bucket opens one of the top-level buckets OpenBolt created.
func bucket(tx *bolt.Tx, name string) *bolt.Bucket {
	bk := tx.Bucket([]byte(name))
	if bk == nil {
		return nil
	}
	switch name {
	case bucketOutbox, bucketOutboxGone, bucketLogJournal:
		// Keyed by sequences that only grow: a page that splits is left
		// full, not half full (bbolt's default, which suits inserts
		// anywhere), so a group commit's appends write half the pages.
		// BenchmarkBoltEventPath: 0.85 -> 0.52 pages written per event.
		bk.FillPercent = 1
	}
	return bk
}

func getJSON(bk *bolt.Bucket, key []byte, v any) error {
	raw := bk.Get(key)
	if raw == nil {
		return fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	return json.Unmarshal(raw, v)
}

func putJSON(bk *bolt.Bucket, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return bk.Put(key, raw)
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// seqKey is u64 on the stack, for the keys of the buckets keyed by a
// sequence (bbolt copies the keys it keeps).
func seqKey(seq uint64) (k [8]byte) {
	binary.BigEndian.PutUint64(k[:], seq)
	return k
}

// Sessions.

// Session implements Registry.
func (b *Bolt) Session(ctx context.Context, key ConsumerKey) (SessionRef, error) {
	var ref SessionRef
	err := b.view(ctx, func(tx *bolt.Tx) error {
		return getJSON(bucket(tx, bucketSessions), []byte(key.String()), &ref)
	})
	return ref, err
}

// PutSession implements Registry.
func (b *Bolt) PutSession(ctx context.Context, key ConsumerKey, ref SessionRef) error {
	raw, err := json.Marshal(ref)
	if err != nil {
		return fmt.Errorf("mapping: session %s: %w", key, err)
	}
	return b.update(ctx, func(tx *bolt.Tx) error {
		return bucket(tx, bucketSessions).Put([]byte(key.String()), raw)
	})
}

// DeleteSession implements Registry.
func (b *Bolt) DeleteSession(ctx context.Context, key ConsumerKey) error {
	return b.update(ctx, func(tx *bolt.Tx) error {
		return bucket(tx, bucketSessions).Delete([]byte(key.String()))
	})
}

// Conversations.

// ownerKey orders a consumer's conversations by creation, then id.
func ownerKey(c *Conversation) []byte {
	k := make([]byte, 0, 64)
	k = append(k, c.Owner.String()...)
	k = append(k, 0)
	k = binary.BigEndian.AppendUint64(k, uint64(c.CreatedAt.UnixNano()))
	return append(k, c.ID...)
}

// Conversation records are the JSON of the Conversation, whose version
// Commit reads.
func decodeConv(raw []byte) (*Conversation, error) {
	c := new(Conversation)
	if err := json.Unmarshal(raw, c); err != nil {
		return nil, err
	}
	return c, nil
}

// Conversation implements Registry.
func (b *Bolt) Conversation(ctx context.Context, id string) (*Conversation, error) {
	var c *Conversation
	err := b.view(ctx, func(tx *bolt.Tx) error {
		raw := bucket(tx, bucketConvs).Get([]byte(id))
		if raw == nil {
			return fmt.Errorf("%w: conversation %s", ErrNotFound, id)
		}
		var err error
		c, err = decodeConv(raw)
		return err
	})
	return c, err
}

// ConversationByDialog implements Registry.
func (b *Bolt) ConversationByDialog(ctx context.Context, dialogID string) (*Conversation, error) {
	var c *Conversation
	err := b.view(ctx, func(tx *bolt.Tx) error {
		id := bucket(tx, bucketDialogs).Get([]byte(dialogID))
		if id == nil {
			return fmt.Errorf("%w: dialog %s", ErrNotFound, dialogID)
		}
		raw := bucket(tx, bucketConvs).Get(id)
		if raw == nil {
			return fmt.Errorf("%w: conversation of dialog %s", ErrNotFound, dialogID)
		}
		var err error
		c, err = decodeConv(raw)
		return err
	})
	return c, err
}

// Conversations implements Registry.
func (b *Bolt) Conversations(ctx context.Context, owner ConsumerKey) ([]*Conversation, error) {
	var out []*Conversation
	prefix := append([]byte(owner.String()), 0)
	err := b.view(ctx, func(tx *bolt.Tx) error {
		convs := bucket(tx, bucketConvs)
		cur := bucket(tx, bucketOwners).Cursor()
		for k, id := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, id = cur.Next() {
			raw := convs.Get(id)
			if raw == nil {
				continue // swept between index and record
			}
			c, err := decodeConv(raw)
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		return nil
	})
	return out, err
}

// storedVersion reads the version of conversation id in tx; ok is false
// when there is none.
func storedVersion(tx *bolt.Tx, id string) (uint64, bool, error) {
	raw := bucket(tx, bucketConvs).Get([]byte(id))
	if raw == nil {
		return 0, false, nil
	}
	if v, ok := recordVersion(raw); ok {
		return v, true, nil
	}
	var v struct {
		Version uint64 `json:"version"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, false, err
	}
	return v.Version, true, nil
}

// recordVersion reads the version of a stored conversation without
// decoding it: every Commit checks it inside the shared transaction, whose
// time all writers wait on. It answers false, for json.Unmarshal to
// decide, when the record is not as Marshal writes it (see
// jsonscan.Member; a version that is not a plain unsigned integer).
func recordVersion(raw []byte) (uint64, bool) {
	v, ok := jsonscan.Member(raw, "version")
	if !ok || len(v) == 0 || (len(v) > 1 && v[0] == '0') {
		return 0, false
	}
	n, err := strconv.ParseUint(string(v), 10, 64)
	return n, err == nil
}

// Commit implements Registry in one transaction of the group commit.
func (b *Bolt) Commit(ctx context.Context, ch *Change) error {
	id, err := checkChange(ch)
	if err != nil {
		return err
	}
	// next is the record to write, at its new version; an unchanged
	// conversation is only compared.
	var next *Conversation
	if ch.Conv != nil && !ch.Unchanged {
		next = ch.Conv.Clone()
		next.Version = ch.Conv.Version + 1
	}
	var convRaw []byte
	if next != nil {
		if convRaw, err = json.Marshal(next); err != nil {
			return fmt.Errorf("mapping: conversation %s: %w", next.ID, err)
		}
	}
	seqs := make([]uint64, len(ch.Outbox))
	now := b.now()
	err = b.update(ctx, func(tx *bolt.Tx) error {
		// Refusals first, before anything is written.
		if ch.Fence != nil && !b.holds(ch.Fence.Shard, ch.Fence.Holder) {
			return fmt.Errorf("%w: shard %d", ErrNotOwner, ch.Fence.Shard)
		}
		if c := ch.Conv; c != nil {
			v, ok, err := storedVersion(tx, c.ID)
			if err != nil {
				return err
			}
			if ok != (c.Version > 0) || v != c.Version {
				return fmt.Errorf("%w: %s is at version %d, the change was made at %d", ErrConflict, c.ID, v, c.Version)
			}
		}
		if e := ch.Applied; e != nil {
			if k, _ := first(bucket(tx, bucketInbox), e.Conversation); k != nil {
				return fmt.Errorf("%w: %s has events waiting", ErrConflict, e.Conversation)
			}
			if e.Key != "" && seenLive(bucket(tx, bucketSeen), e.Key, now) {
				return fmt.Errorf("%w: %s", ErrDuplicate, e.Key)
			}
			if e.Key != "" {
				if err := bucket(tx, bucketSeen).Put([]byte(e.Key), u64(uint64(now.Add(ch.AppliedTTL).UnixNano()))); err != nil {
					return err
				}
			}
		}
		if next != nil {
			if err := bucket(tx, bucketConvs).Put([]byte(next.ID), convRaw); err != nil {
				return err
			}
		}
		if next != nil && ch.Conv.Version == 0 { // the indexes do not change after
			if err := bucket(tx, bucketOwners).Put(ownerKey(next), []byte(next.ID)); err != nil {
				return err
			}
			if next.DialogID != "" {
				if err := bucket(tx, bucketDialogs).Put([]byte(next.DialogID), []byte(next.ID)); err != nil {
					return err
				}
			}
		}
		for i, it := range ch.Outbox {
			seq, err := b.enqueue(tx, it)
			if err != nil {
				return err
			}
			seqs[i] = seq
		}
		if len(ch.Done) > 0 {
			if err := b.removeEntries(tx, ch.Done); err != nil {
				return err
			}
		}
		if ch.Release != nil {
			if err := releaseClaimTx(tx, ch.Release.Owner, ch.Release.Holder); err != nil {
				return err
			}
		}
		if len(ch.Append) > 0 {
			if err := b.appendLogs(tx, id, ch.Append); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i, it := range ch.Outbox {
		it.Seq = seqs[i]
	}
	if next != nil {
		ch.Conv.Version = next.Version
	}
	return nil
}

// Logs: one bucket, keyed by conversation, a zero byte, the log's name, a
// zero byte and a big-endian sequence.

func logPrefix(conv, log string) []byte {
	return append(append(queuePrefix(conv), log...), 0)
}

// checkChange refuses a change no store could write, and returns the one
// conversation it concerns ("" when none does).
func checkChange(ch *Change) (string, error) {
	if ch.Conv != nil && ch.Conv.ID == "" {
		return "", errors.New("mapping: conversation without id")
	}
	if ch.Unchanged && (ch.Conv == nil || ch.Conv.Version == 0) {
		return "", errors.New("mapping: an unchanged conversation must be one that is stored")
	}
	for _, it := range ch.Outbox {
		if it.Queue == "" {
			return "", errors.New("mapping: outbox item without queue")
		}
	}
	return changeConversation(ch)
}

// Due indexes, of the inbox and of the outbox: key shard, time, queue.

type dueIndex struct{ idx, of string }

var inboxReady = dueIndex{bucketInReady, bucketInReadyOf}

func dueKey(queue string, at time.Time) []byte {
	k := make([]byte, 0, 9+len(queue))
	k = append(k, byte(ShardOf(queue)))
	k = binary.BigEndian.AppendUint64(k, uint64(max(at.UnixNano(), 0)))
	return append(k, queue...)
}

// set makes queue due at at, replacing its previous due time.
func (d dueIndex) set(tx *bolt.Tx, queue string, at time.Time) error {
	if err := d.del(tx, queue); err != nil {
		return err
	}
	k := dueKey(queue, at)
	if err := bucket(tx, d.idx).Put(k, nil); err != nil {
		return err
	}
	return bucket(tx, d.of).Put([]byte(queue), k)
}

// keepEarlier makes queue due at at unless it is due earlier already.
func (d dueIndex) keepEarlier(tx *bolt.Tx, queue string, at time.Time) error {
	if old := bucket(tx, d.of).Get([]byte(queue)); len(old) >= 9 {
		if int64(binary.BigEndian.Uint64(old[1:9])) <= at.UnixNano() {
			return nil
		}
	}
	return d.set(tx, queue, at)
}

func (d dueIndex) del(tx *bolt.Tx, queue string) error {
	of := bucket(tx, d.of)
	old := of.Get([]byte(queue))
	if old == nil {
		return nil
	}
	if err := bucket(tx, d.idx).Delete(bytes.Clone(old)); err != nil {
		return err
	}
	return of.Delete([]byte(queue))
}

// scan returns up to limit queues of shard due by now, earliest first.
func (d dueIndex) scan(tx *bolt.Tx, shard int, now time.Time, limit int) []string {
	var out []string
	cur := bucket(tx, d.idx).Cursor()
	prefix := []byte{byte(shard)}
	for k, _ := cur.Seek(prefix); k != nil && k[0] == byte(shard) && len(out) < limit; k, _ = cur.Next() {
		if len(k) < 9 || int64(binary.BigEndian.Uint64(k[1:9])) > now.UnixNano() {
			break
		}
		out = append(out, string(k[9:]))
	}
	return out
}

// Queues of the inbox and of the outbox are flat: one bucket each, keyed
// by the conversation, a zero byte and the big-endian sequence, so that a
// queue is a key range whose first key is its head, and no bucket is made
// or dropped as queues fill and drain.

func queuePrefix(conv string) []byte { return append([]byte(conv), 0) }

func queueKey(conv string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(queuePrefix(conv), seq)
}

// first returns the head of a queue in bk, nil when it is empty.
func first(bk *bolt.Bucket, conv string) (k, v []byte) {
	prefix := queuePrefix(conv)
	k, v = bk.Cursor().Seek(prefix)
	if k == nil || !bytes.HasPrefix(k, prefix) {
		return nil, nil
	}
	return k, v
}

func seqOf(k []byte) uint64 { return binary.BigEndian.Uint64(k[len(k)-8:]) }

// Inbox entries are stored in binary: when they arrived (unix ns), the
// dedupe key's length and the key, then AXP's body as it came. A traced
// entry has its trace context between the key and the body: a zero byte
// (which no JSON body starts with, so entries written before it read
// back), the context's length and the context.
func encodeEntry(e *InboxEntry) []byte {
	b := make([]byte, 0, 8+binary.MaxVarintLen64+len(e.Key)+1+binary.MaxVarintLen64+len(e.Trace)+len(e.Event))
	b = binary.BigEndian.AppendUint64(b, uint64(e.ReceivedAt.UnixNano()))
	b = binary.AppendUvarint(b, uint64(len(e.Key)))
	b = append(b, e.Key...)
	if e.Trace != "" {
		b = append(b, traceMark)
		b = binary.AppendUvarint(b, uint64(len(e.Trace)))
		b = append(b, e.Trace...)
	}
	return append(b, e.Event...)
}

// traceMark starts the trace context of an inbox entry.
const traceMark = 0

func decodeEntry(conv string, k, v []byte) (*InboxEntry, error) {
	if len(v) < 9 {
		return nil, errors.New("inbox entry too short")
	}
	n, w := binary.Uvarint(v[8:])
	if w <= 0 || uint64(len(v)-8-w) < n {
		return nil, errors.New("inbox entry key does not fit")
	}
	key := v[8+w : 8+w+int(n)]
	rest := v[8+w+int(n):]
	var trace string
	if len(rest) > 0 && rest[0] == traceMark {
		tn, tw := binary.Uvarint(rest[1:])
		if tw <= 0 || uint64(len(rest)-1-tw) < tn {
			return nil, errors.New("inbox entry trace context does not fit")
		}
		trace = string(rest[1+tw : 1+tw+int(tn)])
		rest = rest[1+tw+int(tn):]
	}
	return &InboxEntry{
		Conversation: conv,
		Seq:          seqOf(k),
		Key:          string(key),
		Event:        bytes.Clone(rest),
		ReceivedAt:   time.Unix(0, int64(binary.BigEndian.Uint64(v[:8]))),
		Trace:        trace,
	}, nil
}

// seenLive reports whether key was recorded and has not expired.
func seenLive(seen *bolt.Bucket, key string, now time.Time) bool {
	v := seen.Get([]byte(key))
	return len(v) == 8 && int64(binary.BigEndian.Uint64(v)) > now.UnixNano()
}

// Receive implements Inbox.
func (b *Bolt) Receive(ctx context.Context, e *InboxEntry, ttl time.Duration) (bool, error) {
	if e.Conversation == "" {
		return false, errors.New("mapping: inbox entry without conversation")
	}
	now := b.now()
	if e.ReceivedAt.IsZero() {
		e.ReceivedAt = now
	}
	raw := encodeEntry(e)
	var seq uint64
	err := b.update(ctx, func(tx *bolt.Tx) error {
		seen := bucket(tx, bucketSeen)
		if e.Key != "" && seenLive(seen, e.Key, now) {
			return errSeen
		}
		in := bucket(tx, bucketInbox)
		var err error
		if seq, err = in.NextSequence(); err != nil {
			return err
		}
		if err := in.Put(queueKey(e.Conversation, seq), raw); err != nil {
			return err
		}
		if e.Key != "" {
			if err := seen.Put([]byte(e.Key), u64(uint64(now.Add(ttl).UnixNano()))); err != nil {
				return err
			}
		}
		// Ready by the receiver's clock, which is the one that reads it.
		return inboxReady.keepEarlier(tx, e.Conversation, e.ReceivedAt)
	})
	if errors.Is(err, errSeen) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	e.Seq = seq
	return false, nil
}

// ReadyInbox implements Inbox.
func (b *Bolt) ReadyInbox(ctx context.Context, shard int, now time.Time, limit int) ([]string, error) {
	var out []string
	err := b.view(ctx, func(tx *bolt.Tx) error {
		out = inboxReady.scan(tx, shard, now, limit)
		return nil
	})
	return out, err
}

// InboxOf implements Inbox.
func (b *Bolt) InboxOf(ctx context.Context, conversation string, limit int) ([]*InboxEntry, error) {
	var out []*InboxEntry
	prefix := queuePrefix(conversation)
	err := b.view(ctx, func(tx *bolt.Tx) error {
		cur := bucket(tx, bucketInbox).Cursor()
		for k, v := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, v = cur.Next() {
			e, err := decodeEntry(conversation, k, v)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// Defer implements Inbox.
func (b *Bolt) Defer(ctx context.Context, conversation string, until time.Time) error {
	return b.update(ctx, func(tx *bolt.Tx) error {
		if k, _ := first(bucket(tx, bucketInbox), conversation); k == nil {
			return nil
		}
		return inboxReady.set(tx, conversation, until)
	})
}

// Discard implements Inbox.
func (b *Bolt) Discard(ctx context.Context, entries []*InboxEntry) error {
	return b.update(ctx, func(tx *bolt.Tx) error { return b.removeEntries(tx, entries) })
}

// removeEntries deletes applied or discarded entries; a queue left empty
// leaves the ready index, one with more stays ready.
func (b *Bolt) removeEntries(tx *bolt.Tx, entries []*InboxEntry) error {
	in := bucket(tx, bucketInbox)
	touched := map[string]bool{}
	for _, e := range entries {
		if err := in.Delete(queueKey(e.Conversation, e.Seq)); err != nil {
			return err
		}
		touched[e.Conversation] = true
	}
	for conv := range touched {
		if k, _ := first(in, conv); k != nil {
			continue
		}
		if err := inboxReady.del(tx, conv); err != nil {
			return err
		}
	}
	return nil
}

// Outbox.

// enqueue appends one item to its queue; a queue that was empty becomes
// due at the item's NextAttempt.
func (b *Bolt) enqueue(tx *bolt.Tx, it *OutboxItem) (uint64, error) {
	out := bucket(tx, bucketOutbox)
	_, busy := b.queues.head(it.Queue)
	seq, err := out.NextSequence()
	if err != nil {
		return 0, err
	}
	stored := *it
	stored.Seq = seq
	if stored.EnqueuedAt.IsZero() {
		stored.EnqueuedAt = b.now()
	}
	if err := out.Put(u64(seq), encodeItem(nil, &stored)); err != nil {
		return 0, err
	}
	b.queues.add(it.Queue, seq)
	if !busy {
		b.due.set(it.Queue, it.NextAttempt)
		b.age.set(it.Queue, stored.EnqueuedAt)
	}
	return seq, nil
}

// Due implements Outbox.
func (b *Bolt) Due(ctx context.Context, shard int, now time.Time, limit int) ([]*OutboxItem, error) {
	var out []*OutboxItem
	err := b.view(ctx, func(tx *bolt.Tx) error {
		bk := bucket(tx, bucketOutbox)
		for _, queue := range b.due.scan(shard, now, limit) {
			v := b.headValue(bk, queue)
			if v == nil {
				continue
			}
			it, err := decodeItem(v)
			if err != nil {
				return err
			}
			out = append(out, it)
		}
		return nil
	})
	return out, err
}

// Head implements Outbox.
func (b *Bolt) Head(ctx context.Context, queue string) (*OutboxItem, error) {
	var it *OutboxItem
	err := b.view(ctx, func(tx *bolt.Tx) error {
		v := b.headValue(bucket(tx, bucketOutbox), queue)
		if v == nil {
			return nil
		}
		var err error
		it, err = decodeItem(v)
		return err
	})
	return it, err
}

// Retry implements Outbox.
func (b *Bolt) Retry(ctx context.Context, item *OutboxItem) error {
	raw := encodeItem(nil, item)
	return b.update(ctx, func(tx *bolt.Tx) error {
		out := bucket(tx, bucketOutbox)
		if !b.queues.has(item.Queue, item.Seq) {
			return fmt.Errorf("%w: outbox item %s/%d", ErrNotFound, item.Queue, item.Seq)
		}
		if err := out.Put(u64(item.Seq), raw); err != nil {
			return err
		}
		if head, _ := b.queues.head(item.Queue); head == item.Seq {
			b.due.set(item.Queue, item.NextAttempt)
		}
		return nil
	})
}

// Remove implements Outbox. Removing an item that is already gone is not an
// error: two deliverers racing after a restart both end in the same state.
func (b *Bolt) Remove(ctx context.Context, item *OutboxItem) (*OutboxItem, error) {
	err := b.update(ctx, func(tx *bolt.Tx) error {
		_, err := b.removeItem(tx, item.Queue, item.Seq)
		return err
	})
	if err != nil {
		return nil, err
	}
	if _, ok := b.queues.firstOf(item.Queue); !ok {
		return nil, nil // the index says it is empty: no transaction to read it
	}
	return b.Head(ctx, item.Queue)
}

// removeItem removes one pending item, if it is there; the queue's next
// item, if any, becomes its head, due at its own NextAttempt.
//
// The item is not deleted here but named in bucketOutboxGone, whose keys
// only grow: a group commit's removals then dirty that bucket's last page
// instead of a page each among the queues' heads (and the rebalancing of
// pages they leave half empty). purgeOutbox deletes them later, oldest
// first, many to a page.
func (b *Bolt) removeItem(tx *bolt.Tx, queue string, seq uint64) (bool, error) {
	out := bucket(tx, bucketOutbox)
	if !b.queues.has(queue, seq) {
		return false, nil
	}
	gone := bucket(tx, bucketOutboxGone)
	n, err := gone.NextSequence()
	if err != nil {
		return false, err
	}
	if err := gone.Put(u64(n), u64(seq)); err != nil {
		return false, err
	}
	if b.gone.Add(1) >= purgeBatch {
		b.startPurge()
	}
	b.queues.remove(queue, seq)
	if head, ok := b.queues.head(queue); ok {
		enqueued, next, err := itemTimes(out.Get(u64(head)))
		if err != nil {
			return false, err
		}
		b.due.set(queue, next)
		b.age.set(queue, enqueued)
	} else {
		b.due.del(queue)
		b.age.del(queue)
	}
	return true, nil
}

// purgeBatch is how many removed items a purge deletes in one write, and
// how many wait before one starts.
const purgeBatch = 512

// startPurge runs purgeOutbox on its own goroutine unless one runs.
func (b *Bolt) startPurge() {
	runAlone(&b.purging, func() { _, _ = b.purgeOutbox(context.Background(), purgeBatch) })
}

// runAlone runs job on a goroutine of its own unless one runs it already
// (running is set meanwhile): the store's background writes.
func runAlone(running *atomic.Bool, job func()) {
	if !running.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer running.Store(false)
		job()
	}()
}

// purgeOutbox deletes up to limit removed items, oldest first, with their
// names in bucketOutboxGone, in one group-commit write. It returns how
// many went.
func (b *Bolt) purgeOutbox(ctx context.Context, limit int) (int, error) {
	n := 0
	err := b.update(ctx, func(tx *bolt.Tx) error {
		n = 0
		out, gone := bucket(tx, bucketOutbox), bucket(tx, bucketOutboxGone)
		cur := gone.Cursor()
		for k, v := cur.First(); k != nil && n < limit; k, v = cur.First() {
			if len(v) == 8 {
				if err := out.Delete(u64(binary.BigEndian.Uint64(v))); err != nil {
					return err
				}
			}
			if err := cur.Delete(); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err == nil {
		b.gone.Add(-int64(n))
	}
	return n, err
}

// headValue is the stored head of a queue, as committed; nil when it is
// empty (or was emptied since the read transaction began).
func (b *Bolt) headValue(bk *bolt.Bucket, queue string) []byte {
	seq, ok := b.queues.firstOf(queue)
	if !ok {
		return nil
	}
	return bk.Get(u64(seq))
}

// Depth implements Outbox.
func (b *Bolt) Depth(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return b.queues.pending(), nil
}

// Leases.

func checkLease(shard int, holder string, ttl time.Duration) error {
	switch {
	case shard < 0 || shard >= Shards:
		return fmt.Errorf("mapping: lease of shard %d, want 0..%d", shard, Shards-1)
	case holder == "":
		return errors.New("mapping: lease without holder")
	case ttl <= 0:
		return fmt.Errorf("mapping: lease ttl %s is not positive", ttl)
	}
	return nil
}

// Lease implements Leases, with the injected clock deciding expiry.
func (b *Bolt) Lease(ctx context.Context, shard int, holder string, ttl time.Duration) (bool, error) {
	if err := checkLease(shard, holder, ttl); err != nil {
		return false, err
	}
	if err := b.Ping(ctx); err != nil {
		return false, err
	}
	b.leaseMu.Lock()
	defer b.leaseMu.Unlock()
	now := b.now()
	if l, ok := b.leases[shard]; ok && l.holder != holder && now.Before(l.until) {
		return false, nil
	}
	b.leases[shard] = boltLease{holder: holder, until: now.Add(ttl)}
	return true, nil
}

// holds reports whether holder has shard's lease now.
func (b *Bolt) holds(shard int, holder string) bool {
	b.leaseMu.Lock()
	defer b.leaseMu.Unlock()
	l, ok := b.leases[shard]
	return ok && l.holder == holder && b.now().Before(l.until)
}

// Release implements Leases.
func (b *Bolt) Release(ctx context.Context, shard int, holder string) error {
	if err := b.Ping(ctx); err != nil {
		return err
	}
	b.leaseMu.Lock()
	defer b.leaseMu.Unlock()
	if l, ok := b.leases[shard]; ok && l.holder == holder {
		delete(b.leases, shard)
	}
	return nil
}

// Replicas implements Leases: one process owns the file, so one replica.
func (b *Bolt) Replicas(ctx context.Context, holder string, _ time.Duration) (int, error) {
	b.leaseMu.Lock()
	b.alive = holder
	b.leaseMu.Unlock()
	return 1, b.Ping(ctx)
}

// Alive implements Leases: another holder than this process's is one that
// had the file before, and is gone.
func (b *Bolt) Alive(ctx context.Context, holder string) (bool, error) {
	b.leaseMu.Lock()
	defer b.leaseMu.Unlock()
	return holder != "" && holder == b.alive, nil
}

// Claims.

// Claim implements Claims.
func (b *Bolt) Claim(ctx context.Context, owner ConsumerKey, holder, conversation string, ttl time.Duration) (Claim, bool, error) {
	var out Claim
	won := false
	now := b.now()
	err := b.update(ctx, func(tx *bolt.Tx) error {
		since := now
		bk := bucket(tx, bucketClaims)
		key := []byte(owner.String())
		var cur Claim
		if raw := bk.Get(key); raw != nil {
			if err := json.Unmarshal(raw, &cur); err != nil {
				return err
			}
			if cur.Holder != holder && now.Before(cur.Until) {
				out = cur
				return nil
			}
			conversation = cur.Conversation // keep the id work may have begun under
			since = cur.Since
		}
		out = Claim{Owner: owner, Holder: holder, Conversation: conversation, Until: now.Add(ttl), Since: since}
		won = true
		return putJSON(bk, key, &out)
	})
	return out, won, err
}

// ReleaseClaim implements Claims.
func (b *Bolt) ReleaseClaim(ctx context.Context, owner ConsumerKey, holder string) error {
	return b.update(ctx, func(tx *bolt.Tx) error { return releaseClaimTx(tx, owner, holder) })
}

func releaseClaimTx(tx *bolt.Tx, owner ConsumerKey, holder string) error {
	bk := bucket(tx, bucketClaims)
	key := []byte(owner.String())
	raw := bk.Get(key)
	if raw == nil {
		return nil
	}
	var cur Claim
	if err := json.Unmarshal(raw, &cur); err != nil {
		return err
	}
	if cur.Holder != holder {
		return nil
	}
	return bk.Delete(key)
}

// Sweep removes expired dedupe keys and send records, and closed
// conversations older than the retention with their indexes and logs. It
// returns how many records went. It also purges the removed outbox items
// (not counted: they were gone already).
//
// It works in chunks: each is found in a read transaction, which the
// writers do not wait for, and removed in a write transaction of the group
// commit that checks every record again (one written meantime stays). A
// whole-store transaction would hold every webhook behind it for as long
// as it takes to read a day of dedupe keys.
func (b *Bolt) Sweep(ctx context.Context) (int, error) {
	// Removed outbox items too few to have started a purge of their own.
	for {
		purged, err := b.purgeOutbox(ctx, purgeBatch)
		if err != nil {
			return 0, err
		}
		if purged < purgeBatch {
			break
		}
	}
	now := b.now()
	seenExpired := func(_, v []byte) bool {
		return len(v) != 8 || int64(binary.BigEndian.Uint64(v)) <= now.UnixNano()
	}
	convOld := func(_, v []byte) bool {
		c, err := decodeConv(v)
		return err == nil && !c.Open() && !c.ClosedAt.IsZero() && now.Sub(c.ClosedAt) > b.retention
	}
	n := 0
	for _, sw := range []struct {
		bucket string
		chunk  int
		gone   func(k, v []byte) bool
		remove func(tx *bolt.Tx, k, v []byte) error
	}{
		{bucketSeen, sweepChunk, seenExpired, nil},
		// A conversation takes its logs with it: fewer at a time.
		{bucketConvs, sweepChunk / 20, convOld, b.removeConversation},
	} {
		m, err := b.sweepBucket(ctx, sw.bucket, sw.chunk, sw.gone, sw.remove)
		n += m
		if err != nil {
			return n, err
		}
	}
	m, err := b.SweepSends(ctx)
	return n + m, err
}

// sweepChunk bounds the records one write transaction of a sweep removes;
// sweepScan those one read transaction of it reads (a read transaction
// holding on delays the writer that must grow the file's mapping).
const (
	sweepChunk = 1000
	sweepScan  = 16 * sweepChunk
)

// sweepBucket removes the records of a bucket for which gone holds, chunk
// at a time; remove, when set, removes one with what hangs off it (the
// record itself otherwise).
func (b *Bolt) sweepBucket(ctx context.Context, name string, chunk int, gone func(k, v []byte) bool, remove func(tx *bolt.Tx, k, v []byte) error) (int, error) {
	n := 0
	var after []byte // the last key read: the next chunk starts past it
	for {
		var keys [][]byte
		end := false // the bucket was read to its end
		err := b.view(ctx, func(tx *bolt.Tx) error {
			cur := bucket(tx, name).Cursor()
			k, v := cur.First()
			if after != nil {
				if k, v = cur.Seek(after); k != nil && bytes.Equal(k, after) {
					k, v = cur.Next()
				}
			}
			var last []byte
			for read := 0; k != nil && len(keys) < chunk && read < sweepScan; k, v = cur.Next() {
				read++
				last = k
				if gone(k, v) {
					keys = append(keys, bytes.Clone(k))
				}
			}
			end = k == nil
			after = bytes.Clone(last)
			return nil
		})
		if err != nil {
			return n, err
		}
		if len(keys) > 0 {
			m, err := b.sweepKeys(ctx, name, keys, gone, remove)
			n += m
			if err != nil {
				return n, err
			}
		}
		if end {
			return n, nil
		}
	}
}

// sweepKeys removes, in a write transaction, those of keys for which gone
// still holds, and returns how many.
func (b *Bolt) sweepKeys(ctx context.Context, name string, keys [][]byte, gone func(k, v []byte) bool, remove func(tx *bolt.Tx, k, v []byte) error) (int, error) {
	removed := 0
	err := b.update(ctx, func(tx *bolt.Tx) error {
		removed = 0 // the group writer may run it again, alone
		bk := bucket(tx, name)
		for _, k := range keys {
			v := bk.Get(k)
			if v == nil || !gone(k, v) {
				continue
			}
			var err error
			if remove != nil {
				err = remove(tx, k, v)
			} else {
				err = bk.Delete(k)
			}
			if err != nil {
				return err
			}
			removed++
		}
		return nil
	})
	return removed, err
}

// removeConversation removes a conversation's record, its indexes and its
// logs.
func (b *Bolt) removeConversation(tx *bolt.Tx, id, raw []byte) error {
	c, err := decodeConv(raw)
	if err != nil {
		return err
	}
	if err := bucket(tx, bucketConvs).Delete(id); err != nil {
		return err
	}
	if err := bucket(tx, bucketDialogs).Delete([]byte(c.DialogID)); err != nil {
		return err
	}
	if err := bucket(tx, bucketOwners).Delete(ownerKey(c)); err != nil {
		return err
	}
	for _, name := range []string{bucketLogs, bucketLogCounts} {
		bk := bucket(tx, name)
		prefix := queuePrefix(c.ID)
		cur := bk.Cursor()
		for k, _ := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Seek(prefix) {
			if err := bk.Delete(bytes.Clone(k)); err != nil {
				return err
			}
		}
	}
	return b.dropJournal(tx, c.ID)
}
