package mapping

import (
	"context"
	"encoding/json"
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
	if n := sendsInForce(b); n != 2 {
		t.Fatalf("%d records indexed, want 2: the expired one goes when its key is taken again", n)
	}
	clk.add(2 * time.Minute)
	if n, err := b.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("sweep removed %d, %v; want the one expired record", n, err)
	}
	if got, ok, err := b.Send(ctx, "c", "kept"); err != nil || !ok || got.ProviderMessageID != "p-kept" {
		t.Fatalf("the live record after the sweep: %+v, %v, %v", got, ok, err)
	}
	noRecord(t, b, "c", "old", "the swept record is still found")
	if n := sendsInForce(b); n != 1 {
		t.Fatalf("%d records indexed after the sweep, want 1", n)
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
	if n := sendsInForce(b); n != 1 {
		t.Fatalf("%d records indexed, want 1", n)
	}
}

func TestSendRecordsOfAnEarlierFileAreMovedOnOpen(t *testing.T) {
	ctx := context.Background()
	b, path := openTemp(t)
	at := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	// The log has "c|both" already: a move that a crash cut short, then
	// a newer record of it.
	newer := SendRecord{ProviderMessageID: "p-newer", State: SendSent, MessageID: "m-newer", At: at}
	if err := b.PutSend(ctx, "c", "both", newer, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	live, gone := time.Now().Add(time.Hour), time.Now().Add(-time.Hour)
	err = db.Update(func(tx *bolt.Tx) error {
		// In bucketSends a record was its expiry and its JSON, under
		// conversation|key.
		sends, err := tx.CreateBucketIfNotExists([]byte(bucketSends))
		if err != nil {
			return err
		}
		stored := func(rec SendRecord, expires time.Time) []byte {
			raw, err := json.Marshal(rec)
			if err != nil {
				t.Fatal(err)
			}
			return append(u64(uint64(expires.UnixNano())), raw...)
		}
		if err := sends.Put([]byte("c|live"), stored(SendRecord{ProviderMessageID: "p-live", State: SendSent, MessageID: "m", At: at}, live)); err != nil {
			return err
		}
		if err := sends.Put([]byte("c|expired"), stored(pending("p-expired", at), gone)); err != nil {
			return err
		}
		// In bucketSendLog, under a sequence, as the log stores it.
		log, err := tx.CreateBucketIfNotExists([]byte(bucketSendLog))
		if err != nil {
			return err
		}
		for i, r := range []struct {
			key     string
			rec     SendRecord
			expires time.Time
		}{
			{"c|logged", pending("p-logged", at), live},
			{"c|logged-expired", pending("p-logged-expired", at), gone},
			{"c|both", pending("p-older", at), live},
		} {
			v, err := appendLoggedSend(nil, []byte(r.key), r.rec, r.expires)
			if err != nil {
				return err
			}
			if err := log.Put(u64(uint64(i+1)), v); err != nil {
				return err
			}
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	b2 := openAt(t, path)
	for _, tc := range []struct {
		key, id string
	}{
		{"live", "p-live"}, {"logged", "p-logged"}, {"both", "p-newer"},
	} {
		if got, ok, err := b2.Send(ctx, "c", tc.key); err != nil || !ok || got.ProviderMessageID != tc.id {
			t.Errorf("%s after the move: %+v, %v, %v; want %s", tc.key, got, ok, err, tc.id)
		}
	}
	noRecord(t, b2, "c", "expired", "an expired record came along")
	noRecord(t, b2, "c", "logged-expired", "an expired record came along")
	if n := sendsInForce(b2); n != 3 {
		t.Fatalf("%d records in force after the move, want 3", n)
	}
	if err := b2.db.View(func(tx *bolt.Tx) error {
		for _, name := range []string{bucketSends, bucketSendLog} {
			if tx.Bucket([]byte(name)) != nil {
				t.Errorf("bucket %s is still there", name)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Moved, they are in the log: found again with the buckets gone.
	b3 := reopen(t, b2, path)
	if got, ok, err := b3.Send(ctx, "c", "logged"); err != nil || !ok || got.ProviderMessageID != "p-logged" {
		t.Fatalf("a moved record after another reopen: %+v, %v, %v", got, ok, err)
	}
}

// noRecord fails the test, saying why, when a record is in force under key.
func noRecord(t *testing.T, b *Bolt, conv, key, why string) {
	t.Helper()
	if rec, ok, err := b.Send(context.Background(), conv, key); err != nil || ok {
		t.Fatalf("%s: %+v, %v, %v", why, rec, ok, err)
	}
}
