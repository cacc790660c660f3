package mapping

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// countingStore counts the lookups that reach the store and can be made to
// fail, so the tests see what the cache answered by itself.
type countingStore struct {
	Store
	lookups atomic.Int64
	fail    atomic.Bool
}

var errBroken = errors.New("broken")

func (s *countingStore) Session(ctx context.Context, k ConsumerKey) (SessionRef, error) {
	s.lookups.Add(1)
	if s.fail.Load() {
		return SessionRef{}, errBroken
	}
	return s.Store.Session(ctx, k)
}

func (s *countingStore) PutSession(ctx context.Context, k ConsumerKey, r SessionRef) error {
	if s.fail.Load() {
		return errBroken
	}
	return s.Store.PutSession(ctx, k, r)
}

func (s *countingStore) Conversation(ctx context.Context, id string) (*Conversation, error) {
	s.lookups.Add(1)
	return s.Store.Conversation(ctx, id)
}

func (s *countingStore) ConversationByDialog(ctx context.Context, d string) (*Conversation, error) {
	s.lookups.Add(1)
	return s.Store.ConversationByDialog(ctx, d)
}

func newCachedTest(t *testing.T, shared bool) (*Cached, *countingStore, *prometheus.Registry) {
	b, _ := openTemp(t)
	cs := &countingStore{Store: b}
	reg := prometheus.NewRegistry()
	return NewCached(cs, 16, shared, NewCacheMetrics(reg)), cs, reg
}

func TestCachedSessionLookupHitsAfterFirstMiss(t *testing.T) {
	ctx := context.Background()
	c, cs, reg := newCachedTest(t, false)
	ref := SessionRef{SessionID: "s1"}
	if err := cs.Store.PutSession(ctx, alice, ref); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		got, err := c.Session(ctx, alice)
		if err != nil || got != ref {
			t.Fatalf("session = %+v, %v", got, err)
		}
	}
	if n := cs.lookups.Load(); n != 1 {
		t.Fatalf("store lookups = %d, want 1", n)
	}
	if err := testutil.CollectAndCompare(reg, strings.NewReader(`
# HELP connector_proxy_registry_cache_lookups_total Registry lookups by record kind and whether the LRU cache answered (hit) or the store did (miss).
# TYPE connector_proxy_registry_cache_lookups_total counter
connector_proxy_registry_cache_lookups_total{kind="session",result="hit"} 2
connector_proxy_registry_cache_lookups_total{kind="session",result="miss"} 1
`)); err != nil {
		t.Fatal(err)
	}
}

func TestCachedStoreErrorIsAnErrorNotAMiss(t *testing.T) {
	ctx := context.Background()
	c, cs, _ := newCachedTest(t, false)
	cs.fail.Store(true)
	if _, err := c.Session(ctx, alice); !errors.Is(err, errBroken) {
		t.Fatalf("err = %v, want the store's error", err)
	}
	cs.fail.Store(false)
	if _, err := c.Session(ctx, alice); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after recovery err = %v, want ErrNotFound from the store", err)
	}
}

func TestCachedFailedWriteDoesNotRunAheadOfStore(t *testing.T) {
	ctx := context.Background()
	c, cs, _ := newCachedTest(t, false)
	if err := c.PutSession(ctx, alice, SessionRef{SessionID: "old"}); err != nil {
		t.Fatal(err)
	}
	cs.fail.Store(true)
	if err := c.PutSession(ctx, alice, SessionRef{SessionID: "new"}); err == nil {
		t.Fatal("write to a failing store succeeded")
	}
	cs.fail.Store(false)
	got, err := c.Session(ctx, alice)
	if err != nil || got.SessionID != "old" {
		t.Fatalf("session = %+v, %v; want the stored one", got, err)
	}
}

