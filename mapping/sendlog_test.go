package mapping

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func pending(id string, at time.Time) SendRecord {
	return SendRecord{ProviderMessageID: id, State: SendPending, Holder: "replica-1", At: at}
}

func TestSendRecordsAreFoundAgainAfterReopen(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	b, path := openTemp(t)
	if _, won, err := b.BeginSend(ctx, "conv-1", "k1", pending("p1", at), time.Hour); err != nil || !won {
		t.Fatalf("begin k1: won %v, %v", won, err)
	}
	if _, won, err := b.BeginSend(ctx, "conv-2", "k1", pending("p2", at), time.Hour); err != nil || !won {
		t.Fatalf("begin k1 of another conversation: won %v, %v", won, err)
	}
	sent := SendRecord{ProviderMessageID: "p1", State: SendSent, MessageID: "m-1", MessageIndex: 7, Holder: "replica-1", At: at}
	if err := b.PutSend(ctx, "conv-1", "k1", sent, time.Hour); err != nil {
		t.Fatal(err)
	}
	b2 := reopen(t, b, path)
	for _, tc := range []struct {
		conv, key string
		want      SendRecord
		ok        bool
	}{
		{"conv-1", "k1", sent, true},
		{"conv-2", "k1", pending("p2", at), true},
		{"conv-1", "k2", SendRecord{}, false},
	} {
		got, ok, err := b2.Send(ctx, tc.conv, tc.key)
		if err != nil || ok != tc.ok || got.ProviderMessageID != tc.want.ProviderMessageID || got.State != tc.want.State || got.MessageIndex != tc.want.MessageIndex {
			t.Errorf("%s/%s after reopen: %+v, %v, %v; want %+v, %v", tc.conv, tc.key, got, ok, err, tc.want, tc.ok)
		}
	}
	// The record in force is still found by a begin: a retry is not a new message.
	if cur, won, err := b2.BeginSend(ctx, "conv-1", "k1", pending("p9", at), time.Hour); err != nil || won || cur.MessageID != "m-1" {
		t.Fatalf("begin after reopen: %+v, won %v, %v", cur, won, err)
	}
}

func TestAnExpiredSendRecordMakesRoomAndTheSweepTakesOnlyTheExpired(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)}
	b, _ := openTemp(t, WithClock(clk.now))
	if _, won, err := b.BeginSend(ctx, "c", "old", pending("p-old", clk.now()), time.Minute); err != nil || !won {
		t.Fatalf("begin: %v, %v", won, err)
	}
	if _, won, err := b.BeginSend(ctx, "c", "kept", pending("p-kept", clk.now()), time.Hour); err != nil || !won {
		t.Fatalf("begin: %v, %v", won, err)
	}
	clk.add(2 * time.Minute)
	noRecord(t, b, "c", "old", "an expired record is still in force")
	// The key is free again: a new message, in a record of its own.
	if _, won, err := b.BeginSend(ctx, "c", "old", pending("p-new", clk.now()), time.Minute); err != nil || !won {
		t.Fatalf("begin again after expiry: %v, %v", won, err)
	}
	if n := keyCount(t, b, bucketSendLog); n != 2 {
		t.Fatalf("%d records stored, want 2: the expired one goes when its key is taken again", n)
	}
	clk.add(2 * time.Minute)
	if n, err := b.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("sweep removed %d, %v; want the one expired record", n, err)
	}
	if got, ok, err := b.Send(ctx, "c", "kept"); err != nil || !ok || got.ProviderMessageID != "p-kept" {
		t.Fatalf("the live record after the sweep: %+v, %v, %v", got, ok, err)
	}
	noRecord(t, b, "c", "old", "the swept record is still found")
	if n := keyCount(t, b, bucketSendLog); n != 1 {
		t.Fatalf("%d records stored after the sweep, want 1", n)
	}
}

