package mapping

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestQueueIndexShowsATransactionsChangesOnlyOnceItCommits(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "x.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q := newQueueIndex()
	seqsOf := func(queue string) []uint64 {
		var out []uint64
		for _, qs := range q.after(queue, 0, true, 100) {
			out = append(out, qs.seq)
		}
		return out
	}
	steps := []struct {
		name  string
		tx    func(t *testing.T)
		fail  bool
		wantA []uint64
		wantB []uint64
	}{
		{"items added are pending once committed", func(t *testing.T) {
			q.add("a", 1)
			q.add("b", 2)
			q.add("a", 3)
			if h, ok := q.head("a"); !ok || h != 1 {
				t.Errorf("head of a in its transaction = %d, %v", h, ok)
			}
			if _, ok := q.firstOf("a"); ok {
				t.Error("an uncommitted item is visible to readers")
			}
		}, false, []uint64{1, 3}, []uint64{2}},
		{"a rolled back transaction leaves nothing", func(t *testing.T) {
			q.remove("a", 1)
			q.add("b", 4)
		}, true, []uint64{1, 3}, []uint64{2}},
		{"removing the head makes the next one head", func(t *testing.T) {
			q.remove("a", 1)
			if h, _ := q.head("a"); h != 3 {
				t.Errorf("head of a after its removal = %d, want 3", h)
			}
			if !q.has("a", 3) || q.has("a", 1) {
				t.Error("has does not see the transaction's removal")
			}
		}, false, []uint64{3}, []uint64{2}},
		{"an item removed from the middle and one added and removed at once", func(t *testing.T) {
			q.add("b", 5)
			q.add("b", 6)
			q.remove("b", 6)
			q.add("b", 7)
		}, false, []uint64{3}, []uint64{2, 5, 7}},
		{"removing from the middle keeps the order", func(t *testing.T) {
			q.remove("b", 5)
			q.remove("a", 3)
			if _, ok := q.head("a"); ok {
				t.Error("an emptied queue still has a head in its transaction")
			}
		}, false, nil, []uint64{2, 7}},
	}
	errRolledBack := errors.New("rolled back")
	for _, st := range steps {
		err := db.Update(func(tx *bolt.Tx) error {
			q.begin()
			tx.OnCommit(q.commit)
			st.tx(t)
			if st.fail {
				return errRolledBack
			}
			return nil
		})
		if (err != nil) != st.fail {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := seqsOf("a"); !slices.Equal(got, st.wantA) {
			t.Fatalf("%s: a = %v, want %v", st.name, got, st.wantA)
		}
		if got := seqsOf("b"); !slices.Equal(got, st.wantB) {
			t.Fatalf("%s: b = %v, want %v", st.name, got, st.wantB)
		}
		if got, want := q.pending(), len(st.wantA)+len(st.wantB); got != want {
			t.Fatalf("%s: pending = %d, want %d", st.name, got, want)
		}
	}
	if got := q.after("", 0, false, 10); len(got) != 2 || got[0] != (queueSeq{"b", 2}) || got[1] != (queueSeq{"b", 7}) {
		t.Fatalf("all queues = %v", got)
	}
}

// A file written when outbox items were keyed by queue (some of them still
// JSON, with the depth counted in the file) opens with its queues, in
// order, and new items come after the old ones.
func TestBoltOpensAnOutboxKeyedByQueue(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(100, 0)
	old := []*OutboxItem{
		{Queue: "conv-b", Seq: 2, Target: "t", Body: []byte("b1"), EnqueuedAt: at, NextAttempt: at},
		{Queue: "conv-a", Seq: 3, Target: "t", Body: []byte("a1"), EnqueuedAt: at, NextAttempt: at},
		{Queue: "conv-b", Seq: 5, Target: "t", Body: []byte("b2"), EnqueuedAt: at, NextAttempt: at},
	}
	err = db.Update(func(tx *bolt.Tx) error {
		bk, err := tx.CreateBucket([]byte(bucketOutboxByQueue))
		if err != nil {
			return err
		}
		for i, it := range old {
			v := encodeItem(nil, it)
			if i == 0 {
				if v, err = json.Marshal(it); err != nil {
					return err
				}
			}
			if err := bk.Put(queueKey(it.Queue, it.Seq), v); err != nil {
				return err
			}
		}
		if err := bk.SetSequence(5); err != nil {
			return err
		}
		meta, err := tx.CreateBucket([]byte(bucketMeta))
		if err != nil {
			return err
		}
		return meta.Put([]byte(keyDepth), binary.BigEndian.AppendUint64(nil, 3))
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	b, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if d, _ := b.Depth(ctx); d != 3 {
		t.Fatalf("depth = %d, want 3", d)
	}
	fresh := &OutboxItem{Queue: "conv-a", Target: "t", Body: []byte("a2"), NextAttempt: at}
	if err := b.Commit(ctx, &Change{Outbox: []*OutboxItem{fresh}}); err != nil {
		t.Fatal(err)
	}
	if fresh.Seq <= 5 {
		t.Fatalf("a new item's seq %d does not follow the old ones", fresh.Seq)
	}
	got := map[string][]string{}
	for range 10 {
		var due []*OutboxItem
		for _, shard := range slices.Compact(slices.Sorted(slices.Values([]int{ShardOf("conv-a"), ShardOf("conv-b")}))) {
			more, err := b.Due(ctx, shard, at.Add(time.Hour), 10)
			if err != nil {
				t.Fatal(err)
			}
			due = append(due, more...)
		}
		if len(due) == 0 {
			break
		}
		for _, it := range due {
			got[it.Queue] = append(got[it.Queue], string(it.Body))
			if _, err := b.Remove(ctx, it); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !slices.Equal(got["conv-a"], []string{"a1", "a2"}) || !slices.Equal(got["conv-b"], []string{"b1", "b2"}) {
		t.Fatalf("delivered %v", got)
	}
	if d, _ := b.Depth(ctx); d != 0 {
		t.Fatalf("depth after delivering all = %d", d)
	}
}

// Removed items stay in the file, named as removed, until a purge: after a
// reopen they are still gone, and a purge deletes them with their names.
func TestBoltRemovedOutboxItemsStayGoneUntilPurged(t *testing.T) {
	ctx := context.Background()
	b, path := openTemp(t)
	c := create(t, b, conv(alice, "d1", time.Unix(1, 0)))
	var items []*OutboxItem
	for _, body := range []string{"one", "two", "three"} {
		it := item(c, body)
		if err := b.Commit(ctx, &Change{Outbox: []*OutboxItem{it}}); err != nil {
			t.Fatal(err)
		}
		items = append(items, it)
	}
	for _, it := range items[:2] {
		if _, err := b.Remove(ctx, it); err != nil {
			t.Fatal(err)
		}
	}
	if n, g := keyCount(t, b, bucketOutbox), keyCount(t, b, bucketOutboxGone); n != 3 || g != 2 {
		t.Fatalf("after two removals the file holds %d items and %d removed, want 3 and 2", n, g)
	}
	b.Close()
	b, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if d, _ := b.Depth(ctx); d != 1 {
		t.Fatalf("depth after reopening = %d, want 1", d)
	}
	if h, err := b.Head(ctx, c.ID); err != nil || h == nil || string(h.Body) != "three" {
		t.Fatalf("head after reopening = %+v, %v; want three", h, err)
	}
	if _, err := b.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if n, g := keyCount(t, b, bucketOutbox), keyCount(t, b, bucketOutboxGone); n != 1 || g != 0 {
		t.Fatalf("after the sweep's purge the file holds %d items and %d removed, want 1 and 0", n, g)
	}
	if h, _ := b.Head(ctx, c.ID); h == nil || string(h.Body) != "three" {
		t.Fatalf("head after the purge = %+v, want three", h)
	}
}

// Enough removals start a purge of their own.
func TestBoltPurgesRemovedOutboxItemsAsTheyPileUp(t *testing.T) {
	ctx := context.Background()
	b, _ := openTemp(t)
	c := create(t, b, conv(alice, "d1", time.Unix(1, 0)))
	var items []*OutboxItem
	for i := range purgeBatch {
		items = append(items, item(c, fmt.Sprint(i)))
	}
	if err := b.Commit(ctx, &Change{Outbox: items}); err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if _, err := b.Remove(ctx, it); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the purge", func() bool {
		return keyCount(t, b, bucketOutbox) == 0 && keyCount(t, b, bucketOutboxGone) == 0
	})
	if d, _ := b.Depth(ctx); d != 0 {
		t.Fatalf("depth = %d", d)
	}
}
