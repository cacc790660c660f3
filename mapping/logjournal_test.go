package mapping

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// appendN appends records "<tag>0".."<tag>n-1" to c's "messages" log, one
// change each.
func appendN(t *testing.T, s Store, c *Conversation, tag string, n int) {
	t.Helper()
	for i := range n {
		if err := s.Commit(context.Background(), &Change{Of: c.ID, Append: []LogRecord{{Log: "messages", Data: fmt.Appendf(nil, "%s%d", tag, i)}}}); err != nil {
			t.Fatal(err)
		}
	}
}

// logOf is c's "messages" log, joined by spaces.
func logOf(t *testing.T, s Store, c *Conversation) string {
	t.Helper()
	recs, err := s.Log(context.Background(), c.ID, "messages", MaxLogRecords)
	if err != nil {
		t.Fatal(err)
	}
	return joined(recs)
}

// joined is records joined by spaces.
func joined(recs [][]byte) string {
	var b strings.Builder
	for i, r := range recs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.Write(r)
	}
	return b.String()
}

// compactAll moves the whole journal to bucketLogs.
func compactAll(t *testing.T, b *Bolt) {
	t.Helper()
	for {
		n, err := b.compactLogs(context.Background(), journalBatch)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

func TestBoltLogReadsTheJournalAndTheCompactedRecordsInOrder(t *testing.T) {
	b, path := openTemp(t)
	c := create(t, b, conv(alice, "d1", time.Unix(1, 0)))
	appendN(t, b, c, "a", 3)
	if got := logOf(t, b, c); got != "a0 a1 a2" {
		t.Fatalf("from the journal: %q", got)
	}
	compactAll(t, b)
	if n := keyCount(t, b, bucketLogJournal); n != 0 {
		t.Fatalf("the journal holds %d records after a compaction", n)
	}
	appendN(t, b, c, "b", 2)
	if got := logOf(t, b, c); got != "a0 a1 a2 b0 b1" {
		t.Fatalf("compacted, then the journal: %q", got)
	}
	b = reopen(t, b, path)
	if got := logOf(t, b, c); got != "a0 a1 a2 b0 b1" {
		t.Fatalf("after a restart: %q", got)
	}
	appendN(t, b, c, "c", 1)
	compactAll(t, b)
	if got := logOf(t, b, c); got != "a0 a1 a2 b0 b1 c0" {
		t.Fatalf("compacted after a restart: %q", got)
	}
}

func TestBoltLogRecordsAppendedBeforeTheJournalComeFirst(t *testing.T) {
	b, path := openTemp(t)
	c := create(t, b, conv(alice, "d1", time.Unix(1, 0)))
	// A file written before the journal: records in bucketLogs under its
	// own sequence, which has gone past the journal's.
	err := b.db.Update(func(tx *bolt.Tx) error {
		logs := bucket(tx, bucketLogs)
		if err := logs.SetSequence(500); err != nil {
			return err
		}
		for i := range 2 {
			seq, err := logs.NextSequence()
			if err != nil {
				return err
			}
			if err := logs.Put(binary.BigEndian.AppendUint64(logPrefix(c.ID, "messages"), seq), fmt.Appendf(nil, "old%d", i)); err != nil {
				return err
			}
		}
		return bucket(tx, bucketLogCounts).Put(logPrefix(c.ID, "messages"), u64(2))
	})
	if err != nil {
		t.Fatal(err)
	}
	b = reopen(t, b, path)
	appendN(t, b, c, "new", 2)
	if got := logOf(t, b, c); got != "old0 old1 new0 new1" {
		t.Fatalf("before compaction: %q", got)
	}
	compactAll(t, b)
	if got := logOf(t, b, c); got != "old0 old1 new0 new1" {
		t.Fatalf("after compaction: %q", got)
	}
}

func TestBoltLogCompactionKeepsTheNewestMaxLogRecords(t *testing.T) {
	ctx := context.Background()
	b, _ := openTemp(t)
	c := create(t, b, conv(alice, "d1", time.Unix(1, 0)))
	many := make([]LogRecord, MaxLogRecords+5)
	for i := range many {
		many[i] = LogRecord{Log: "messages", Data: fmt.Appendf(nil, "x%d", i)}
	}
	if err := b.Commit(ctx, &Change{Of: c.ID, Append: many}); err != nil {
		t.Fatal(err)
	}
	compactAll(t, b)
	if n := keyCount(t, b, bucketLogs); n != MaxLogRecords {
		t.Fatalf("bucketLogs holds %d records; want %d", n, MaxLogRecords)
	}
	recs, err := b.Log(ctx, c.ID, "messages", MaxLogRecords)
	if err != nil || len(recs) != MaxLogRecords || string(recs[0]) != "x5" || string(recs[len(recs)-1]) != fmt.Sprint("x", MaxLogRecords+4) {
		t.Fatalf("%d records, first %q, %v; want x5 to x%d", len(recs), recs[0], err, MaxLogRecords+4)
	}
}

func TestBoltLogOfARemovedConversationLeavesNothingBehind(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Unix(100000, 0)}
	b, path := openTemp(t, WithClock(clk.now), WithRetention(time.Hour))
	old := conv(alice, "d-old", clk.now())
	old.State, old.ClosedAt = StateClosed, clk.now().Add(-2*time.Hour)
	kept := conv(bob, "d-kept", clk.now())
	for _, c := range []*Conversation{old, kept} {
		create(t, b, c)
		appendN(t, b, c, "a", 2)
	}
	compactAll(t, b)
	for _, c := range []*Conversation{old, kept} {
		appendN(t, b, c, "b", 2) // in the journal when the sweep runs
	}
	if n, err := b.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("sweep removed %d, %v; want the old conversation", n, err)
	}
	if got := logOf(t, b, old); got != "" {
		t.Fatalf("the removed conversation's log: %q", got)
	}
	b = reopen(t, b, path)
	compactAll(t, b)
	if got := logOf(t, b, old); got != "" {
		t.Fatalf("the removed conversation's log, after a restart and a compaction: %q", got)
	}
	if got := logOf(t, b, kept); got != "a0 a1 b0 b1" {
		t.Fatalf("the kept conversation's log: %q", got)
	}
	if n := keyCount(t, b, bucketLogs); n != 4 {
		t.Fatalf("bucketLogs holds %d records; want the kept conversation's 4", n)
	}
}

