package mapping

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// The embedded store's logs are written twice: a record appended by a
// change goes to bucketLogJournal, keyed by a sequence that only grows,
// and a compaction later moves the journal's oldest records, many at once,
// to bucketLogs, keyed by conversation. Appended straight to bucketLogs,
// every record of a group commit fell on its own conversation's page
// (BenchmarkBoltLogAppend: 1.86 pages written per append with 64
// conversations, the record's page and its count's); appended to the
// journal they share its last page, and a compaction writes each
// conversation's page once for all the records it moves.
//
// A record is in one of the two buckets in every committed state (the
// compaction that moves it deletes it from the journal in the same
// transaction), so a read merges them: the records in bucketLogs, then the
// journal's, which are newer. The journal's records are found through
// journalIndex, in memory, rebuilt when the file is opened.
//
// A journal value is its log's prefix (logPrefix: conversation and log),
// preceded by its length, then the record. A record moved to bucketLogs
// keeps its sequence, so the order within a log is the sequences' order;
// the journal's sequence starts above the one bucketLogs used before.

// journalBatch is how many journal records wait before a compaction
// starts, and how many one compaction's write moves.
const journalBatch = 1024

// journalIndex is the journal's records by log prefix. Like sendIndex it
// follows from what is stored, a write transaction's changes are staged
// and become visible when it commits, and only the group writer's
// goroutine stages and commits.
type journalIndex struct {
	mu   sync.RWMutex
	seqs map[string][]uint64 // by prefix, in order
	n    int                 // records in the journal, as committed

	stage []journalOp // the open transaction's
	delta int         // records stage adds, less those it moves out
}

// journalOp is a staged change of the index: a record added or moved out.
type journalOp struct {
	prefix string
	seq    uint64
	add    bool
}

func newJournalIndex() *journalIndex {
	return &journalIndex{seqs: map[string][]uint64{}}
}

// begin starts staging for a new write transaction.
func (x *journalIndex) begin() { x.stage, x.delta = x.stage[:0], 0 }

func (x *journalIndex) commit() {
	if len(x.stage) == 0 {
		return
	}
	x.mu.Lock()
	for _, op := range x.stage {
		if op.add {
			x.seqs[op.prefix] = append(x.seqs[op.prefix], op.seq)
			x.n++
			continue
		}
		x.n--
		s := x.seqs[op.prefix]
		if i := slices.Index(s, op.seq); i >= 0 {
			s = slices.Delete(s, i, i+1) // the first, as a compaction moves the oldest
		}
		if len(s) == 0 {
			delete(x.seqs, op.prefix)
		} else {
			x.seqs[op.prefix] = s
		}
	}
	x.mu.Unlock()
}

// pending is how many records the journal holds once the open
// transaction commits.
func (x *journalIndex) pending() int {
	x.mu.RLock()
	n := x.n
	x.mu.RUnlock()
	return n + x.delta
}

// staged adds an op to the open transaction's.
func (x *journalIndex) staged(op journalOp) {
	x.stage = append(x.stage, op)
	if op.add {
		x.delta++
	} else {
		x.delta--
	}
}

// of returns the sequences of a log's journal records, as committed.
func (x *journalIndex) of(prefix []byte) []uint64 {
	x.mu.RLock()
	s := slices.Clone(x.seqs[string(prefix)])
	x.mu.RUnlock()
	return s
}

// load indexes the journal, when the file is opened, and starts its
// sequence above bucketLogs' (records appended there before the journal).
func (x *journalIndex) load(tx *bolt.Tx) error {
	jb := bucket(tx, bucketLogJournal)
	if old := bucket(tx, bucketLogs).Sequence(); jb.Sequence() < old {
		if err := jb.SetSequence(old); err != nil {
			return err
		}
	}
	return jb.ForEach(func(k, v []byte) error {
		prefix, _, ok := cutPrefixed(v)
		if !ok || len(k) != 8 {
			return fmt.Errorf("%w: at %x", errJournal, k)
		}
		x.seqs[string(prefix)] = append(x.seqs[string(prefix)], binary.BigEndian.Uint64(k))
		x.n++
		return nil
	})
}

var errJournal = errors.New("mapping: log journal record does not decode")

// appendLogs appends a change's records to the journal.
func (b *Bolt) appendLogs(tx *bolt.Tx, conv string, recs []LogRecord) error {
	jb := bucket(tx, bucketLogJournal)
	for _, r := range recs {
		seq, err := jb.NextSequence()
		if err != nil {
			return err
		}
		prefix := logPrefix(conv, r.Log)
		v := make([]byte, 0, binary.MaxVarintLen64+len(prefix)+len(r.Data))
		k := seqKey(seq)
		if err := jb.Put(k[:], append(appendPrefixed(v, prefix), r.Data...)); err != nil {
			return err
		}
		b.journal.staged(journalOp{prefix: string(prefix), seq: seq, add: true})
	}
	if b.journal.pending() >= journalBatch {
		b.startCompaction()
	}
	return nil
}

