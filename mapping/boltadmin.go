package mapping

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The outbox's operator side on bbolt. Dropped items keep their queue key
// (conversation, 0, seq) in their own bucket, with an index by drop time
// per shard (shard, time, queue key) that the bounds trim from the oldest,
// and a count per shard in meta.

// indexOutbox builds the outbox's in-memory indexes from its items (those
// removed but not purged yet left out), once, when the file is opened.
func (b *Bolt) indexOutbox(tx *bolt.Tx) error {
	removed := map[uint64]bool{}
	err := bucket(tx, bucketOutboxGone).ForEach(func(_, v []byte) error {
		if len(v) == 8 {
			removed[binary.BigEndian.Uint64(v)] = true
		}
		return nil
	})
	if err != nil {
		return err
	}
	b.gone.Store(int64(len(removed)))
	cur := bucket(tx, bucketOutbox).Cursor()
	for k, v := cur.First(); k != nil; k, v = cur.Next() {
		if len(k) != 8 {
			return fmt.Errorf("mapping: outbox key %q is not a sequence", k)
		}
		if removed[binary.BigEndian.Uint64(k)] {
			continue
		}
		it, err := decodeItem(v)
		if err != nil {
			return fmt.Errorf("mapping: outbox item %d: %w", binary.BigEndian.Uint64(k), err)
		}
		if _, busy := b.queues.seqs[it.Queue]; !busy { // its head
			b.due.load(it.Queue, it.NextAttempt)
			b.age.load(it.Queue, it.EnqueuedAt)
		}
		b.queues.load(it.Queue, binary.BigEndian.Uint64(k))
	}
	return nil
}

// moveOutboxByQueue moves the items of a file written before they were
// keyed by sequence alone into bucketOutbox, with the sequence they had.
func moveOutboxByQueue(tx *bolt.Tx) error {
	old := tx.Bucket([]byte(bucketOutboxByQueue))
	if old == nil {
		return nil
	}
	out := bucket(tx, bucketOutbox)
	err := old.ForEach(func(k, v []byte) error {
		queue, seq, ok := queueOfKey(k)
		if !ok {
			return fmt.Errorf("mapping: outbox key %q is not a queue's", k)
		}
		it, err := decodeItem(v)
		if err != nil {
			return fmt.Errorf("mapping: outbox item %s/%d: %w", queue, seq, err)
		}
		it.Queue, it.Seq = queue, seq
		return out.Put(u64(seq), encodeItem(nil, it))
	})
	if err != nil {
		return err
	}
	if err := out.SetSequence(max(out.Sequence(), old.Sequence())); err != nil {
		return err
	}
	return tx.DeleteBucket([]byte(bucketOutboxByQueue))
}

func droppedCountKey(shard int) []byte { return append([]byte(keyDropped), byte(shard)) }

func droppedAtKey(it *OutboxItem) []byte {
	k := make([]byte, 0, 18+len(it.Queue))
	k = append(k, byte(ShardOf(it.Queue)))
	k = binary.BigEndian.AppendUint64(k, uint64(max(it.DroppedAt.UnixNano(), 0)))
	return append(k, queueKey(it.Queue, it.Seq)...)
}

func droppedCount(tx *bolt.Tx, shard int) int {
	if v := bucket(tx, bucketMeta).Get(droppedCountKey(shard)); len(v) == 8 {
		return int(binary.BigEndian.Uint64(v))
	}
	return 0
}

func addDropped(tx *bolt.Tx, shard, delta int) error {
	return bucket(tx, bucketMeta).Put(droppedCountKey(shard), u64(uint64(max(droppedCount(tx, shard)+delta, 0))))
}

// queueOfKey splits a queue key into its conversation and sequence.
func queueOfKey(k []byte) (string, uint64, bool) {
	if len(k) < 9 || k[len(k)-9] != 0 {
		return "", 0, false
	}
	return string(k[:len(k)-9]), seqOf(k), true
}

// Drop implements Outbox in one transaction: the item leaves its queue and
// joins the dropped set, which is then trimmed to d's bounds.
func (b *Bolt) Drop(ctx context.Context, item *OutboxItem, d Drop) error {
	if err := checkDrop(d); err != nil {
		return err
	}
	rec := dropped(item, d)
	raw, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("mapping: outbox item %s/%d: %w", item.Queue, item.Seq, err)
	}
	return b.update(ctx, func(tx *bolt.Tx) error {
		removed, err := b.removeItem(tx, item.Queue, item.Seq)
		if err != nil || !removed {
			return err
		}
		if err := bucket(tx, bucketDropped).Put(queueKey(item.Queue, item.Seq), raw); err != nil {
			return err
		}
		if err := bucket(tx, bucketDroppedAt).Put(droppedAtKey(rec), nil); err != nil {
			return err
		}
		shard := ShardOf(item.Queue)
		if err := addDropped(tx, shard, 1); err != nil {
			return err
		}
		_, err = trimDropped(tx, shard, dropCutoff(d), d.Keep)
		return err
	})
}