func TestBoltLogCompactionDropsRecordsOfAConversationRemovedMeanwhile(t *testing.T) {
	b, _ := openTemp(t)
	c := create(t, b, conv(alice, "d1", time.Unix(1, 0)))
	appendN(t, b, c, "a", 1)
	// An append that names a conversation that is gone (a late write
	// after a sweep) is not kept.
	if err := b.Commit(context.Background(), &Change{Of: "gone", Append: []LogRecord{{Log: "messages", Data: []byte("late")}}}); err != nil {
		t.Fatal(err)
	}
	compactAll(t, b)
	if n := keyCount(t, b, bucketLogs); n != 1 {
		t.Fatalf("bucketLogs holds %d records; want 1", n)
	}
}

// TestBoltLogReadsDuringCompactionSeeEveryRecordOnce reads a log while
// writers append to it and compactions move it: every read is the log's
// records from the first, in order, none twice and none skipped.
func TestBoltLogReadsDuringCompactionSeeEveryRecordOnce(t *testing.T) {
	b, _ := openTemp(t)
	c := create(t, b, conv(alice, "d1", time.Unix(1, 0)))
	const total = 3 * journalBatch
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(done)
		for i := range total {
			if err := b.Commit(context.Background(), &Change{Of: c.ID, Append: []LogRecord{{Log: "messages", Data: fmt.Appendf(nil, "%d", i)}}}); err != nil {
				t.Error(err)
				return
			}
			if i%20 == 19 {
				if _, err := b.compactLogs(context.Background(), 15); err != nil {
					t.Error(err)
					return
				}
			}
		}
	})
	check := func() {
		recs, err := b.Log(context.Background(), c.ID, "messages", MaxLogRecords)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range recs {
			if string(r) != fmt.Sprint(i) {
				t.Fatalf("record %d of %d is %q, among %s", i, len(recs), r, joined(recs[max(0, i-3):min(len(recs), i+3)]))
			}
		}
	}
	for reading := true; reading; {
		select {
		case <-done:
			reading = false
		default:
		}
		check()
	}
	wg.Wait()
	if recs, _ := b.Log(context.Background(), c.ID, "messages", MaxLogRecords); len(recs) != total {
		t.Fatalf("%d records at the end; want %d", len(recs), total)
	}
	check()
}
