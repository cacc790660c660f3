package mapping

import (
	"context"
	"encoding/json"
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

// create commits a new conversation and fails the test otherwise.
func create(t *testing.T, s Store, c *Conversation) *Conversation {
	t.Helper()
	if err := s.Commit(context.Background(), &Change{Conv: c}); err != nil {
		t.Fatalf("create %s: %v", c.ID, err)
	}
	return c
}

// item is an outbox item of conv's queue.
func item(c *Conversation, body string) *OutboxItem {
	return &OutboxItem{Queue: c.ID, Face: FaceConnectorAPI, Target: "http://x/" + c.ID, Body: []byte(body), Kind: "k"}
}

// drainOutbox delivers every due head of every shard until the outbox is
// empty and returns the bodies of each queue in delivery order.
func drainOutbox(t *testing.T, s Store) map[string][]string {
	t.Helper()
	ctx := context.Background()
	got := map[string][]string{}
	for range 1000 {
		n := 0
		for shard := range Shards {
			heads, err := s.Due(ctx, shard, time.Now().Add(time.Hour), 100)
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range heads {
				got[h.Queue] = append(got[h.Queue], string(h.Body))
				if _, err := s.Remove(ctx, h); err != nil {
					t.Fatal(err)
				}
				n++
			}
		}
		if n == 0 {
			return got
		}
	}
	t.Fatal("outbox never drained")
	return nil
}

// event is an inbox entry of conv with a dedupe key.
func event(c *Conversation, key string) *InboxEntry {
	return &InboxEntry{Conversation: c.ID, Key: key, Event: json.RawMessage(`{"eventType":"MESSAGES","k":"` + key + `"}`)}
}

func keys(es []*InboxEntry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Key)
	}
	return out
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
			_, checks["conversation"] = s.Conversation(ctx, NewConversationID(alice))
			_, checks["dialog"] = s.ConversationByDialog(ctx, "nope")
			for name, err := range checks {
				if !errors.Is(err, ErrNotFound) || errors.Is(err, ErrUnavailable) {
					t.Errorf("%s: err = %v, want ErrNotFound", name, err)
				}
			}
			if got, err := s.Conversations(ctx, alice); err != nil || len(got) != 0 {
				t.Errorf("conversations of nobody = %v, %v", got, err)
			}
			if _, ok, err := s.Send(ctx, NewConversationID(alice), "k"); ok || err != nil {
				t.Errorf("send record of nothing: %v, %v", ok, err)
			}
		}},
		{"a new conversation is found by id and by dialog with all its fields", func(t *testing.T, s Store) {
			c := conv(alice, "d1", time.Unix(20, 5).UTC())
			c.Channel, c.RefID = "web", "alice@example.com"
			create(t, s, c)
			if c.Version != 1 {
				t.Fatalf("version after create = %d, want 1", c.Version)
			}
			for name, get := range map[string]func() (*Conversation, error){
				"by id":     func() (*Conversation, error) { return s.Conversation(ctx, c.ID) },
				"by dialog": func() (*Conversation, error) { return s.ConversationByDialog(ctx, "d1") },
			} {
				got, err := get()
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if got.ID != c.ID || got.Version != 1 || got.EngagementID != c.EngagementID || got.Owner != alice || got.RefID != c.RefID ||
					got.Attrs["features"] != "AUTO_MESSAGES" || !got.CreatedAt.Equal(c.CreatedAt) {
					t.Fatalf("%s: got %+v", name, got)
				}
			}
			if err := s.Commit(ctx, &Change{Conv: &Conversation{DialogID: "x"}}); err == nil {
				t.Fatal("a conversation without id must be refused")
			}
		}},
		{"a change written over an older version is refused and writes nothing", func(t *testing.T, s Store) {
			c := create(t, s, conv(alice, "d1", time.Unix(1, 0)))
			stale := c.Clone()
			next := c.Clone()
			next.State = StateClosed
			if err := s.Commit(ctx, &Change{Conv: next, Outbox: []*OutboxItem{item(c, "close")}}); err != nil {
				t.Fatal(err)
			}
			stale.Attrs["agents"] = "x"
			err := s.Commit(ctx, &Change{Conv: stale, Outbox: []*OutboxItem{item(c, "stale")}})
			if !errors.Is(err, ErrConflict) {
				t.Fatalf("stale commit = %v, want ErrConflict", err)
			}
			got, _ := s.Conversation(ctx, c.ID)
			if got.Version != 2 || got.State != StateClosed || got.Attrs["agents"] != "" {
				t.Fatalf("after a refused change: %+v", got)
			}
			if out := drainOutbox(t, s); fmt.Sprint(out[c.ID]) != "[close]" {
				t.Fatalf("outbox = %v, want only the committed change's item", out)
			}
			again := conv(alice, "d1", time.Unix(1, 0))
			again.ID = c.ID
			if err := s.Commit(ctx, &Change{Conv: again}); !errors.Is(err, ErrConflict) {
				t.Fatalf("creating an existing conversation = %v, want ErrConflict", err)
			}
		}},
		{"an unchanged conversation is compared, not rewritten, and keeps its version", func(t *testing.T, s Store) {
			c := create(t, s, conv(alice, "d1", time.Unix(1, 0)))
			read := c.Clone()
			if err := s.Commit(ctx, &Change{Conv: read, Unchanged: true, Outbox: []*OutboxItem{item(c, "only notifies")}}); err != nil {
				t.Fatal(err)
			}
			if read.Version != 1 {
				t.Fatalf("version after an unchanged commit = %d, want 1", read.Version)
			}
			next := c.Clone()
			next.State = StateClosed
			if err := s.Commit(ctx, &Change{Conv: next, Outbox: []*OutboxItem{item(c, "close")}}); err != nil {
				t.Fatal(err)
			}
			err := s.Commit(ctx, &Change{Conv: read, Unchanged: true, Outbox: []*OutboxItem{item(c, "stale")}})
			if !errors.Is(err, ErrConflict) {
				t.Fatalf("unchanged commit over an older version = %v, want ErrConflict", err)
			}
			got, _ := s.Conversation(ctx, c.ID)
			if got.Version != 2 || got.State != StateClosed {
				t.Fatalf("after the unchanged commits: %+v", got)
			}
			if out := drainOutbox(t, s); fmt.Sprint(out[c.ID]) != "[only notifies close]" {
				t.Fatalf("outbox = %v, want the two committed changes' items", out)
			}
			if err := s.Commit(ctx, &Change{Conv: conv(alice, "d2", time.Unix(1, 0)), Unchanged: true}); err == nil {
				t.Fatal("an unchanged conversation that is not stored must be refused")
			}
		}},
		{"of replicas changing one version at once exactly one wins", func(t *testing.T, s Store) {
			stores := []Store{s, b.peer(t, s)}
			c := create(t, s, conv(alice, "d1", time.Unix(1, 0)))
			var wg sync.WaitGroup
			var mu sync.Mutex
			wins := 0
			for i := range 8 {
				wg.Go(func() {
					next := c.Clone()
					next.Attrs["by"] = fmt.Sprint(i)
					err := stores[i%2].Commit(ctx, &Change{Conv: next})
					switch {
					case err == nil:
						mu.Lock()
						wins++
						mu.Unlock()
					case !errors.Is(err, ErrConflict):
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if wins != 1 {
				t.Fatalf("%d commits over version 1 won, want 1", wins)
			}
		}},
		{"Update retries a change that met a newer version", func(t *testing.T, s Store) {
			c := create(t, s, conv(alice, "d1", time.Unix(1, 0)))
			calls := 0
			got, err := Update(ctx, s, c.ID, func(cur *Conversation) ([]*OutboxItem, error) {
				calls++
				if calls == 1 { // another change lands between the read and the commit
					other := cur.Clone()
					other.Attrs["other"] = "1"
					if err := s.Commit(ctx, &Change{Conv: other}); err != nil {
						t.Fatal(err)
					}
				}
				cur.Attrs["mine"] = "1"
				return []*OutboxItem{item(cur, fmt.Sprint("n", calls))}, nil
			})
			if err != nil || calls != 2 || got.Version != 3 || got.Attrs["other"] != "1" || got.Attrs["mine"] != "1" {
				t.Fatalf("update = %+v, %v after %d calls", got, err, calls)
			}
			if out := drainOutbox(t, s); fmt.Sprint(out[c.ID]) != "[n2]" {
				t.Fatalf("outbox = %v, want the item of the change that committed", out)
			}
			same, err := Update(ctx, s, c.ID, func(*Conversation) ([]*OutboxItem, error) { return nil, ErrNoChange })
			if err != nil || same.Version != 3 {
				t.Fatalf("no change = %+v, %v", same, err)
			}
		}},
		{"an owner's conversations come in creation order and updates keep one entry", func(t *testing.T, s Store) {
			base := time.Unix(1000, 0)
			var made []*Conversation
			for i := range 3 {
				made = append(made, create(t, s, conv(alice, fmt.Sprint("d", i), base.Add(time.Duration(2-i)*time.Second))))
			}
			create(t, s, conv(bob, "db", base))
			got, err := s.Conversations(ctx, alice)
			if err != nil {
				t.Fatal(err)
			}
			want := []string{made[2].ID, made[1].ID, made[0].ID}
			if !slices.Equal(ids(got), want) {
				t.Fatalf("alice's conversations = %v, want %v", ids(got), want)
			}
			c := got[0]
			c.State, c.CloseReason = StateClosed, "CONSUMER"
			if err := s.Commit(ctx, &Change{Conv: c}); err != nil {
				t.Fatal(err)
			}
			again, err := s.Conversations(ctx, alice)
			if err != nil || len(again) != 3 || again[0].State != StateClosed || again[0].CloseReason != "CONSUMER" {
				t.Fatalf("after update: %v, %v", ids(again), err)
			}
			if got, _ := s.Conversations(ctx, bob); len(got) != 1 {
				t.Fatalf("bob's conversations = %v", ids(got))
			}
		}},
		{"an inbox keeps each conversation's events in order and drops duplicates", func(t *testing.T, s Store) {
			c := create(t, s, conv(alice, "d1", time.Unix(1, 0)))
			other := create(t, s, conv(alice, "d2", time.Unix(2, 0)))
			for _, k := range []string{"m1", "m2", "m1", "m3"} {
				if _, err := s.Receive(ctx, event(c, k), time.Hour); err != nil {
					t.Fatal(err)
				}
			}
			if dup, err := s.Receive(ctx, event(other, "o1"), time.Hour); dup || err != nil {
				t.Fatalf("other conversation's event: dup %v, %v", dup, err)
			}
			if dup, err := s.Receive(ctx, event(c, "m2"), time.Hour); !dup || err != nil {
				t.Fatalf("a re-sent event: dup %v, %v", dup, err)
			}
			got, err := s.InboxOf(ctx, c.ID, 10)
			if err != nil || fmt.Sprint(keys(got)) != "[m1 m2 m3]" {
				t.Fatalf("inbox = %v, %v", keys(got), err)
			}
			if !(got[0].Seq < got[1].Seq && got[1].Seq < got[2].Seq) || got[0].ReceivedAt.IsZero() || string(got[2].Event) != string(event(c, "m3").Event) {
				t.Fatalf("entries = %+v", got)
			}
			if first, _ := s.InboxOf(ctx, c.ID, 2); len(first) != 2 {
				t.Fatalf("limit 2 gave %d", len(first))
			}
			// Events without a key are never duplicates.
			for range 2 {
				if dup, _ := s.Receive(ctx, &InboxEntry{Conversation: other.ID, Event: json.RawMessage(`{}`)}, time.Hour); dup {
					t.Fatal("an event without key taken for a duplicate")
				}
			}
			if got, _ := s.InboxOf(ctx, other.ID, 10); len(got) != 3 {
				t.Fatalf("other's inbox = %v", keys(got))
			}
		}},
		{"of replicas receiving one event at once exactly one keeps it", func(t *testing.T, s Store) {
			stores := []Store{s, b.peer(t, s)}
			c := create(t, s, conv(alice, "d1", time.Unix(1, 0)))
			for round := range 10 {
				key := fmt.Sprint("race:", round)
				var wg sync.WaitGroup
				var mu sync.Mutex
				kept := 0
				for i := range 8 {
					wg.Go(func() {
						dup, err := stores[i%2].Receive(ctx, event(c, key), time.Hour)
						if err != nil {
							t.Error(err)
						}
						if !dup {
							mu.Lock()
							kept++
							mu.Unlock()
						}
					})
				}
				wg.Wait()
				if kept != 1 {
					t.Fatalf("round %d: %d copies kept, want 1", round, kept)
				}
			}
			if got, _ := s.InboxOf(ctx, c.ID, 100); len(got) != 10 {
				t.Fatalf("inbox holds %d, want 10", len(got))
			}
		}},
		{"a commit applies events, writes their notifications and the new state at once", func(t *testing.T, s Store) {
			c := create(t, s, conv(alice, "d1", time.Unix(1, 0)))
			for _, k := range []string{"m1", "m2", "m3"} {
				if _, err := s.Receive(ctx, event(c, k), time.Hour); err != nil {
					t.Fatal(err)
				}
			}
			shard := ShardOf(c.ID)
			if ready, err := s.ReadyInbox(ctx, shard, time.Now().Add(time.Second), 10); err != nil || !slices.Contains(ready, c.ID) {
				t.Fatalf("ready = %v, %v", ready, err)
			}
			entries, _ := s.InboxOf(ctx, c.ID, 2)
			next := c.Clone()
			next.Attrs["agents"] = "a1"
			items := []*OutboxItem{item(c, "n1"), item(c, "n2")}
			if err := s.Commit(ctx, &Change{Conv: next, Outbox: items, Done: entries}); err != nil {
				t.Fatal(err)
			}
			if items[0].Seq == 0 || items[0].Seq >= items[1].Seq {
				t.Fatalf("outbox seqs = %d, %d", items[0].Seq, items[1].Seq)
			}
			left, _ := s.InboxOf(ctx, c.ID, 10)
			if fmt.Sprint(keys(left)) != "[m3]" {
				t.Fatalf("inbox after applying two = %v", keys(left))
			}
			if ready, _ := s.ReadyInbox(ctx, shard, time.Now().Add(time.Second), 10); !slices.Contains(ready, c.ID) {
				t.Fatal("a queue with an entry left must stay ready")
			}
			if err := s.Commit(ctx, &Change{Conv: next.Clone(), Done: left}); err != nil {
				t.Fatal(err)
			}
			if ready, _ := s.ReadyInbox(ctx, shard, time.Now().Add(time.Second), 10); slices.Contains(ready, c.ID) {
				t.Fatal("an empty queue must leave the ready index")
			}
			if d, _ := s.Depth(ctx); d != 2 {
				t.Fatalf("depth = %d, want 2", d)
			}
			if got, _ := s.Conversation(ctx, c.ID); got.Version != 3 || got.Attrs["agents"] != "a1" {
				t.Fatalf("conversation = %+v", got)
			}
		}},
		{"an event's and a notification's trace context are kept with them", func(t *testing.T, s Store) {
			const tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
			c := create(t, s, conv(alice, "d1", time.Unix(1, 0)))
			traced := event(c, "m1")
			traced.Trace = tp + "\nvendor=opaque value,other=1"
			if _, err := s.Receive(ctx, traced, time.Hour); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Receive(ctx, event(c, "m2"), time.Hour); err != nil { // untraced beside it
				t.Fatal(err)
			}
			got, err := s.InboxOf(ctx, c.ID, 10)
			if err != nil || len(got) != 2 {
				t.Fatalf("inbox = %v, %v", got, err)
			}
			if got[0].Trace != traced.Trace || string(got[0].Event) != string(traced.Event) || got[0].Key != "m1" {
				t.Fatalf("traced entry read back as %+v (event %s)", got[0], got[0].Event)
			}
			if got[1].Trace != "" || string(got[1].Event) != string(event(c, "m2").Event) {
				t.Fatalf("untraced entry read back as %+v (event %s)", got[1], got[1].Event)
			}
			it := item(c, "n1")
			it.Trace = tp
			it.Expires = time.Now().Add(time.Hour)
			next := c.Clone()
			if err := s.Commit(ctx, &Change{Conv: next, Outbox: []*OutboxItem{it, item(c, "n2")}, Done: got}); err != nil {
				t.Fatal(err)
			}
			head, err := s.Head(ctx, c.ID)
			if err != nil || head == nil || head.Trace != tp {
				t.Fatalf("head = %+v, %v; want trace %q", head, err, tp)
			}
			head.Attempts, head.NextAttempt, head.LastError = 1, time.Now(), "503"
			if err := s.Retry(ctx, head); err != nil {
				t.Fatal(err)
			}
			if again, _ := s.Head(ctx, c.ID); again == nil || again.Trace != tp || again.Attempts != 1 {
				t.Fatalf("after a retry the head is %+v", again)
			}
			if _, err := s.Remove(ctx, head); err != nil {
				t.Fatal(err)
			}
			if second, _ := s.Head(ctx, c.ID); second == nil || second.Trace != "" || string(second.Body) != "n2" {
				t.Fatalf("untraced item read back as %+v", second)
			}
		}},
		{"an event applied as it arrives records its key, and waits behind queued events", func(t *testing.T, s Store) {
			c := create(t, s, conv(alice, "d1", time.Unix(1, 0)))
			next := c.Clone()
			next.Attrs["log"] = "m1"
			if err := s.Commit(ctx, &Change{Conv: next, Outbox: []*OutboxItem{item(c, "n1")}, Applied: event(c, "m1"), AppliedTTL: time.Hour}); err != nil {
				t.Fatal(err)
			}
			again := next.Clone()
			again.Attrs["log"] = "m1,m1"
			err := s.Commit(ctx, &Change{Conv: again, Outbox: []*OutboxItem{item(c, "n1 again")}, Applied: event(c, "m1"), AppliedTTL: time.Hour})
			if !errors.Is(err, ErrDuplicate) {
				t.Fatalf("applying the same event twice = %v, want ErrDuplicate", err)
			}
			if dup, _ := s.Receive(ctx, event(c, "m1"), time.Hour); !dup {
				t.Fatal("a re-send of an event applied at once is taken again")
			}
			// Once an event waits in the inbox, the next cannot overtake it.
			if _, err := s.Receive(ctx, event(c, "m2"), time.Hour); err != nil {
				t.Fatal(err)
			}
			third := again.Clone()
			third.Attrs["log"] = "m1,m3"
			if err := s.Commit(ctx, &Change{Conv: third, Applied: event(c, "m3"), AppliedTTL: time.Hour}); !errors.Is(err, ErrConflict) {
				t.Fatalf("applying past a queued event = %v, want ErrConflict", err)
			}
			if dup, _ := s.Receive(ctx, event(c, "m3"), time.Hour); dup {
				t.Fatal("a refused application kept its key")
			}
			got, _ := s.Conversation(ctx, c.ID)
			if got.Version != 2 || got.Attrs["log"] != "m1" {
				t.Fatalf("conversation = %+v", got)
			}
			if out := drainOutbox(t, s); fmt.Sprint(out[c.ID]) != "[n1]" {
				t.Fatalf("outbox = %v", out)
			}
		}},
		{"a conversation's logs keep their records in order, once per applied event, bounded", func(t *testing.T, s Store) {
			c := create(t, s, conv(alice, "d1", time.Unix(1, 0)))
			rec := func(log, data string) LogRecord { return LogRecord{Log: log, Data: []byte(data)} }
			next := c.Clone()
			if err := s.Commit(ctx, &Change{Conv: next, Append: []LogRecord{rec("messages", "m1"), rec("feed", "f1"), rec("messages", "m2")},
				Applied: event(c, "e1"), AppliedTTL: time.Hour}); err != nil {
				t.Fatal(err)
			}
			again := next.Clone()
			if err := s.Commit(ctx, &Change{Conv: again, Append: []LogRecord{rec("messages", "m1 again")},
				Applied: event(c, "e1"), AppliedTTL: time.Hour}); !errors.Is(err, ErrDuplicate) {
				t.Fatalf("re-applied event = %v, want ErrDuplicate", err)
			}
			str := func(rs [][]byte) string {
				var out []string
				for _, r := range rs {
					out = append(out, string(r))
				}
				return fmt.Sprint(out)
			}
			for _, tc := range []struct {
				log   string
				limit int
				want  string
			}{
				{"messages", 10, "[m1 m2]"},
				{"messages", 1, "[m2]"},
				{"feed", 10, "[f1]"},
				{"none", 10, "[]"},
			} {
				if got, err := s.Log(ctx, c.ID, tc.log, tc.limit); err != nil || str(got) != tc.want {
					t.Errorf("log %s limit %d = %s, %v; want %s", tc.log, tc.limit, str(got), err, tc.want)
				}
			}
			if got, _ := s.Log(ctx, NewConversationID(bob), "messages", 10); len(got) != 0 {
				t.Fatalf("another conversation's log = %s", str(got))
			}
			many := make([]LogRecord, MaxLogRecords)
			for i := range many {
				many[i] = rec("messages", fmt.Sprint("x", i))
			}
			if err := s.Commit(ctx, &Change{Conv: again, Append: many}); err != nil {
				t.Fatal(err)
			}
			got, err := s.Log(ctx, c.ID, "messages", 2*MaxLogRecords)
			if err != nil || len(got) != MaxLogRecords || string(got[0]) != "x0" || string(got[len(got)-1]) != fmt.Sprint("x", MaxLogRecords-1) {
				t.Fatalf("a full log: %d records, first %q, %v; want the last %d", len(got), got[0], err, MaxLogRecords)
			}
		}},
		{"a log append alone leaves the conversation as it is and meets no conflict", func(t *testing.T, s Store) {
			c := create(t, s, conv(alice, "d1", time.Unix(1, 0)))
			stale := c.Version
			next := c.Clone()
			next.Attrs = map[string]string{"k": "v"}
			if err := s.Commit(ctx, &Change{Conv: next}); err != nil {
				t.Fatal(err)
			}
			if err := s.Commit(ctx, &Change{Of: c.ID, Append: []LogRecord{{Log: "messages", Data: []byte("sent")}}}); err != nil {
				t.Fatalf("append after a concurrent change = %v", err)
			}
			got, err := s.Conversation(ctx, c.ID)
			if err != nil || got.Version != stale+1 || got.Attrs["k"] != "v" {
				t.Fatalf("conversation = %+v, %v; want version %d with its attrs", got, err, stale+1)
			}
			if recs, err := s.Log(ctx, c.ID, "messages", 10); err != nil || len(recs) != 1 || string(recs[0]) != "sent" {
				t.Fatalf("log = %q, %v", recs, err)
			}
			other := NewConversationID(bob)
			if err := s.Commit(ctx, &Change{Of: c.ID, Outbox: []*OutboxItem{{Queue: other, Face: FaceConnectorAPI, Body: []byte("{}")}}}); err == nil {
				t.Fatal("a change naming two conversations was taken")
			}
		}},
		{"a deferred queue is ready again only at its time, and a discarded one stays deduped", func(t *testing.T, s Store) {
			c := conv(alice, "d1", time.Unix(1, 0)) // not created: the event overtook it
			if _, err := s.Receive(ctx, event(c, "early"), time.Hour); err != nil {
				t.Fatal(err)
			}
			shard := ShardOf(c.ID)
			now := time.Now()
			if err := s.Defer(ctx, c.ID, now.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			if ready, _ := s.ReadyInbox(ctx, shard, now.Add(30*time.Second), 10); slices.Contains(ready, c.ID) {
				t.Fatal("ready before its time")
			}
			if ready, _ := s.ReadyInbox(ctx, shard, now.Add(2*time.Minute), 10); !slices.Contains(ready, c.ID) {
				t.Fatal("not ready after its time")
			}
			// A new event makes it ready at once.
			if _, err := s.Receive(ctx, event(c, "next"), time.Hour); err != nil {
				t.Fatal(err)
			}
			if ready, _ := s.ReadyInbox(ctx, shard, now.Add(time.Second), 10); !slices.Contains(ready, c.ID) {
				t.Fatal("a new event must make the queue ready")
			}
			entries, _ := s.InboxOf(ctx, c.ID, 10)
			if err := s.Discard(ctx, entries); err != nil {
				t.Fatal(err)
			}
			if left, _ := s.InboxOf(ctx, c.ID, 10); len(left) != 0 {
				t.Fatalf("after discard: %v", keys(left))
			}
			if ready, _ := s.ReadyInbox(ctx, shard, now.Add(time.Hour), 10); slices.Contains(ready, c.ID) {
				t.Fatal("a discarded queue stays ready")
			}
			if dup, _ := s.Receive(ctx, event(c, "early"), time.Hour); !dup {
				t.Fatal("a re-send of a discarded event is taken again")
			}
		}},
		{"the outbox delivers each queue in order, due heads first", func(t *testing.T, s Store) {
			a := create(t, s, conv(alice, "da", time.Unix(1, 0)))
			b := create(t, s, conv(bob, "db", time.Unix(1, 0)))
			for i := range 3 {
				for _, c := range []*Conversation{a, b} {
					it := item(c, fmt.Sprint(c.DialogID, i))
					it.NextAttempt = time.Unix(100+int64(i), 0)
					if err := s.Commit(ctx, &Change{Outbox: []*OutboxItem{it}}); err != nil {
						t.Fatal(err)
					}
				}
			}
			if d, err := s.Depth(ctx); err != nil || d != 6 {
				t.Fatalf("depth = %d, %v; want 6", d, err)
			}
			if heads, _ := s.Due(ctx, ShardOf(a.ID), time.Unix(50, 0), 10); len(heads) != 0 {
				t.Fatalf("due before any item is = %v", heads)
			}
			heads, err := s.Due(ctx, ShardOf(a.ID), time.Unix(100, 0), 10)
			if err != nil || len(heads) == 0 || string(heads[0].Body) != "da0" || heads[0].Target != "http://x/"+a.ID {
				t.Fatalf("due heads of a's shard = %v, %v", heads, err)
			}
			got := drainOutbox(t, s)
			if fmt.Sprint(got[a.ID], got[b.ID]) != "[da0 da1 da2] [db0 db1 db2]" {
				t.Fatalf("delivery = %v", got)
			}
			if d, _ := s.Depth(ctx); d != 0 {
				t.Fatalf("depth after drain = %d", d)
			}
		}},
		{"a retried head is due at its next attempt and a removed item is gone for good", func(t *testing.T, s Store) {
			c := create(t, s, conv(alice, "d1", time.Unix(1, 0)))
			it := item(c, "x")
			it.Headers = map[string]string{"x-liveperson-account-id": "a"}
			it.NextAttempt = time.Unix(100, 0)
			second := item(c, "y")
			if err := s.Commit(ctx, &Change{Outbox: []*OutboxItem{it, second}}); err != nil {
				t.Fatal(err)
			}
			it.Attempts, it.NextAttempt, it.LastError = 3, time.Unix(500, 0).UTC(), "503"
			if err := s.Retry(ctx, it); err != nil {
				t.Fatal(err)
			}
			shard := ShardOf(c.ID)
			if heads, _ := s.Due(ctx, shard, time.Unix(400, 0), 10); len(heads) != 0 {
				t.Fatalf("a head retried for later is due: %v", heads)
			}
			heads, err := s.Due(ctx, shard, time.Unix(500, 0), 10)
			if err != nil || len(heads) != 1 {
				t.Fatalf("heads = %v, %v", heads, err)
			}
			h := heads[0]
			if h.Seq != it.Seq || h.Attempts != 3 || !h.NextAttempt.Equal(it.NextAttempt) || h.LastError != "503" || h.Headers["x-liveperson-account-id"] != "a" || h.Face != FaceConnectorAPI {
				t.Fatalf("head after retry = %+v", h)
			}
			// The removal answers the new head; removing it again too.
			for range 2 {
				next, err := s.Remove(ctx, it)
				if err != nil || next == nil || next.Seq != second.Seq || string(next.Body) != "y" || next.Target != second.Target {
					t.Fatalf("remove = %+v, %v; want the next item", next, err)
				}
			}
			if err := s.Retry(ctx, it); !errors.Is(err, ErrNotFound) {
				t.Fatalf("retry of removed item = %v", err)
			}
			if heads, _ := s.Due(ctx, shard, time.Unix(500, 0), 10); len(heads) != 1 || string(heads[0].Body) != "y" {
				t.Fatalf("after remove the next item must be the head: %v", heads)
			}
			if h, err := s.Head(ctx, c.ID); err != nil || h == nil || h.Seq != second.Seq || string(h.Body) != "y" {
				t.Fatalf("head = %+v, %v", h, err)
			}
			if h, err := s.Head(ctx, NewConversationID(alice)); err != nil || h != nil {
				t.Fatalf("head of an empty queue = %+v, %v", h, err)
			}
			if d, _ := s.Depth(ctx); d != 1 {
				t.Fatalf("depth = %d after removing twice", d)
			}
			if next, err := s.Remove(ctx, second); err != nil || next != nil {
				t.Fatalf("removing the last item = %+v, %v; want an empty queue", next, err)
			}
		}},
		{"a shard lease is held by one holder at a time and fences commits", func(t *testing.T, s Store) {
			other := b.peer(t, s)
			c := create(t, s, conv(alice, "d1", time.Unix(1, 0)))
			shard := ShardOf(c.ID)
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
				got, err := st.store.Lease(ctx, shard, st.holder, time.Hour)
				if err != nil || got != st.want {
					t.Fatalf("step %d: lease by %s = %v, %v; want %v", i, st.holder, got, err, st.want)
				}
			}
			if ok, _ := s.Lease(ctx, (shard+1)%Shards, "r2", time.Hour); !ok {
				t.Fatal("leases of different shards are independent")
			}
			next := c.Clone()
			if err := other.Commit(ctx, &Change{Conv: next, Fence: &Fence{Shard: shard, Holder: "r2"}}); !errors.Is(err, ErrNotOwner) {
				t.Fatalf("commit fenced by a non-holder = %v, want ErrNotOwner", err)
			}
			if err := other.Commit(ctx, &Change{Conv: next, Fence: &Fence{Shard: shard, Holder: "r1"}}); err != nil {
				t.Fatalf("commit fenced by the holder = %v", err)
			}
			if err := other.Release(ctx, shard, "r2"); err != nil {
				t.Fatal(err)
			}
			if ok, _ := other.Lease(ctx, shard, "r2", time.Hour); ok {
				t.Fatal("a release by a non-holder must not free the lease")
			}
			if err := s.Release(ctx, shard, "r1"); err != nil {
				t.Fatal(err)
			}
			if ok, err := other.Lease(ctx, shard, "r2", time.Hour); err != nil || !ok {
				t.Fatalf("after release: lease = %v, %v", ok, err)
			}
			for _, bad := range []struct {
				shard  int
				holder string
				ttl    time.Duration
			}{{-1, "r", time.Second}, {Shards, "r", time.Second}, {0, "", time.Second}, {0, "r", 0}} {
				if _, err := s.Lease(ctx, bad.shard, bad.holder, bad.ttl); err == nil || errors.Is(err, ErrUnavailable) {
					t.Errorf("lease(%d, %q, %s) = %v, want a usage error", bad.shard, bad.holder, bad.ttl, err)
				}
			}
		}},
		{"an expired lease is taken over by another holder", func(t *testing.T, s Store) {
			if ok, err := s.Lease(ctx, 3, "dead", 300*time.Millisecond); err != nil || !ok {
				t.Fatalf("lease = %v, %v", ok, err)
			}
			if ok, _ := s.Lease(ctx, 3, "alive", time.Hour); ok {
				t.Fatal("taken before expiry")
			}
			waitFor(t, "lease taken over", func() bool {
				ok, err := s.Lease(ctx, 3, "alive", time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				return ok
			})
			if ok, _ := s.Lease(ctx, 3, "dead", time.Hour); ok {
				t.Fatal("the old holder must not get it back")
			}
		}},
		{"a replica that says it is alive is alive until its ttl", func(t *testing.T, s Store) {
			n, err := s.Replicas(ctx, "r1", 300*time.Millisecond)
			if err != nil || n < 1 {
				t.Fatalf("replicas = %d, %v", n, err)
			}
			if ok, err := s.Alive(ctx, "r1"); err != nil || !ok {
				t.Fatalf("alive(r1) = %v, %v", ok, err)
			}
			if ok, _ := s.Alive(ctx, "never"); ok {
				t.Fatal("a holder that never said so is alive")
			}
		}},
		{"a claim is held by one holder until it ends, and taken over with its conversation", func(t *testing.T, s Store) {
			other := b.peer(t, s)
			c1, c2 := NewConversationID(alice), NewConversationID(alice)
			cl, won, err := s.Claim(ctx, alice, "h1", c1, time.Hour)
			if err != nil || !won || cl.Holder != "h1" || cl.Conversation != c1 || cl.Since.IsZero() {
				t.Fatalf("first claim = %+v, %v, %v", cl, won, err)
			}
			since := cl.Since
			cl, won, err = other.Claim(ctx, alice, "h2", c2, time.Hour)
			if err != nil || won || cl.Holder != "h1" || cl.Conversation != c1 {
				t.Fatalf("second holder's claim = %+v, %v, %v; want h1's in force", cl, won, err)
			}
			if _, won, _ := s.Claim(ctx, bob, "h2", NewConversationID(bob), time.Hour); !won {
				t.Fatal("claims of different owners are independent")
			}
			if err := other.ReleaseClaim(ctx, alice, "h2"); err != nil {
				t.Fatal(err)
			}
			if _, won, _ := other.Claim(ctx, alice, "h2", c2, time.Hour); won {
				t.Fatal("a release by a non-holder freed the claim")
			}
			// The holder shortens it to nothing: the next takes it over and
			// keeps its conversation.
			if _, won, _ := s.Claim(ctx, alice, "h1", c1, time.Millisecond); !won {
				t.Fatal("holder's renewal refused")
			}
			waitFor(t, "claim taken over", func() bool {
				cl, won, err = other.Claim(ctx, alice, "h2", c2, time.Hour)
				return err == nil && won
			})
			if cl.Conversation != c1 || !cl.Since.Equal(since) {
				t.Fatalf("taken-over claim names %s since %s, want the first holder's %s since %s", cl.Conversation, cl.Since, c1, since)
			}
			// A commit that releases it ends it; the next claim starts afresh.
			created := conv(alice, "d1", time.Unix(1, 0))
			created.ID = cl.Conversation
			if err := other.Commit(ctx, &Change{Conv: created, Release: &cl}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the clock to move", func() bool { return time.Since(since) > 2*time.Millisecond })
			cl, won, _ = s.Claim(ctx, alice, "h3", c2, time.Hour)
			if !won || cl.Conversation != c2 || !cl.Since.After(since) {
				t.Fatalf("claim after release = %+v, %v; want a new one since after %s", cl, won, since)
			}
		}},
		{"a send record stays, pending or sent, until it is dropped or expires, and one retry takes a pending one over", func(t *testing.T, s Store) {
			c := create(t, s, conv(alice, "d1", time.Unix(1, 0)))
			at := time.Unix(1000, 0).UTC()
			first := SendRecord{ProviderMessageID: "p1", State: SendPending, Holder: "h1", At: at}
			got, won, err := s.BeginSend(ctx, c.ID, "k", first, time.Hour)
			if err != nil || !won || got != first {
				t.Fatalf("begin = %+v, %v, %v", got, won, err)
			}
			got, won, err = s.BeginSend(ctx, c.ID, "k", SendRecord{ProviderMessageID: "p2", State: SendPending}, time.Hour)
			if err != nil || won || got != first {
				t.Fatalf("begin over a pending record = %+v, %v, %v; want the first", got, won, err)
			}
			sent := first
			sent.State, sent.MessageID, sent.MessageIndex = SendSent, "m1", 4
			if err := s.PutSend(ctx, c.ID, "k", sent, time.Hour); err != nil {
				t.Fatal(err)
			}
			if got, ok, err := s.Send(ctx, c.ID, "k"); err != nil || !ok || got != sent {
				t.Fatalf("send record = %+v, %v, %v", got, ok, err)
			}
			again := SendRecord{ProviderMessageID: "p3", State: SendPending, At: at}
			if got, won, _ := s.BeginSend(ctx, c.ID, "k", again, time.Hour); won || got != sent {
				t.Fatalf("begin over a sent record = %+v, %v; want the sent one", got, won)
			}
			if took, err := s.TakeSend(ctx, c.ID, "k", first, again, time.Hour); err != nil || took {
				t.Fatalf("taking over a sent record = %v, %v", took, err)
			}
			// Two retries take over one pending record: one wins.
			pending := SendRecord{ProviderMessageID: "p4", State: SendPending, Holder: "h1", At: time.Date(2026, 12, 1, 10, 0, 0, 123456789, time.UTC)}
			if _, won, _ := s.BeginSend(ctx, c.ID, "kp", pending, time.Hour); !won {
				t.Fatal("begin of a new key")
			}
			stored, _, _ := s.Send(ctx, c.ID, "kp") // as a retry reads it
			mine, theirs := stored, stored
			mine.Holder, mine.At = "h2", at.Add(time.Second)
			theirs.Holder, theirs.At = "h3", at.Add(2*time.Second)
			if took, err := s.TakeSend(ctx, c.ID, "kp", stored, mine, time.Hour); err != nil || !took {
				t.Fatalf("first take-over = %v, %v", took, err)
			}
			if took, err := b.peer(t, s).TakeSend(ctx, c.ID, "kp", stored, theirs, time.Hour); err != nil || took {
				t.Fatalf("second take-over of the same record = %v, %v; want refused", took, err)
			}
			if got, _, _ := s.Send(ctx, c.ID, "kp"); got != mine {
				t.Fatalf("record after two take-overs = %+v, want the first's %+v", got, mine)
			}
			if err := s.DropSend(ctx, c.ID, "k"); err != nil {
				t.Fatal(err)
			}
			if _, ok, _ := s.Send(ctx, c.ID, "k"); ok {
				t.Fatal("dropped record still there")
			}
			if _, won, _ := s.BeginSend(ctx, c.ID, "k2", first, 50*time.Millisecond); !won {
				t.Fatal("begin of another key")
			}
			waitFor(t, "send record expires", func() bool {
				_, won, err := s.BeginSend(ctx, c.ID, "k2", again, time.Hour)
				return err == nil && won
			})
		}},
		{"webhook registrations are kept per face and scope, replaced by id, bounded and deleted once", func(t *testing.T, s Store) {
			other := b.peer(t, s)
			at := time.Unix(100, 0).UTC()
			hook := func(face Face, scope, id string, at time.Time, data string) *Webhook {
				return &Webhook{Face: face, Scope: scope, ID: id, CreatedAt: at, Data: json.RawMessage(data)}
			}
			list := func(st Store, face Face, scope string) []string {
				t.Helper()
				ws, err := st.Webhooks(ctx, face, scope)
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, w := range ws {
					out = append(out, w.ID+"="+string(w.Data))
				}
				return out
			}
			if got := list(s, "legacyv1", "cp1"); len(got) != 0 {
				t.Fatalf("empty store lists %v", got)
			}
			// Created out of order: listed by creation time, then id.
			for _, w := range []*Webhook{
				hook("legacyv1", "cp1", "w2", at.Add(time.Second), `{"n":2}`),
				hook("legacyv1", "cp1", "w1", at, `{"n":1}`),
				hook("legacyv1", "cp1", "w0", at.Add(time.Second), `{"n":0}`),
				hook("legacyv1", "cp2", "w9", at, `{"n":9}`),
				hook("other", "cp1", "w8", at, `{"n":8}`),
			} {
				if err := s.PutWebhook(ctx, w, 3); err != nil {
					t.Fatalf("put %s: %v", w.ID, err)
				}
			}
			want := []string{`w1={"n":1}`, `w0={"n":0}`, `w2={"n":2}`}
			if got := list(other, "legacyv1", "cp1"); !slices.Equal(got, want) {
				t.Fatalf("another replica lists %v, want %v", got, want)
			}
			// Full: a fourth is refused and not written; replacing one is not a fourth.
			if err := s.PutWebhook(ctx, hook("legacyv1", "cp1", "w3", at, `{}`), 3); !errors.Is(err, ErrFull) || errors.Is(err, ErrUnavailable) {
				t.Fatalf("fourth registration: %v, want ErrFull", err)
			}
			if err := other.PutWebhook(ctx, hook("legacyv1", "cp1", "w1", at, `{"n":11}`), 3); err != nil {
				t.Fatalf("replace at the limit: %v", err)
			}
			if err := s.PutWebhook(ctx, hook("legacyv1", "cp1", "w4", at, `{}`), 0); err != nil {
				t.Fatalf("unbounded put: %v", err)
			}
			want = []string{`w1={"n":11}`, `w4={}`, `w0={"n":0}`, `w2={"n":2}`}
			if got := list(s, "legacyv1", "cp1"); !slices.Equal(got, want) {
				t.Fatalf("after replace = %v, want %v", got, want)
			}
			if err := other.DeleteWebhook(ctx, "legacyv1", "cp1", "w0"); err != nil {
				t.Fatal(err)
			}
			for _, miss := range []struct {
				face      Face
				scope, id string
			}{{"legacyv1", "cp1", "w0"}, {"legacyv1", "cp2", "w1"}, {"other", "cp2", "w9"}} {
				if err := s.DeleteWebhook(ctx, miss.face, miss.scope, miss.id); !errors.Is(err, ErrNotFound) {
					t.Fatalf("delete %+v: %v, want ErrNotFound", miss, err)
				}
			}
			if got := list(s, "legacyv1", "cp1"); len(got) != 3 || slices.Contains(got, `w0={"n":0}`) {
				t.Fatalf("after delete = %v", got)
			}
			if got := list(s, "legacyv1", "cp2"); !slices.Equal(got, []string{`w9={"n":9}`}) {
				t.Fatalf("another scope = %v", got)
			}
			if got := list(s, "other", "cp1"); !slices.Equal(got, []string{`w8={"n":8}`}) {
				t.Fatalf("another face = %v", got)
			}
		}},
		{"a send marked sent without waiting is there for every write asked after it", func(t *testing.T, s Store) {
			c := create(t, s, conv(alice, "d1", time.Unix(1, 0)))
			for i := range 20 {
				key := fmt.Sprint("k", i)
				pending := SendRecord{ProviderMessageID: fmt.Sprint("p", i), State: SendPending, Holder: "h1", At: time.Unix(1000, 0).UTC()}
				if _, won, err := s.BeginSend(ctx, c.ID, key, pending, time.Hour); err != nil || !won {
					t.Fatalf("round %d: begin = %v, %v", i, won, err)
				}
				sent := pending
				sent.State, sent.MessageID, sent.MessageIndex = SendSent, fmt.Sprint("m", i), i+1
				if err := s.MarkSent(ctx, c.ID, key, sent, time.Hour); err != nil {
					t.Fatal(err)
				}
				// The next write on the key sees it: a retry is answered
				// from the sent record, never sent again.
				again := pending
				again.ProviderMessageID = "retry"
				if got, won, err := s.BeginSend(ctx, c.ID, key, again, time.Hour); err != nil || won || got != sent {
					t.Fatalf("round %d: begin after MarkSent = %+v, %v, %v; want the sent record", i, got, won, err)
				}
			}
		}},
		{"a closed store is unavailable, not not-found", func(t *testing.T, s Store) {
			c := conv(alice, "d1", time.Unix(1, 0))
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			calls := map[string]func() error{
				"ping":         func() error { return s.Ping(ctx) },
				"session":      func() error { _, err := s.Session(ctx, alice); return err },
				"conversation": func() error { _, err := s.Conversation(ctx, c.ID); return err },
				"dialog":       func() error { _, err := s.ConversationByDialog(ctx, "d1"); return err },
				"commit":       func() error { return s.Commit(ctx, &Change{Conv: c}) },
				"receive":      func() error { _, err := s.Receive(ctx, event(c, "k"), time.Hour); return err },
				"due":          func() error { _, err := s.Due(ctx, 0, time.Now(), 1); return err },
				"lease":        func() error { _, err := s.Lease(ctx, 0, "r", time.Second); return err },
				"claim":        func() error { _, _, err := s.Claim(ctx, alice, "h", c.ID, time.Second); return err },
				"webhooks":     func() error { _, err := s.Webhooks(ctx, "legacyv1", "cp"); return err },
				"put webhook":  func() error { return s.PutWebhook(ctx, &Webhook{Face: "legacyv1", Scope: "cp", ID: "w"}, 1) },
				"list":         func() error { _, err := s.ListOutbox(ctx, OutboxQuery{State: OutboxDropped, Limit: 1}); return err },
				"stats":        func() error { _, err := s.OutboxStats(ctx); return err },
				"pauses":       func() error { _, err := s.Pauses(ctx); return err },
			}
			for name, call := range calls {
				if err := call(); !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrNotFound) {
					t.Errorf("%s: err = %v, want ErrUnavailable", name, err)
				}
			}
		}},
	}
	tests = append(tests, outboxAdminTests(b)...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, b.open(t)) })
	}
}

