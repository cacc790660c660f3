package mapping

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// storeBackend opens Stores for the conformance suite: open gives a fresh,
// empty store; peer gives another Store value on the same backend as s (a
// second replica on one Redis; Bolt, one process per file, gives s itself).
type storeBackend struct {
	open func(t *testing.T) Store
	peer func(t *testing.T, s Store) Store
}

// waitFor polls cond until it holds or a bounded time has passed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func ids(cs []*Conversation) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

// drain delivers every queue's head until the outbox is empty and returns
// the bodies in the order each queue gave them, per queue.
func drain(t *testing.T, s Store) map[string][]string {
	t.Helper()
	ctx := context.Background()
	got := map[string][]string{}
	for range 1000 {
		heads, err := s.Heads(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(heads) == 0 {
			return got
		}
		for _, h := range heads {
			got[h.Queue] = append(got[h.Queue], string(h.Body))
			if err := s.Remove(ctx, h); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Fatal("outbox never drained")
	return nil
}

// testStore is the behaviour every Store shares.
func testStore(t *testing.T, b storeBackend) {
	ctx := context.Background()
	tests := []struct {
		name string
		run  func(t *testing.T, s Store)
	}{
		{"a session is read back, replaced and forgotten", func(t *testing.T, s Store) {
			ref := SessionRef{SessionID: "sess-1", ParticipantID: "part-1", DisplayName: "Alice", CreatedAt: time.Unix(10, 0).UTC()}
			if err := s.PutSession(ctx, alice, ref); err != nil {
				t.Fatal(err)
			}
			if got, err := s.Session(ctx, alice); err != nil || got != ref {
				t.Fatalf("session = %+v, %v; want %+v", got, err, ref)
			}
			ref.SessionID = "sess-2"
			if err := s.PutSession(ctx, alice, ref); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.Session(ctx, alice); got.SessionID != "sess-2" {
				t.Fatalf("after replace: %+v", got)
			}
			bob := alice
			bob.Consumer = "bob"
			if _, err := s.Session(ctx, bob); !errors.Is(err, ErrNotFound) {
				t.Fatalf("another consumer's session: %v", err)
			}
			if err := s.DeleteSession(ctx, alice); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Session(ctx, alice); !errors.Is(err, ErrNotFound) {
				t.Fatalf("after delete: %v", err)
			}
		}},
		{"lookups of missing keys are not found", func(t *testing.T, s Store) {
			checks := map[string]error{}
			_, checks["session"] = s.Session(ctx, alice)
			_, checks["conversation"] = s.Conversation(ctx, "nope")
			_, checks["dialog"] = s.ConversationByDialog(ctx, "nope")
			for name, err := range checks {
				if !errors.Is(err, ErrNotFound) || errors.Is(err, ErrUnavailable) {
					t.Errorf("%s: err = %v, want ErrNotFound", name, err)
				}
			}
			if got, err := s.Conversations(ctx, alice); err != nil || len(got) != 0 {
				t.Errorf("conversations of nobody = %v, %v", got, err)
			}
		}},
		{"a conversation is found by id and by dialog with all its fields", func(t *testing.T, s Store) {
			c := conv("c1", "d1", alice, time.Unix(20, 5).UTC())
			c.Channel, c.RefID = "web", "alice@example.com"
			if err := s.PutConversation(ctx, c); err != nil {
				t.Fatal(err)
			}
			for name, get := range map[string]func() (*Conversation, error){
				"by id":     func() (*Conversation, error) { return s.Conversation(ctx, "c1") },
				"by dialog": func() (*Conversation, error) { return s.ConversationByDialog(ctx, "d1") },
			} {
				got, err := get()
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if got.EngagementID != "e-c1" || got.Owner != alice || got.RefID != c.RefID ||
					got.Attrs["features"] != "AUTO_MESSAGES" || !got.CreatedAt.Equal(c.CreatedAt) {
					t.Fatalf("%s: got %+v", name, got)
				}
			}
			if err := s.PutConversation(ctx, &Conversation{DialogID: "x"}); err == nil {
				t.Fatal("a conversation without id must be refused")
			}
		}},
		{"a conversation without dialog is found by id only", func(t *testing.T, s Store) {
			c := conv("c1", "", alice, time.Unix(20, 0))
			if err := s.PutConversation(ctx, c); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Conversation(ctx, "c1"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.ConversationByDialog(ctx, ""); !errors.Is(err, ErrNotFound) {
				t.Fatalf("empty dialog: %v", err)
			}
		}},
		{"an owner's conversations come in creation order and updates keep one entry", func(t *testing.T, s Store) {
			bob := alice
			bob.Consumer = "bob"
			base := time.Unix(1000, 0)
			for i, id := range []string{"c3", "c1", "c2"} {
				if err := s.PutConversation(ctx, conv(id, "d"+id, alice, base.Add(time.Duration(i)*time.Second))); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.PutConversation(ctx, conv("b1", "db1", bob, base)); err != nil {
				t.Fatal(err)
			}
			got, err := s.Conversations(ctx, alice)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(ids(got)) != "[c3 c1 c2]" {
				t.Fatalf("alice's conversations = %v", ids(got))
			}
			c := got[0]
			c.State, c.CloseReason = StateClosed, "CONSUMER"
			if err := s.PutConversation(ctx, c); err != nil {
				t.Fatal(err)
			}
			again, err := s.Conversations(ctx, alice)
			if err != nil || len(again) != 3 || again[0].State != StateClosed || again[0].CloseReason != "CONSUMER" {
				t.Fatalf("after update: %v, %v", ids(again), err)
			}
			if got, _ := s.Conversations(ctx, bob); fmt.Sprint(ids(got)) != "[b1]" {
				t.Fatalf("bob's conversations = %v", ids(got))
			}
		}},
		{"a closed conversation within retention is still found", func(t *testing.T, s Store) {
			c := conv("c1", "d1", alice, time.Now())
			c.State, c.ClosedAt = StateClosed, time.Now()
			if err := s.PutConversation(ctx, c); err != nil {
				t.Fatal(err)
			}
			got, err := s.ConversationByDialog(ctx, "d1")
			if err != nil || got.Open() || !got.ClosedAt.Equal(c.ClosedAt) {
				t.Fatalf("closed conversation = %+v, %v", got, err)
			}
		}},
		{"a dedupe key is first once until forgotten", func(t *testing.T, s Store) {
			for i, want := range []bool{true, false, false} {
				first, err := s.MarkSeen(ctx, "msg:1", time.Hour)
				if err != nil || first != want {
					t.Fatalf("mark %d: first = %v, %v; want %v", i, first, err, want)
				}
			}
			if first, _ := s.MarkSeen(ctx, "msg:2", time.Hour); !first {
				t.Fatal("another key must be first")
			}
			if err := s.ForgetSeen(ctx, "msg:1"); err != nil {
				t.Fatal(err)
			}
			if err := s.ForgetSeen(ctx, "never"); err != nil {
				t.Fatalf("forgetting an unknown key: %v", err)
			}
			if first, _ := s.MarkSeen(ctx, "msg:1", time.Hour); !first {
				t.Fatal("a forgotten key must be taken again")
			}
		}},
		{"a dedupe key is first again after its ttl", func(t *testing.T, s Store) {
			if first, err := s.MarkSeen(ctx, "short", 30*time.Millisecond); err != nil || !first {
				t.Fatalf("first mark = %v, %v", first, err)
			}
			waitFor(t, "key expires", func() bool {
				first, err := s.MarkSeen(ctx, "short", time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				return first
			})
		}},
		{"of replicas marking one key at once exactly one is first", func(t *testing.T, s Store) {
			stores := []Store{s, b.peer(t, s)}
			for round := range 20 {
				key := fmt.Sprintf("race:%d", round)
				var wg sync.WaitGroup
				var mu sync.Mutex
				firsts := 0
				for i := range 8 {
					wg.Go(func() {
						first, err := stores[i%2].MarkSeen(ctx, key, time.Hour)
						if err != nil {
							t.Error(err)
						}
						if first {
							mu.Lock()
							firsts++
							mu.Unlock()
						}
					})
				}
				wg.Wait()
				if firsts != 1 {
					t.Fatalf("round %d: %d marks were first, want 1", round, firsts)
				}
			}
		}},
		{"the outbox delivers each queue in order", func(t *testing.T, s Store) {
			for i := range 3 {
				for _, q := range []string{"a", "b"} {
					if err := s.Enqueue(ctx, &OutboxItem{Queue: q, Target: "http://x/" + q, Body: fmt.Appendf(nil, "%s%d", q, i)}); err != nil {
						t.Fatal(err)
					}
				}
			}
			if d, err := s.Depth(ctx); err != nil || d != 6 {
				t.Fatalf("depth = %d, %v; want 6", d, err)
			}
			heads, err := s.Heads(ctx)
			if err != nil || len(heads) != 2 {
				t.Fatalf("heads = %v, %v", heads, err)
			}
			for _, h := range heads {
				if string(h.Body) != h.Queue+"0" || h.Target != "http://x/"+h.Queue {
					t.Fatalf("head of %s = %+v", h.Queue, h)
				}
			}
			got := drain(t, s)
			if fmt.Sprint(got) != "map[a:[a0 a1 a2] b:[b0 b1 b2]]" {
				t.Fatalf("delivery = %v", got)
			}
			if d, _ := s.Depth(ctx); d != 0 {
				t.Fatalf("depth after drain = %d", d)
			}
		}},
		{"an enqueue of several items is atomic and numbers them in order", func(t *testing.T, s Store) {
			items := []*OutboxItem{{Queue: "a", Body: []byte("1")}, {Queue: "b", Body: []byte("2")}, {Queue: "a", Body: []byte("3")}}
			if err := s.Enqueue(ctx, items...); err != nil {
				t.Fatal(err)
			}
			if !(items[0].Seq > 0 && items[0].Seq < items[1].Seq && items[1].Seq < items[2].Seq) {
				t.Fatalf("seqs = %d %d %d", items[0].Seq, items[1].Seq, items[2].Seq)
			}
			heads, _ := s.Heads(ctx)
			for _, h := range heads {
				want := map[string]uint64{"a": items[0].Seq, "b": items[1].Seq}[h.Queue]
				if h.Seq != want {
					t.Fatalf("head of %s has seq %d, want %d", h.Queue, h.Seq, want)
				}
			}
			if err := s.Enqueue(ctx, &OutboxItem{Queue: "c"}, &OutboxItem{}); err == nil {
				t.Fatal("an item without queue must be refused")
			}
			if d, _ := s.Depth(ctx); d != 3 {
				t.Fatalf("depth after a refused batch = %d, want 3", d)
			}
			if err := s.Enqueue(ctx); err != nil {
				t.Fatalf("empty enqueue: %v", err)
			}
		}},
		{"replicas enqueueing to one queue get distinct sequences", func(t *testing.T, s Store) {
			stores := []Store{s, b.peer(t, s)}
			var wg sync.WaitGroup
			for i := range 20 {
				wg.Go(func() {
					if err := stores[i%2].Enqueue(ctx, &OutboxItem{Queue: "q", Body: fmt.Appendf(nil, "%d", i)}); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			var seqs []uint64
			for range 20 {
				heads, err := s.Heads(ctx)
				if err != nil || len(heads) != 1 {
					t.Fatalf("heads = %v, %v", heads, err)
				}
				seqs = append(seqs, heads[0].Seq)
				if err := stores[1].Remove(ctx, heads[0]); err != nil {
					t.Fatal(err)
				}
			}
			if !slices.IsSorted(seqs) || len(slices.Compact(slices.Clone(seqs))) != 20 {
				t.Fatalf("seqs in delivery order = %v", seqs)
			}
		}},
		{"a retry is stored and a removed item is gone for good", func(t *testing.T, s Store) {
			it := &OutboxItem{Queue: "q", Body: []byte("x"), Headers: map[string]string{"x-liveperson-signature": "sha1=abc"}, Kind: "ms.MessagingEventNotification"}
			if err := s.Enqueue(ctx, it); err != nil {
				t.Fatal(err)
			}
			it.Attempts, it.NextAttempt = 3, time.Unix(500, 0).UTC()
			if err := s.Retry(ctx, it); err != nil {
				t.Fatal(err)
			}
			heads, err := s.Heads(ctx)
			if err != nil || len(heads) != 1 {
				t.Fatalf("heads = %v, %v", heads, err)
			}
			h := heads[0]
			if h.Seq != it.Seq || h.Attempts != 3 || !h.NextAttempt.Equal(it.NextAttempt) || h.Headers["x-liveperson-signature"] != "sha1=abc" || h.Kind != it.Kind {
				t.Fatalf("head after retry = %+v", h)
			}
			for range 2 {
				if err := s.Remove(ctx, it); err != nil {
					t.Fatalf("remove: %v", err)
				}
			}
			if err := s.Retry(ctx, it); !errors.Is(err, ErrNotFound) {
				t.Fatalf("retry of removed item = %v", err)
			}
			if heads, _ := s.Heads(ctx); len(heads) != 0 {
				t.Fatalf("heads after remove = %v", heads)
			}
			if d, _ := s.Depth(ctx); d != 0 {
				t.Fatalf("depth = %d after removing twice", d)
			}
		}},
		{"a lease is held by one holder at a time until released", func(t *testing.T, s Store) {
			other := b.peer(t, s)
			steps := []struct {
				store  Store
				holder string
				want   bool
			}{
				{s, "r1", true},
				{s, "r1", true}, // renew
				{other, "r2", false},
				{other, "r1", true}, // the holder, whichever Store value it uses
			}
			for i, st := range steps {
				got, err := st.store.Lease(ctx, "q", st.holder, time.Hour)
				if err != nil || got != st.want {
					t.Fatalf("step %d: lease by %s = %v, %v; want %v", i, st.holder, got, err, st.want)
				}
			}
			if ok, _ := s.Lease(ctx, "other-queue", "r2", time.Hour); !ok {
				t.Fatal("leases of different queues are independent")
			}
			if err := other.Release(ctx, "q", "r2"); err != nil {
				t.Fatal(err)
			}
			if ok, _ := other.Lease(ctx, "q", "r2", time.Hour); ok {
				t.Fatal("a release by a non-holder must not free the lease")
			}
			if err := s.Release(ctx, "q", "r1"); err != nil {
				t.Fatal(err)
			}
			if ok, err := other.Lease(ctx, "q", "r2", time.Hour); err != nil || !ok {
				t.Fatalf("after release: lease = %v, %v", ok, err)
			}
			for _, bad := range []struct {
				queue, holder string
				ttl           time.Duration
			}{{"", "r", time.Second}, {"q", "", time.Second}, {"q", "r", 0}} {
				if _, err := s.Lease(ctx, bad.queue, bad.holder, bad.ttl); err == nil || errors.Is(err, ErrUnavailable) {
					t.Errorf("lease(%q, %q, %s) = %v, want a usage error", bad.queue, bad.holder, bad.ttl, err)
				}
			}
		}},
		{"an expired lease is taken over by another holder", func(t *testing.T, s Store) {
			if ok, err := s.Lease(ctx, "q", "dead", 300*time.Millisecond); err != nil || !ok {
				t.Fatalf("lease = %v, %v", ok, err)
			}
			if ok, _ := s.Lease(ctx, "q", "alive", time.Hour); ok {
				t.Fatal("taken before expiry")
			}
			waitFor(t, "lease taken over", func() bool {
				ok, err := s.Lease(ctx, "q", "alive", time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				return ok
			})
			if ok, _ := s.Lease(ctx, "q", "dead", time.Hour); ok {
				t.Fatal("the old holder must not get it back")
			}
		}},
		{"a closed store is unavailable, not not-found", func(t *testing.T, s Store) {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			calls := map[string]func() error{
				"ping":         func() error { return s.Ping(ctx) },
				"session":      func() error { _, err := s.Session(ctx, alice); return err },
				"conversation": func() error { _, err := s.Conversation(ctx, "c1"); return err },
				"dialog":       func() error { _, err := s.ConversationByDialog(ctx, "d1"); return err },
				"mark seen":    func() error { _, err := s.MarkSeen(ctx, "k", time.Hour); return err },
				"enqueue":      func() error { return s.Enqueue(ctx, &OutboxItem{Queue: "q"}) },
				"heads":        func() error { _, err := s.Heads(ctx); return err },
				"lease":        func() error { _, err := s.Lease(ctx, "q", "r", time.Second); return err },
			}
			for name, call := range calls {
				if err := call(); !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrNotFound) {
					t.Errorf("%s: err = %v, want ErrUnavailable", name, err)
				}
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, b.open(t)) })
	}
}

// benchStore measures the calls on the hot paths: the relay's lookup of a
// dialog, the write of a conversation, the dedupe of a webhook and the
// enqueue of a notification.
func benchStore(b *testing.B, s Store) {
	ctx := context.Background()
	for i := range 1000 {
		if err := s.PutConversation(ctx, conv(fmt.Sprint("c", i), fmt.Sprint("d", i), alice, time.Unix(int64(i), 0))); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("ConversationByDialog", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := s.ConversationByDialog(ctx, fmt.Sprint("d", i%1000)); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("PutConversation", func(b *testing.B) {
		c := conv("put", "d-put", alice, time.Unix(1, 0))
		for b.Loop() {
			if err := s.PutConversation(ctx, c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("MarkSeen", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := s.MarkSeen(ctx, fmt.Sprint("msg:", i), time.Hour); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("Enqueue", func(b *testing.B) {
		body := make([]byte, 512)
		for b.Loop() {
			if err := s.Enqueue(ctx, &OutboxItem{Queue: "q", Target: "https://connector.example/notify", Body: body}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