func TestDropSendForgetsTheRecordAndItsKey(t *testing.T) {
	ctx := context.Background()
	b, _ := openTemp(t)
	at := time.Now()
	if _, _, err := b.BeginSend(ctx, "c", "k", pending("p1", at), time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := b.DropSend(ctx, "c", "k"); err != nil {
		t.Fatal(err)
	}
	noRecord(t, b, "c", "k", "a dropped record is found")
	if _, won, err := b.BeginSend(ctx, "c", "k", pending("p2", at), time.Hour); err != nil || !won {
		t.Fatalf("begin after the drop: %v, %v", won, err)
	}
	if n := keyCount(t, b, bucketSendLog); n != 1 {
		t.Fatalf("%d records stored, want 1", n)
	}
}

func TestSendRecordsOfAnEarlierFileAreMovedOnOpen(t *testing.T) {
	ctx := context.Background()
	b, path := openTemp(t)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		old, err := tx.CreateBucketIfNotExists([]byte(bucketSends))
		if err != nil {
			return err
		}
		// There a record was its expiry and its JSON, under conversation|key.
		stored := func(rec SendRecord, expires time.Time) []byte {
			raw, err := json.Marshal(rec)
			if err != nil {
				t.Fatal(err)
			}
			return append(u64(uint64(expires.UnixNano())), raw...)
		}
		if err := old.Put([]byte("c|live"), stored(SendRecord{ProviderMessageID: "p-live", State: SendSent, MessageID: "m", At: at}, time.Now().Add(time.Hour))); err != nil {
			return err
		}
		return old.Put([]byte("c|expired"), stored(pending("p-expired", at), time.Now().Add(-time.Hour)))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	b2, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	if got, ok, err := b2.Send(ctx, "c", "live"); err != nil || !ok || got.ProviderMessageID != "p-live" || got.MessageID != "m" {
		t.Fatalf("moved record: %+v, %v, %v", got, ok, err)
	}
	noRecord(t, b2, "c", "expired", "an expired record came along")
	if n := keyCount(t, b2, bucketSendLog); n != 1 {
		t.Fatalf("%d records moved, want 1", n)
	}
	if err := b2.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket([]byte(bucketSends)) != nil {
			t.Error("the old bucket is still there")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// noRecord fails the test, saying why, when a record is in force under key.
func noRecord(t *testing.T, b *Bolt, conv, key, why string) {
	t.Helper()
	if rec, ok, err := b.Send(context.Background(), conv, key); err != nil || ok {
		t.Fatalf("%s: %+v, %v, %v", why, rec, ok, err)
	}
}

func TestSweepSendsRemovesExpiredRecordsPastOneReadsWorth(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)}
	b, path := openTemp(t, WithClock(clk.now))
	// More than one read transaction of the sweep reads, the live ones
	// spread among the expired, all in one transaction of the test's own.
	const total, every = sweepScan + 3*sweepChunk + 7, 97
	live := 0
	err := b.db.Update(func(tx *bolt.Tx) error {
		bk := bucket(tx, bucketSendLog)
		for i := range total {
			ttl := time.Minute
			if i%every == 0 {
				ttl, live = time.Hour, live+1
			}
			v, err := appendLoggedSend(nil, sendKey("conv", fmt.Sprint("k", i)), pending(fmt.Sprint("p", i), clk.now()), clk.now().Add(ttl))
			if err != nil {
				return err
			}
			seq, err := bk.NextSequence()
			if err != nil {
				return err
			}
			if err := bk.Put(u64(seq), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b, err = OpenBolt(path, WithClock(clk.now)) // indexes what the test wrote
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })

	clk.add(2 * time.Minute)
	if n, err := b.SweepSends(ctx); err != nil || n != total-live {
		t.Fatalf("swept %d, %v; want the %d expired", n, err, total-live)
	}
	if n := keyCount(t, b, bucketSendLog); n != live {
		t.Fatalf("%d records left, want the %d live ones", n, live)
	}
	if got, ok, err := b.Send(ctx, "conv", fmt.Sprint("k", every*(live-1))); err != nil || !ok || got.ProviderMessageID != fmt.Sprint("p", every*(live-1)) {
		t.Fatalf("the last live record after the sweep: %+v, %v, %v", got, ok, err)
	}
	noRecord(t, b, "conv", "k1", "a swept record is still found")
	if n, err := b.SweepSends(ctx); err != nil || n != 0 {
		t.Fatalf("a second sweep removed %d, %v; want none", n, err)
	}
}
