package mapping

import (
	"context"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The outbox's indexes live in memory: a reopened file has them again,
// built from its queues' heads, and a file an older version wrote loses
// the index buckets it kept.
func TestBoltRebuildsTheOutboxIndexesAtOpen(t *testing.T) {
	ctx := context.Background()
	b, path := openTemp(t)
	c1 := create(t, b, conv(alice, "d1", time.Unix(1, 0)))
	c2 := create(t, b, conv(bob, "d2", time.Unix(2, 0)))
	old := item(c1, "old")
	old.EnqueuedAt, old.NextAttempt = time.Unix(700, 0), time.Unix(900, 0)
	later := item(c1, "later")
	later.EnqueuedAt, later.NextAttempt = time.Unix(800, 0), time.Unix(800, 0)
	other := item(c2, "other")
	other.EnqueuedAt, other.NextAttempt = time.Unix(750, 0), time.Unix(5000, 0)
	if err := b.Commit(ctx, &Change{Outbox: []*OutboxItem{old, later}}); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(ctx, &Change{Outbox: []*OutboxItem{other}}); err != nil {
		t.Fatal(err)
	}
	err := b.db.Update(func(tx *bolt.Tx) error { // as an older version left it
		for _, name := range retiredBuckets() {
			if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b.Close()

	again, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	st, err := again.OutboxStats(ctx)
	if err != nil || st.Pending != 3 || !st.OldestPending.Equal(old.EnqueuedAt) {
		t.Fatalf("stats after reopen = %+v, %v; want 3 pending, the oldest enqueued at %v", st, err, old.EnqueuedAt)
	}
	// Due by the head's next attempt, not a later item's.
	due := func(now time.Time) []string {
		var qs []string
		for shard := range Shards {
			items, err := again.Due(ctx, shard, now, 10)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range items {
				qs = append(qs, it.Queue+"/"+string(it.Body))
			}
		}
		slices.Sort(qs)
		return qs
	}
	if got := due(time.Unix(850, 0)); len(got) != 0 {
		t.Fatalf("due at 850 = %v, want none (the head is due at 900)", got)
	}
	want := []string{c1.ID + "/" + string(old.Body), c2.ID + "/" + string(other.Body)}
	slices.Sort(want)
	if got := due(time.Unix(6000, 0)); !slices.Equal(got, want) {
		t.Fatalf("due at 6000 = %v, want %v", got, want)
	}
	err = again.db.View(func(tx *bolt.Tx) error {
		for _, name := range retiredBuckets() {
			if tx.Bucket([]byte(name)) != nil {
				t.Errorf("bucket %s kept", name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