// trimDropped removes, oldest first, the dropped items of shard dropped
// before cutoff and those past keep.
func trimDropped(tx *bolt.Tx, shard int, cutoff time.Time, keep int) (int, error) {
	n, count := 0, droppedCount(tx, shard)
	idx, set := bucket(tx, bucketDroppedAt), bucket(tx, bucketDropped)
	cur := idx.Cursor()
	for k, _ := cur.Seek([]byte{byte(shard)}); k != nil && k[0] == byte(shard) && len(k) > 9; k, _ = cur.Seek([]byte{byte(shard)}) {
		at := int64(binary.BigEndian.Uint64(k[1:9]))
		if count <= keep && (cutoff.IsZero() || at >= cutoff.UnixNano()) {
			break
		}
		if err := set.Delete(bytes.Clone(k[9:])); err != nil {
			return n, err
		}
		if err := idx.Delete(bytes.Clone(k)); err != nil {
			return n, err
		}
		count--
		n++
	}
	if n == 0 {
		return 0, nil
	}
	return n, bucket(tx, bucketMeta).Put(droppedCountKey(shard), u64(uint64(max(count, 0))))
}

// ListOutbox implements OutboxAdmin, in the order queue, then seq.
func (b *Bolt) ListOutbox(ctx context.Context, q OutboxQuery) (OutboxPage, error) {
	c, err := checkOutboxQuery(q)
	if err != nil {
		return OutboxPage{}, err
	}
	var out OutboxPage
	err = b.view(ctx, func(tx *bolt.Tx) error {
		list := b.listPending
		if q.State == OutboxDropped {
			list = listDropped
		}
		out, err = page(q, c, func(c outboxCursor, n int) ([]*OutboxItem, error) {
			return list(tx, q.Queue, c, n)
		})
		return err
	})
	return out, err
}

// listPending reads up to n pending items after c (from the start of
// queue, or of all queues, when c is zero).
func (b *Bolt) listPending(tx *bolt.Tx, queue string, c outboxCursor, n int) ([]*OutboxItem, error) {
	from, seq := queue, uint64(0)
	if c.Queue != "" {
		from, seq = c.Queue, c.Seq+1
	}
	bk := bucket(tx, bucketOutbox)
	var items []*OutboxItem
	for _, qs := range b.queues.after(from, seq, queue != "", n) {
		v := bk.Get(u64(qs.seq))
		if v == nil {
			continue // removed since this read began
		}
		it, err := decodeItem(v)
		if err != nil {
			return nil, err
		}
		it.Queue, it.Seq = qs.queue, qs.seq
		items = append(items, it)
	}
	return items, nil
}

// listDropped reads up to n dropped items after c, in key order.
func listDropped(tx *bolt.Tx, queue string, c outboxCursor, n int) ([]*OutboxItem, error) {
	var prefix []byte
	if queue != "" {
		prefix = queuePrefix(queue)
	}
	cur := bucket(tx, bucketDropped).Cursor()
	var k, v []byte
	switch {
	case c.Queue != "":
		k, v = cur.Seek(queueKey(c.Queue, c.Seq+1))
	case prefix != nil:
		k, v = cur.Seek(prefix)
	default:
		k, v = cur.First()
	}
	var items []*OutboxItem
	for ; k != nil && len(items) < n && (prefix == nil || bytes.HasPrefix(k, prefix)); k, v = cur.Next() {
		queue, seq, ok := queueOfKey(k)
		if !ok {
			continue
		}
		it, err := decodeItem(v)
		if err != nil {
			return nil, err
		}
		it.Queue, it.Seq = queue, seq
		items = append(items, it)
	}
	return items, nil
}

// Replay implements OutboxAdmin in one transaction.
func (b *Bolt) Replay(ctx context.Context, queue string, seq uint64, now time.Time) (*OutboxItem, error) {
	var fresh *OutboxItem
	err := b.update(ctx, func(tx *bolt.Tx) error {
		set := bucket(tx, bucketDropped)
		k := queueKey(queue, seq)
		v := set.Get(k)
		if v == nil {
			return fmt.Errorf("%w: dropped item %s/%d", ErrNotFound, queue, seq)
		}
		it, err := decodeItem(v)
		if err != nil {
			return err
		}
		it.Queue, it.Seq = queue, seq
		if err := forgetDropped(tx, it); err != nil {
			return err
		}
		fresh = Renewed(it, now)
		fresh.Seq, err = b.enqueue(tx, fresh)
		return err
	})
	if err != nil {
		return nil, err
	}
	return fresh, nil
}