// startCompaction runs compactLogs on its own goroutine unless one runs,
// until fewer than journalBatch records wait.
func (b *Bolt) startCompaction() {
	runAlone(&b.compacting, func() {
		for {
			n, err := b.compactLogs(context.Background(), journalBatch)
			if err != nil || n < journalBatch {
				return
			}
		}
	})
}

// compactLogs moves up to limit of the journal's oldest records to
// bucketLogs, in one group-commit write, and drops the oldest records of a
// log that grows past MaxLogRecords. A record whose conversation was
// removed meanwhile is dropped. It returns how many records left the
// journal.
func (b *Bolt) compactLogs(ctx context.Context, limit int) (int, error) {
	n := 0
	err := b.update(ctx, func(tx *bolt.Tx) error {
		n = 0
		jb, logs, counts, convs := bucket(tx, bucketLogJournal), bucket(tx, bucketLogs), bucket(tx, bucketLogCounts), bucket(tx, bucketConvs)
		added := map[string]uint64{}
		var moved []uint64
		cur := jb.Cursor()
		for k, v := cur.First(); k != nil && n < limit; k, v = cur.Next() {
			prefix, data, ok := cutPrefixed(v)
			if !ok {
				return fmt.Errorf("%w: at %x", errJournal, k)
			}
			seq := binary.BigEndian.Uint64(k)
			moved = append(moved, seq)
			b.journal.staged(journalOp{prefix: string(prefix), seq: seq})
			n++
			if conv, _, _ := bytes.Cut(prefix, []byte{0}); convs.Get(conv) == nil {
				continue
			}
			if err := logs.Put(append(bytes.Clone(prefix), k...), bytes.Clone(data)); err != nil {
				return err
			}
			added[string(prefix)]++
		}
		for _, seq := range moved {
			k := seqKey(seq)
			if err := jb.Delete(k[:]); err != nil {
				return err
			}
		}
		for prefix, k := range added {
			if err := trimLog(logs, counts, []byte(prefix), k); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

// trimLog counts k more records in a log and, past MaxLogRecords, deletes
// its oldest.
func trimLog(logs, counts *bolt.Bucket, prefix []byte, k uint64) error {
	n := k
	if v := counts.Get(prefix); len(v) == 8 {
		n += binary.BigEndian.Uint64(v)
	}
	cur := logs.Cursor()
	for ; n > MaxLogRecords; n-- {
		old, _ := cur.Seek(prefix)
		if old == nil || !bytes.HasPrefix(old, prefix) {
			break
		}
		if err := logs.Delete(bytes.Clone(old)); err != nil {
			return err
		}
	}
	return counts.Put(prefix, u64(n))
}

// Log implements Registry.
func (b *Bolt) Log(ctx context.Context, conversation, log string, limit int) ([][]byte, error) {
	limit = min(limit, MaxLogRecords)
	prefix := logPrefix(conversation, log)
	// The index first: the snapshot read next is as new or newer, so each
	// record the index names is in the journal or, moved, in bucketLogs.
	seqs := b.journal.of(prefix)
	var out [][]byte
	err := b.view(ctx, func(tx *bolt.Tx) error {
		// One cursor for all: a Get makes one each time.
		jc := bucket(tx, bucketLogJournal).Cursor()
		newer := make([][]byte, 0, len(seqs))
		for _, seq := range seqs {
			key := seqKey(seq)
			if k, v := jc.Seek(key[:]); bytes.Equal(k, key[:]) {
				if _, data, ok := cutPrefixed(v); ok {
					newer = append(newer, bytes.Clone(data))
				}
			}
		}
		if len(newer) >= limit {
			out = newer[len(newer)-limit:]
			return nil
		}
		// From bucketLogs' end back: the last records, then in order.
		cur := bucket(tx, bucketLogs).Cursor()
		var k, v []byte
		if k, _ = cur.Seek(append(bytes.Clone(prefix), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)); k == nil {
			k, v = cur.Last()
		} else {
			k, v = cur.Prev()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit-len(newer); k, v = cur.Prev() {
			out = append(out, bytes.Clone(v))
		}
		slices.Reverse(out)
		out = append(out, newer...)
		return nil
	})
	return out, err
}

// dropJournal deletes a removed conversation's journal records.
func (b *Bolt) dropJournal(tx *bolt.Tx, conv string) error {
	jb := bucket(tx, bucketLogJournal)
	head := string(queuePrefix(conv))
	var gone []journalOp
	b.journal.mu.RLock()
	for prefix, seqs := range b.journal.seqs {
		if strings.HasPrefix(prefix, head) {
			for _, seq := range seqs {
				gone = append(gone, journalOp{prefix: prefix, seq: seq})
			}
		}
	}
	b.journal.mu.RUnlock()
	for _, op := range b.journal.stage {
		if op.add && strings.HasPrefix(op.prefix, head) {
			gone = append(gone, journalOp{prefix: op.prefix, seq: op.seq})
		}
	}
	for _, op := range gone {
		// A record this transaction moved or dropped already is not there.
		k := seqKey(op.seq)
		if jb.Get(k[:]) == nil {
			continue
		}
		if err := jb.Delete(k[:]); err != nil {
			return err
		}
		b.journal.staged(op)
	}
	return nil
}