func TestCachedConversationsAreCopies(t *testing.T) {
	ctx := context.Background()
	c, _, _ := newCachedTest(t, false)
	cv := conv(alice, "d1", time.Unix(1, 0))
	if err := c.Commit(ctx, &Change{Conv: cv}); err != nil {
		t.Fatal(err)
	}
	got, _ := c.ConversationByDialog(ctx, "d1")
	got.State = StateClosed
	got.Attrs["features"] = "changed"
	again, _ := c.Conversation(ctx, cv.ID)
	if again.State != StateOpen || again.Attrs["features"] != "AUTO_MESSAGES" || again.Version != 1 {
		t.Fatalf("a caller's change leaked into the cache: %+v", again)
	}
}

func TestCachedConflictForgetsTheCachedVersion(t *testing.T) {
	ctx := context.Background()
	c, cs, _ := newCachedTest(t, false)
	cv := conv(alice, "d1", time.Unix(1, 0))
	if err := c.Commit(ctx, &Change{Conv: cv}); err != nil {
		t.Fatal(err)
	}
	// A change that went around the cache (only possible in tests: one
	// process holds the file), then a stale one through it.
	next := cv.Clone()
	next.State = StateClosed
	if err := cs.Store.Commit(ctx, &Change{Conv: next}); err != nil {
		t.Fatal(err)
	}
	stale := cv.Clone()
	if err := c.Commit(ctx, &Change{Conv: stale}); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale commit = %v", err)
	}
	got, err := c.Conversation(ctx, cv.ID)
	if err != nil || got.State != StateClosed || got.Version != 2 {
		t.Fatalf("after a conflict the cache answered %+v, %v; want the store's", got, err)
	}
}

func TestCachedSharedModeReadsConversationsFromStore(t *testing.T) {
	ctx := context.Background()
	c, cs, _ := newCachedTest(t, true)
	cv := conv(alice, "d1", time.Unix(1, 0))
	if err := c.Commit(ctx, &Change{Conv: cv}); err != nil {
		t.Fatal(err)
	}
	// Another replica closes the conversation behind this one's back.
	other := cv.Clone()
	other.State = StateClosed
	if err := cs.Store.Commit(ctx, &Change{Conv: other}); err != nil {
		t.Fatal(err)
	}
	got, err := c.ConversationByDialog(ctx, "d1")
	if err != nil || got.State != StateClosed {
		t.Fatalf("shared-mode lookup = %+v, %v; want the store's closed state", got, err)
	}
}

// In shared mode a conversation for a change may come from the cache: a
// copy another replica made stale is refused by the compare-and-set, and
// the next read for a change is the store's.
func TestCachedSharedModeChangesFromACopyTheCompareAndSetGuards(t *testing.T) {
	ctx := context.Background()
	c, cs, _ := newCachedTest(t, true)
	cv := conv(alice, "d1", time.Unix(1, 0))
	if err := c.Commit(ctx, &Change{Conv: cv}); err != nil {
		t.Fatal(err)
	}
	cached, err := c.ConversationToChange(ctx, cv.ID)
	if err != nil || cached.Version != 1 {
		t.Fatalf("for a change = %+v, %v; want version 1", cached, err)
	}
	other := cv.Clone()
	other.State = StateClosed
	if err := cs.Store.Commit(ctx, &Change{Conv: other}); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.ConversationToChange(ctx, cv.ID); got.Version != 1 {
		t.Fatalf("for a change after another replica's commit = version %d, want the cached 1", got.Version)
	}
	if got, _ := c.Conversation(ctx, cv.ID); got.State != StateClosed {
		t.Fatalf("a plain lookup in shared mode = %+v, want the store's", got)
	}
	err = c.Commit(ctx, &Change{Conv: cached.Clone(), Unchanged: true, Outbox: []*OutboxItem{item(cv, "stale")}})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("a change from the stale copy = %v, want ErrConflict", err)
	}
	got, err := c.ConversationToChange(ctx, cv.ID)
	if err != nil || got.Version != 2 || got.State != StateClosed {
		t.Fatalf("for a change after the conflict = %+v, %v; want the store's version 2", got, err)
	}
}
