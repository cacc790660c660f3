package mapping

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func openTemp(t *testing.T, opts ...BoltOption) (*Bolt, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	return openAt(t, path, opts...), path
}

// openAt opens the store at path, closed when the test ends.
func openAt(t *testing.T, path string, opts ...BoltOption) *Bolt {
	t.Helper()
	b, err := OpenBolt(path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// reopen closes b and opens its file again, as a restart does.
func reopen(t *testing.T, b *Bolt, path string, opts ...BoltOption) *Bolt {
	t.Helper()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	return openAt(t, path, opts...)
}

// keyCount is how many keys a bucket of the file holds.
func keyCount(t *testing.T, b *Bolt, name string) int {
	t.Helper()
	n := 0
	if err := b.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket([]byte(name)).Stats().KeyN
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

var (
	alice = ConsumerKey{Face: FaceConnectorAPI, Account: "acct", App: "app", Consumer: "alice"}
	bob   = ConsumerKey{Face: FaceConnectorAPI, Account: "acct", App: "app", Consumer: "bob"}
)

// conv is a new conversation of owner, its id in owner's shard as the
// faces make them.
func conv(owner ConsumerKey, dialog string, at time.Time) *Conversation {
	id := NewConversationID(owner)
	return &Conversation{
		ID: id, Owner: owner, SessionID: "s-" + id, EngagementID: "e-" + id, DialogID: dialog,
		ParticipantID: "p", State: StateOpen, CreatedAt: at, Attrs: map[string]string{"features": "AUTO_MESSAGES"},
	}
}

func TestBoltStateSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	b, path := openTemp(t)
	ref := SessionRef{SessionID: "sess-1", ParticipantID: "part-1", DisplayName: "Alice", CreatedAt: time.Unix(10, 0).UTC()}
	if err := b.PutSession(ctx, alice, ref); err != nil {
		t.Fatal(err)
	}
	c := conv(alice, "d1", time.Unix(20, 0).UTC())
	if err := b.Commit(ctx, &Change{Conv: c, Outbox: []*OutboxItem{{Queue: c.ID, Target: "http://x", Body: []byte(`{"a":1}`)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Receive(ctx, &InboxEntry{Conversation: c.ID, Key: "m1", Event: []byte(`{}`)}, time.Hour); err != nil {
		t.Fatal(err)
	}
	b2 := reopen(t, b, path)
	if got, err := b2.Session(ctx, alice); err != nil || got != ref {
		t.Fatalf("session after reopen = %+v, %v; want %+v", got, err, ref)
	}
	got, err := b2.ConversationByDialog(ctx, "d1")
	if err != nil || got.ID != c.ID || got.Version != 1 || got.Attrs["features"] != "AUTO_MESSAGES" || !got.CreatedAt.Equal(c.CreatedAt) {
		t.Fatalf("conversation after reopen = %+v, %v", got, err)
	}
	heads, err := b2.Due(ctx, ShardOf(c.ID), time.Now(), 10)
	if err != nil || len(heads) != 1 || string(heads[0].Body) != `{"a":1}` {
		t.Fatalf("outbox after reopen = %v, %v", heads, err)
	}
	if entries, err := b2.InboxOf(ctx, c.ID, 10); err != nil || len(entries) != 1 {
		t.Fatalf("inbox after reopen = %v, %v", entries, err)
	}
	if dup, _ := b2.Receive(ctx, &InboxEntry{Conversation: c.ID, Key: "m1", Event: []byte(`{}`)}, time.Hour); !dup {
		t.Fatal("the dedupe key was lost on reopen")
	}
}

func TestBoltDedupeKeyExpiresAfterTTL(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Unix(0, 0)}
	b, _ := openTemp(t, WithClock(clk.now))
	c := conv(alice, "d1", time.Unix(0, 0))
	steps := []struct {
		advance time.Duration
		dup     bool
	}{{0, false}, {0, true}, {59 * time.Minute, true}, {2 * time.Minute, false}, {0, true}}
	for i, s := range steps {
		clk.add(s.advance)
		dup, err := b.Receive(ctx, &InboxEntry{Conversation: c.ID, Key: "msg:1", Event: []byte(`{}`)}, time.Hour)
		if err != nil || dup != s.dup {
			t.Fatalf("step %d: dup = %v, %v; want %v", i, dup, err, s.dup)
		}
	}
}

func TestBoltSweepRemovesOnlyExpired(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Unix(100000, 0)}
	b, _ := openTemp(t, WithClock(clk.now), WithRetention(time.Hour))
	open := conv(alice, "d-open", clk.now())
	closedOld := conv(alice, "d-old", clk.now())
	closedOld.State, closedOld.ClosedAt = StateClosed, clk.now().Add(-2*time.Hour)
	closedNew := conv(alice, "d-new", clk.now())
	closedNew.State, closedNew.ClosedAt = StateClosed, clk.now().Add(-time.Minute)
	for _, c := range []*Conversation{open, closedOld, closedNew} {
		if err := b.Commit(ctx, &Change{Conv: c}); err != nil {
			t.Fatal(err)
		}
	}
	for key, ttl := range map[string]time.Duration{"short": time.Minute, "long": 24 * time.Hour} {
		if _, err := b.Receive(ctx, &InboxEntry{Conversation: open.ID, Key: key, Event: []byte(`{}`)}, ttl); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := b.BeginSend(ctx, open.ID, "s", SendRecord{State: SendPending}, time.Minute); err != nil {
		t.Fatal(err)
	}
	clk.add(2 * time.Minute)
	n, err := b.Sweep(ctx)
	if err != nil || n != 3 {
		t.Fatalf("sweep removed %d, %v; want 3 (one key, one send record, one conversation)", n, err)
	}
	if _, err := b.ConversationByDialog(ctx, "d-old"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("old closed conversation still indexed: %v", err)
	}
	for _, c := range []*Conversation{open, closedNew} {
		if _, err := b.Conversation(ctx, c.ID); err != nil {
			t.Fatalf("%s swept: %v", c.DialogID, err)
		}
	}
	if dup, _ := b.Receive(ctx, &InboxEntry{Conversation: open.ID, Key: "long", Event: []byte(`{}`)}, time.Hour); !dup {
		t.Fatal("unexpired key swept")
	}
}

// TestBoltStore runs the behaviour every Store shares; the tests below are
// Bolt's own (its file, its Sweep, its injected clock, its group commit).
func TestBoltStore(t *testing.T) {
	testStore(t, storeBackend{
		open: func(t *testing.T) Store { b, _ := openTemp(t); return b },
		// One process per file: a second replica is the same value.
		peer: func(_ *testing.T, s Store) Store { return s },
	})
}

func TestBoltLeaseExpiresByTheInjectedClock(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Unix(0, 0)}
	b, _ := openTemp(t, WithClock(clk.now))
	steps := []struct {
		advance time.Duration
		holder  string
		want    bool
	}{
		{0, "r1", true},
		{59 * time.Second, "r2", false},
		{0, "r1", true}, // renewed for another minute from here
		{59 * time.Second, "r2", false},
		{2 * time.Second, "r2", true},
		{0, "r1", false},
	}
	for i, s := range steps {
		clk.add(s.advance)
		got, err := b.Lease(ctx, 7, s.holder, time.Minute)
		if err != nil || got != s.want {
			t.Fatalf("step %d: lease by %s = %v, %v; want %v", i, s.holder, got, err, s.want)
		}
	}
}

// TestBoltConcurrentWritesShareCommits shows the group commit: writers that
// arrive together share transactions (fewer commits than writes), and a
// write that is refused fails alone.
func TestBoltConcurrentWritesShareCommits(t *testing.T) {
	ctx := context.Background()
	var commits, writes atomic.Int64
	b, _ := openTemp(t, WithCommitObserver(func(n int, _ time.Duration) { commits.Add(1); writes.Add(int64(n)) }))
	c := conv(alice, "d1", time.Unix(1, 0))
	if err := b.Commit(ctx, &Change{Conv: c}); err != nil {
		t.Fatal(err)
	}
	commits.Store(0)
	writes.Store(0)
	const n = 256
	var wg sync.WaitGroup
	var dups atomic.Int64
	for i := range n {
		wg.Go(func() {
			// Every fourth event repeats the key before it: one of each
			// pair is refused, alone.
			key := fmt.Sprint("k", i)
			if i%4 == 3 {
				key = fmt.Sprint("k", i-1)
			}
			dup, err := b.Receive(ctx, &InboxEntry{Conversation: c.ID, Key: key, Event: []byte(`{}`)}, time.Hour)
			if err != nil {
				t.Error(err)
			}
			if dup {
				dups.Add(1)
			}
		})
	}
	wg.Wait()
	entries, err := b.InboxOf(ctx, c.ID, 2*n)
	if err != nil || dups.Load() != n/4 || len(entries) != n-n/4 {
		t.Fatalf("%d entries and %d duplicates of %d writes: %v", len(entries), dups.Load(), n, err)
	}
	if writes.Load() != n || commits.Load() >= n {
		t.Fatalf("%d writes in %d commits: no sharing", writes.Load(), commits.Load())
	}
	t.Logf("%d writes in %d commits", writes.Load(), commits.Load())
}

// Entries written before inbox entries had a trace context read back
// unchanged, and a damaged context is an error, not a misread body.
func TestInboxEntryEncodingReadsEntriesWithoutTrace(t *testing.T) {
	at := time.Unix(0, 1_700_000_000_123_456_789)
	k := queueKey("conv-1", 7)
	for _, e := range []*InboxEntry{
		{Key: "msg:1", Event: json.RawMessage(`{"eventType":"MESSAGES"}`), ReceivedAt: at},
		{Key: "", Event: json.RawMessage(` {"eventType":"MESSAGES"}`), ReceivedAt: at},
		{Key: "par:2", Event: json.RawMessage(`{}`), ReceivedAt: at, Trace: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\nk=v"},
	} {
		got, err := decodeEntry("conv-1", k, encodeEntry(e))
		if err != nil {
			t.Fatal(err)
		}
		if got.Key != e.Key || string(got.Event) != string(e.Event) || got.Trace != e.Trace || !got.ReceivedAt.Equal(at) || got.Seq != 7 {
			t.Fatalf("%+v read back as %+v", e, got)
		}
	}
	damaged := encodeEntry(&InboxEntry{Key: "k", Event: json.RawMessage(`{}`), ReceivedAt: at, Trace: "00-ab"})
	damaged = damaged[:len(damaged)-4] // the context says 5 bytes; 3 are left
	if _, err := decodeEntry("conv-1", k, damaged); err == nil {
		t.Fatal("a cut trace context decoded")
	}
}

func TestSendRecordsAreWrittenAsJSONMarshalWritesThem(t *testing.T) {
	at := time.Date(2026, 12, 1, 21, 13, 55, 123456789, time.UTC)
	for _, rec := range []SendRecord{
		{ProviderMessageID: "9f1c7f3e-5b7a-4c1e-9d2a-2f7c1b0e6a11", State: SendPending, Holder: "replica-1", At: at},
		{ProviderMessageID: "p", State: SendSent, MessageID: "m-1", MessageIndex: 42, Holder: "h", At: at.In(time.FixedZone("x", 3600))},
		{ProviderMessageID: "p", State: SendPending, At: time.Unix(0, 0)},
		{ProviderMessageID: "p\"<&>é", State: SendPending, Holder: "h\n", At: at},
		{State: SendPending, At: time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		got, err := appendLoggedSend(nil, []byte("conv|key"), rec, at)
		raw, werr := json.Marshal(rec)
		var js []byte
		if err == nil {
			_, js, _ = loggedKey(got)
		}
		if (err != nil) != (werr != nil) || (err == nil && string(js) != string(raw)) {
			t.Errorf("record %+v:\n got %s (%v)\nwant %s (%v)", rec, js, err, raw, werr)
		}
		if err == nil {
			if back, live, err := decodeLoggedSend(got, at.Add(-time.Second)); err != nil || !live || !back.At.Equal(rec.At) || back.ProviderMessageID != rec.ProviderMessageID {
				t.Errorf("read back %+v, %v, %v", back, live, err)
			}
		}
	}
}

func TestRecordVersionReadsWhatMarshalWrites(t *testing.T) {
	c := &Conversation{ID: "c1", Owner: ConsumerKey{Face: FaceConnectorAPI, App: "a", Account: "le1", Consumer: `x "version":9`},
		Version: 42, State: StateOpen, Attrs: map[string]string{"version": "7"}}
	raw, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := recordVersion(raw); !ok || v != 42 {
		t.Fatalf("recordVersion(%s) = %d, %v; want 42 read without decoding", raw, v, ok)
	}
	// Records not as Marshal writes them are left to json.Unmarshal.
	for _, raw := range []string{`{"Version":3}`, `{"version":1,"version":2}`, `{"vers\u0069on":4}`, `{"version":01}`,
		`{"version":1.5}`, `{"version":null}`, `{"version":1,}`, `{"version":5} x`, `{"id":"c"}`} {
		if v, ok := recordVersion([]byte(raw)); ok {
			t.Errorf("recordVersion(%s) = %d: taken, want it left to json.Unmarshal", raw, v)
		}
	}
}

// A sweep goes through the store in chunks (each removed in its own
// transaction), and finds every expired record however many chunks it
// takes, leaving the live ones between them.
func TestBoltSweepRemovesMoreThanAChunk(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Unix(100000, 0)}
	b, _ := openTemp(t, WithClock(clk.now))
	const expired, live = 2*sweepChunk + 500, 40
	err := b.db.Update(func(tx *bolt.Tx) error {
		seen := bucket(tx, bucketSeen)
		for i := range expired + live {
			until := clk.now().Add(time.Minute)
			if i%((expired+live)/live) == 0 && i/((expired+live)/live) < live {
				until = clk.now().Add(time.Hour) // spread among the expired
			}
			if err := seen.Put(fmt.Appendf(nil, "key-%05d", i), u64(uint64(until.UnixNano()))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	clk.add(2 * time.Minute)
	n, err := b.Sweep(ctx)
	if err != nil || n != expired {
		t.Fatalf("sweep removed %d, %v; want %d", n, err, expired)
	}
	err = b.db.View(func(tx *bolt.Tx) error {
		if got := bucket(tx, bucketSeen).Stats().KeyN; got != live {
			t.Errorf("%d keys left, want the %d live ones", got, live)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