// benchStore measures the calls on the event path: an event received into
// the inbox, applied with its notification, and delivered.
func benchStore(b *testing.B, s Store) {
	ctx := context.Background()
	convs := make([]*Conversation, 256)
	for i := range convs {
		convs[i] = conv(ConsumerKey{Face: FaceConnectorAPI, Account: "a", App: "app", Consumer: fmt.Sprint("c", i)}, fmt.Sprint("d", i), time.Unix(int64(i), 0))
		if err := s.Commit(ctx, &Change{Conv: convs[i]}); err != nil {
			b.Fatal(err)
		}
	}
	body := make([]byte, 512)
	b.Run("Receive", func(b *testing.B) {
		i := 0
		for b.Loop() {
			c := convs[i%len(convs)]
			if _, err := s.Receive(ctx, &InboxEntry{Conversation: c.ID, Key: fmt.Sprint("msg:", i), Event: json.RawMessage(`{}`)}, time.Hour); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("ReceiveParallel", func(b *testing.B) {
		var n sync.Mutex
		i := 0
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				n.Lock()
				i++
				k := i
				n.Unlock()
				c := convs[k%len(convs)]
				if _, err := s.Receive(ctx, &InboxEntry{Conversation: c.ID, Key: fmt.Sprint("par:", k), Event: json.RawMessage(`{}`)}, time.Hour); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("CommitWithItem", func(b *testing.B) {
		c := convs[0]
		for b.Loop() {
			if err := s.Commit(ctx, &Change{Conv: c, Outbox: []*OutboxItem{{Queue: c.ID, Target: "https://connector.example/notify", Body: body}}}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ConversationByDialog", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := s.ConversationByDialog(ctx, fmt.Sprint("d", i%len(convs))); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
