package mapping

import (
	"context"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A file written before the age index existed gets it at open, so that the
// oldest pending item is found for the queues it already had.
func TestBoltIndexesTheAgesOfAnOlderFileAtOpen(t *testing.T) {
	ctx := context.Background()
	b, path := openTemp(t)
	c := create(t, b, conv(alice, "d1", time.Unix(1, 0)))
	it := item(c, "old")
	it.EnqueuedAt = time.Unix(700, 0)
	if err := b.Commit(ctx, &Change{Outbox: []*OutboxItem{it}}); err != nil {
		t.Fatal(err)
	}
	err := b.db.Update(func(tx *bolt.Tx) error { // as an older version left it
		for _, name := range []string{bucketAge, bucketAgeOf} {
			if err := tx.DeleteBucket([]byte(name)); err != nil {
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
	if err != nil || st.Pending != 1 || !st.OldestPending.Equal(it.EnqueuedAt) {
		t.Fatalf("stats after reopen = %+v, %v; want the old item's age", st, err)
	}
}
