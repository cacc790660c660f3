package mapping

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"
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
	b, err := OpenBolt(path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, path
}

var alice = ConsumerKey{Face: FaceConnectorAPI, Account: "acct", App: "app", Consumer: "alice"}

func conv(id, dialog string, owner ConsumerKey, at time.Time) *Conversation {
	return &Conversation{
		ID: id, Owner: owner, SessionID: "s-" + id, EngagementID: "e-" + id, DialogID: dialog,
		ParticipantID: "p", State: StateOpen, CreatedAt: at, Attrs: map[string]string{"features": "AUTO_MESSAGES"},
	}
}

func TestBoltMappingsSurviveReopen(t *testing.T) {
	ctx := context.Background()
	b, path := openTemp(t)
	ref := SessionRef{SessionID: "sess-1", ParticipantID: "part-1", DisplayName: "Alice", CreatedAt: time.Unix(10, 0).UTC()}
	if err := b.PutSession(ctx, alice, ref); err != nil {
		t.Fatal(err)
	}
	c := conv("c1", "d1", alice, time.Unix(20, 0).UTC())
	if err := b.PutConversation(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := b.Enqueue(ctx, &OutboxItem{Queue: "c1", Target: "http://x", Body: []byte(`{"a":1}`)}); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	b2, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	gotRef, err := b2.Session(ctx, alice)
	if err != nil || gotRef != ref {
		t.Fatalf("session after reopen = %+v, %v; want %+v", gotRef, err, ref)
	}
	for name, get := range map[string]func() (*Conversation, error){
		"by id":     func() (*Conversation, error) { return b2.Conversation(ctx, "c1") },
		"by dialog": func() (*Conversation, error) { return b2.ConversationByDialog(ctx, "d1") },
	} {
		got, err := get()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.EngagementID != "e-c1" || got.Attrs["features"] != "AUTO_MESSAGES" || !got.CreatedAt.Equal(c.CreatedAt) {
			t.Fatalf("%s: got %+v", name, got)
		}
	}
	heads, err := b2.Heads(ctx)
	if err != nil || len(heads) != 1 || string(heads[0].Body) != `{"a":1}` {
		t.Fatalf("outbox after reopen = %v, %v", heads, err)
	}
}

func TestBoltMarkSeenExpiresAfterTTL(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Unix(0, 0)}
	b, _ := openTemp(t, WithClock(clk.now))
	steps := []struct {
		advance time.Duration
		want    bool
	}{{0, true}, {0, false}, {59 * time.Minute, false}, {2 * time.Minute, true}, {0, false}}
	for i, s := range steps {
		clk.add(s.advance)
		first, err := b.MarkSeen(ctx, "msg:1", time.Hour)
		if err != nil || first != s.want {
			t.Fatalf("step %d: first = %v, %v; want %v", i, first, err, s.want)
		}
	}
	if err := b.ForgetSeen(ctx, "msg:1"); err != nil {
		t.Fatal(err)
	}
	if first, _ := b.MarkSeen(ctx, "msg:1", time.Hour); !first {
		t.Fatal("a forgotten key must be taken again")
	}
}

func TestBoltSweepRemovesOnlyExpired(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Unix(100000, 0)}
	b, _ := openTemp(t, WithClock(clk.now), WithRetention(time.Hour))
	open := conv("open", "d-open", alice, clk.now())
	closedOld := conv("old", "d-old", alice, clk.now())
	closedOld.State, closedOld.ClosedAt = StateClosed, clk.now().Add(-2*time.Hour)
	closedNew := conv("new", "d-new", alice, clk.now())
	closedNew.State, closedNew.ClosedAt = StateClosed, clk.now().Add(-time.Minute)
	for _, c := range []*Conversation{open, closedOld, closedNew} {
		if err := b.PutConversation(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	b.MarkSeen(ctx, "short", time.Minute)
	b.MarkSeen(ctx, "long", 24*time.Hour)
	clk.add(2 * time.Minute)
	n, err := b.Sweep(ctx)
	if err != nil || n != 2 {
		t.Fatalf("sweep removed %d, %v; want 2 (one key, one conversation)", n, err)
	}
	if _, err := b.ConversationByDialog(ctx, "d-old"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("old closed conversation still indexed: %v", err)
	}
	for _, id := range []string{"open", "new"} {
		if _, err := b.Conversation(ctx, id); err != nil {
			t.Fatalf("%s swept: %v", id, err)
		}
	}
	if first, _ := b.MarkSeen(ctx, "long", time.Hour); first {
		t.Fatal("unexpired key swept")
	}
}

// TestBoltStore runs the behaviour every Store shares; the tests below are
// Bolt's own (its file, its Sweep, its injected clock).
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
		got, err := b.Lease(ctx, "q", s.holder, time.Minute)
		if err != nil || got != s.want {
			t.Fatalf("step %d: lease by %s = %v, %v; want %v", i, s.holder, got, err, s.want)
		}
	}
}