// forgetDropped deletes a dropped item and its index entry.
func forgetDropped(tx *bolt.Tx, it *OutboxItem) error {
	if err := bucket(tx, bucketDropped).Delete(queueKey(it.Queue, it.Seq)); err != nil {
		return err
	}
	if err := bucket(tx, bucketDroppedAt).Delete(droppedAtKey(it)); err != nil {
		return err
	}
	return addDropped(tx, ShardOf(it.Queue), -1)
}

// DiscardOutbox implements OutboxAdmin.
func (b *Bolt) DiscardOutbox(ctx context.Context, state, queue string, seq uint64) (*OutboxItem, error) {
	if err := checkState(state); err != nil {
		return nil, err
	}
	var gone *OutboxItem
	err := b.update(ctx, func(tx *bolt.Tx) error {
		var v []byte
		switch {
		case state == OutboxDropped:
			v = bucket(tx, bucketDropped).Get(queueKey(queue, seq))
		case b.queues.has(queue, seq):
			v = bucket(tx, bucketOutbox).Get(u64(seq))
		}
		if v == nil {
			return fmt.Errorf("%w: %s item %s/%d", ErrNotFound, state, queue, seq)
		}
		it, err := decodeItem(v)
		if err != nil {
			return err
		}
		it.Queue, it.Seq = queue, seq
		gone = it
		if state == OutboxDropped {
			return forgetDropped(tx, it)
		}
		_, err = b.removeItem(tx, queue, seq)
		return err
	})
	if err != nil {
		return nil, err
	}
	return gone, nil
}

// ExpireDropped implements OutboxAdmin; it writes only when something
// expired (a read first), so that calling it often costs no commit.
func (b *Bolt) ExpireDropped(ctx context.Context, shard int, before time.Time) (int, error) {
	if shard < 0 || shard >= Shards {
		return 0, fmt.Errorf("mapping: shard %d, want 0..%d", shard, Shards-1)
	}
	due := false
	err := b.view(ctx, func(tx *bolt.Tx) error {
		k, _ := bucket(tx, bucketDroppedAt).Cursor().Seek([]byte{byte(shard)})
		due = k != nil && k[0] == byte(shard) && len(k) > 9 && int64(binary.BigEndian.Uint64(k[1:9])) < before.UnixNano()
		return nil
	})
	if err != nil || !due {
		return 0, err
	}
	n := 0
	err = b.update(ctx, func(tx *bolt.Tx) error {
		var err error
		n, err = trimDropped(tx, shard, before, math.MaxInt)
		return err
	})
	return n, err
}

// OutboxStats implements OutboxAdmin.
func (b *Bolt) OutboxStats(ctx context.Context) (OutboxStats, error) {
	var st OutboxStats
	err := b.view(ctx, func(tx *bolt.Tx) error {
		st.Pending = b.queues.pending()
		for shard := range Shards {
			st.Dropped += droppedCount(tx, shard)
			at, ok := b.age.earliest(shard)
			if ok && (st.OldestPending.IsZero() || at.Before(st.OldestPending)) {
				st.OldestPending = at
			}
		}
		return nil
	})
	return st, err
}

// PauseEndpoint implements OutboxAdmin.
func (b *Bolt) PauseEndpoint(ctx context.Context, p EndpointPause) (EndpointPause, bool, error) {
	if p.Endpoint == "" {
		return p, false, fmt.Errorf("mapping: pause without endpoint")
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return p, false, fmt.Errorf("mapping: pause %s: %w", p.Endpoint, err)
	}
	rec, created := p, false
	err = b.update(ctx, func(tx *bolt.Tx) error {
		bk := bucket(tx, bucketPauses)
		if cur := bk.Get([]byte(p.Endpoint)); cur != nil {
			return json.Unmarshal(cur, &rec)
		}
		created = true
		return bk.Put([]byte(p.Endpoint), raw)
	})
	return rec, created, err
}

// ResumeEndpoint implements OutboxAdmin.
func (b *Bolt) ResumeEndpoint(ctx context.Context, endpoint string) (EndpointPause, error) {
	var rec EndpointPause
	err := b.update(ctx, func(tx *bolt.Tx) error {
		bk := bucket(tx, bucketPauses)
		raw := bk.Get([]byte(endpoint))
		if raw == nil {
			return fmt.Errorf("%w: paused endpoint %s", ErrNotFound, endpoint)
		}
		if err := json.Unmarshal(raw, &rec); err != nil {
			return err
		}
		return bk.Delete([]byte(endpoint))
	})
	return rec, err
}

// Pauses implements OutboxAdmin.
func (b *Bolt) Pauses(ctx context.Context) ([]EndpointPause, error) {
	var out []EndpointPause
	err := b.view(ctx, func(tx *bolt.Tx) error {
		return bucket(tx, bucketPauses).ForEach(func(_, v []byte) error {
			var p EndpointPause
			if err := json.Unmarshal(v, &p); err != nil {
				return err
			}
			out = append(out, p)
			return nil
		})
	})
	return out, err
}
