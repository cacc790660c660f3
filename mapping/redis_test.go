package mapping

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/connector-proxy/connector-proxy/internal/redistest"
)

// openRedis opens a store on srv under its own prefix, closed at cleanup.
func openRedis(t testing.TB, url, prefix string, opts ...RedisOption) *Redis {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := OpenRedis(ctx, url, append([]RedisOption{WithRedisPrefix(prefix)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestRedisStore(t *testing.T) {
	srv := redistest.Start(t)
	n := 0
	testStore(t, storeBackend{
		// One server, a prefix per subtest: each starts empty.
		open: func(t *testing.T) Store { n++; return openRedis(t, srv.URL, fmt.Sprintf("t%d:", n)) },
		peer: func(t *testing.T, s Store) Store { return openRedis(t, srv.URL, s.(*Redis).prefix) },
	})
}

// TestRedisClusterStore runs the same behaviour on a real three-master
// Redis Cluster: every script touches one slot, whatever shard it is of.
func TestRedisClusterStore(t *testing.T) {
	cl := redistest.StartCluster(t)
	n := 0
	testStore(t, storeBackend{
		open: func(t *testing.T) Store {
			n++
			return openRedis(t, cl.URL, fmt.Sprintf("c%d:", n), WithRedisCluster())
		},
		peer: func(t *testing.T, s Store) Store { return openRedis(t, cl.URL, s.(*Redis).prefix, WithRedisCluster()) },
	})
}

func TestRedisOutageIsUnavailableAndTheStoreRecovers(t *testing.T) {
	tests := []struct {
		name string
		// down takes Redis away; keepsData says whether it comes back with
		// what was written before (a Redis with persistence).
		down      func(*redistest.Server)
		keepsData bool
	}{
		{"a stop with persistence keeps the data", (*redistest.Server).Stop, true},
		{"a crash without persistence loses the data but not the client", (*redistest.Server).Kill, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := redistest.Start(t)
			r := openRedis(t, srv.URL, "outage:", WithRedisTimeout(500*time.Millisecond))
			ctx := context.Background()
			c := conv(alice, "d1", time.Unix(20, 0).UTC())
			if err := r.Commit(ctx, &Change{Conv: c, Outbox: []*OutboxItem{{Queue: c.ID, Body: []byte("n1")}}}); err != nil {
				t.Fatal(err)
			}
			if dup, err := r.Receive(ctx, &InboxEntry{Conversation: c.ID, Key: "msg:1", Event: []byte(`{}`)}, time.Hour); err != nil || dup {
				t.Fatalf("receive = %v, %v", dup, err)
			}

			tc.down(srv)
			// The bound only keeps a broken client from hanging the test:
			// the error must come from the connection, not from it.
			bounded, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			calls := map[string]func() error{
				"ping":         func() error { return r.Ping(bounded) },
				"session":      func() error { _, err := r.Session(bounded, alice); return err },
				"put session":  func() error { return r.PutSession(bounded, alice, SessionRef{SessionID: "s"}) },
				"conversation": func() error { _, err := r.Conversation(bounded, c.ID); return err },
				"dialog":       func() error { _, err := r.ConversationByDialog(bounded, "d1"); return err },
				"owner":        func() error { _, err := r.Conversations(bounded, alice); return err },
				"commit":       func() error { return r.Commit(bounded, &Change{Conv: c.Clone()}) },
				"receive": func() error {
					_, err := r.Receive(bounded, &InboxEntry{Conversation: c.ID, Key: "msg:2", Event: []byte(`{}`)}, time.Hour)
					return err
				},
				"ready":   func() error { _, err := r.ReadyInbox(bounded, 0, time.Now(), 1); return err },
				"inbox":   func() error { _, err := r.InboxOf(bounded, c.ID, 1); return err },
				"due":     func() error { _, err := r.Due(bounded, ShardOf(c.ID), time.Now(), 1); return err },
				"retry":   func() error { return r.Retry(bounded, &OutboxItem{Queue: c.ID, Seq: 1}) },
				"remove":  func() error { _, err := r.Remove(bounded, &OutboxItem{Queue: c.ID, Seq: 1}); return err },
				"depth":   func() error { _, err := r.Depth(bounded); return err },
				"lease":   func() error { _, err := r.Lease(bounded, 1, "r1", time.Second); return err },
				"release": func() error { return r.Release(bounded, 1, "r1") },
				"claim":   func() error { _, _, err := r.Claim(bounded, alice, "h", c.ID, time.Second); return err },
				"begin send": func() error {
					_, _, err := r.BeginSend(bounded, c.ID, "k", SendRecord{State: SendPending}, time.Second)
					return err
				},
			}
			for name, call := range calls {
				err := call()
				if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrNotFound) {
					t.Errorf("%s while down: err = %v, want ErrUnavailable", name, err)
				}
				if errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("%s while down waited out the test's bound: %v", name, err)
				}
			}

			srv.Restart()
			waitFor(t, "store answers again", func() bool { return r.Ping(ctx) == nil })
			got, err := r.ConversationByDialog(ctx, "d1")
			switch {
			case tc.keepsData && (err != nil || got.ID != c.ID):
				t.Fatalf("conversation after restart = %+v, %v", got, err)
			case !tc.keepsData && !errors.Is(err, ErrNotFound):
				t.Fatalf("conversation after a crash = %+v, %v; want not found", got, err)
			}
			if dup, err := r.Receive(ctx, &InboxEntry{Conversation: c.ID, Key: "msg:1", Event: []byte(`{}`)}, time.Hour); err != nil || dup != tc.keepsData {
				t.Fatalf("dedupe key after restart: dup = %v, %v", dup, err)
			}
			// Scripts work again, loaded anew when Redis forgot them.
			if err := r.Commit(ctx, &Change{Outbox: []*OutboxItem{{Queue: c.ID, Body: []byte("n2")}}}); err != nil {
				t.Fatal(err)
			}
			want := "[n2]"
			if tc.keepsData {
				want = "[n1 n2]"
			}
			if got := drainOutbox(t, r); fmt.Sprint(got[c.ID]) != want {
				t.Fatalf("outbox after restart = %v, want %v", got, want)
			}
		})
	}
}

func TestRedisClosedConversationsExpireAfterRetention(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	const retention = time.Second
	r := openRedis(t, srv.URL, "ret:", WithRedisRetention(retention))
	pttl := func(key string) time.Duration {
		t.Helper()
		d, err := r.c.PTTL(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	put := func(c *Conversation) {
		t.Helper()
		if err := r.Commit(ctx, &Change{Conv: c}); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	open := conv(alice, "d-open", now)
	closed := conv(alice, "d-closed", now.Add(time.Millisecond))
	closed.State, closed.ClosedAt = StateClosed, now
	bobs := conv(bob, "d-bobs", now)
	bobs.State, bobs.ClosedAt = StateClosed, now
	for _, c := range []*Conversation{open, closed, bobs} {
		put(c)
	}

	// Before the retention: everything is there; what will expire has a TTL.
	if got, err := r.Conversations(ctx, alice); err != nil || !slices.Equal(ids(got), []string{open.ID, closed.ID}) {
		t.Fatalf("alice's conversations = %v, %v", ids(got), err)
	}
	ttls := []struct {
		key     string
		expires bool
	}{
		{r.convKey(open.ID), false},
		{r.dialogKey("d-open"), false},
		{r.convKey(closed.ID), true},
		{r.dialogKey("d-closed"), true},
		{r.ownerKey(alice), false}, // alice still has an open conversation
		{r.ownerKey(bob), true},    // bob has none
	}
	for _, k := range ttls {
		d := pttl(k.key)
		if k.expires != (d > 0 && d <= retention) || (!k.expires && d != -1) {
			t.Errorf("%s: PTTL = %s, expires = %v", k.key, d, k.expires)
		}
	}

	waitFor(t, "closed conversations expire", func() bool {
		_, err := r.Conversation(ctx, closed.ID)
		_, err2 := r.Conversation(ctx, bobs.ID)
		return errors.Is(err, ErrNotFound) && errors.Is(err2, ErrNotFound)
	})
	if _, err := r.ConversationByDialog(ctx, "d-closed"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("dialog of an expired conversation: %v", err)
	}
	if got, err := r.Conversations(ctx, alice); err != nil || !slices.Equal(ids(got), []string{open.ID}) {
		t.Fatalf("alice's conversations after retention = %v, %v", ids(got), err)
	}
	if n, _ := r.c.ZCard(ctx, r.ownerKey(alice)).Result(); n != 1 {
		t.Fatalf("alice's owner index keeps %d entries, want the stale one removed", n)
	}
	waitFor(t, "bob's owner index expires", func() bool { return pttl(r.ownerKey(bob)) == -2 })

	// A conversation closed and reopened is permanent again.
	carol := alice
	carol.Consumer = "carol"
	re := conv(carol, "d-re", time.Now())
	re.State, re.ClosedAt = StateClosed, time.Now()
	put(re)
	if d := pttl(r.ownerKey(carol)); d <= 0 {
		t.Fatalf("owner index with only closed conversations: PTTL = %s", d)
	}
	re.State, re.ClosedAt = StateOpen, time.Time{}
	put(re)
	for _, k := range []string{r.convKey(re.ID), r.ownerKey(carol)} {
		if d := pttl(k); d != -1 {
			t.Errorf("%s after reopening: PTTL = %s, want none", k, d)
		}
	}
}

func TestRedisRetentionCountsFromClosedAt(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	clk := &clock{t: time.Unix(100000, 0)}
	r := openRedis(t, srv.URL, "closedat:", WithRedisRetention(time.Hour), WithRedisClock(clk.now))
	tests := []struct {
		name     string
		closedAt time.Duration // before now
		min, max time.Duration // expected PTTL
	}{
		{"closed just now keeps the whole retention", 0, 59 * time.Minute, time.Hour},
		{"closed 40 minutes ago keeps 20", 40 * time.Minute, 19 * time.Minute, 20 * time.Minute},
		{"closed in the future keeps no more than the retention", -time.Hour, 59 * time.Minute, time.Hour},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := conv(alice, fmt.Sprint("d", i), clk.now())
			c.State, c.ClosedAt = StateClosed, clk.now().Add(-tc.closedAt)
			if err := r.Commit(ctx, &Change{Conv: c}); err != nil {
				t.Fatal(err)
			}
			d, err := r.c.PTTL(ctx, r.convKey(c.ID)).Result()
			if err != nil || d < tc.min || d > tc.max {
				t.Fatalf("PTTL = %s, %v; want within [%s, %s]", d, err, tc.min, tc.max)
			}
		})
	}
	t.Run("closed longer ago than the retention is gone at once", func(t *testing.T) {
		c := conv(alice, "d-old", clk.now())
		c.State, c.ClosedAt = StateClosed, clk.now().Add(-2*time.Hour)
		if err := r.Commit(ctx, &Change{Conv: c}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "expired", func() bool {
			_, err := r.Conversation(ctx, c.ID)
			return errors.Is(err, ErrNotFound)
		})
	})
}

// TestRedisKeysStayUnderThePrefixAndSpreadByShard checks the layout: every
// key under the prefix, every shard's keys behind its own hash tag (so that
// a cluster spreads them), and only the dialog index outside one.
func TestRedisKeysStayUnderThePrefixAndSpreadByShard(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	r := openRedis(t, srv.URL, "tenant-a:")
	other := openRedis(t, srv.URL, "tenant-b:")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var cs []*Conversation
	for i := range 8 {
		owner := ConsumerKey{Face: FaceConnectorAPI, Account: "a", App: "app", Consumer: fmt.Sprint("u", i)}
		c := conv(owner, fmt.Sprint("d", i), time.Unix(1, 0))
		cs = append(cs, c)
		must(r.PutSession(ctx, owner, SessionRef{SessionID: "s"}))
		must(r.Commit(ctx, &Change{Conv: c, Outbox: []*OutboxItem{item(c, "n")}}))
		_, err := r.Receive(ctx, event(c, fmt.Sprint("m", i)), time.Hour)
		must(err)
		_, _, err = r.Claim(ctx, owner, "h", c.ID, time.Hour)
		must(err)
		_, _, err = r.BeginSend(ctx, c.ID, "k", SendRecord{State: SendPending}, time.Hour)
		must(err)
		must(r.PutWebhook(ctx, &Webhook{Face: "legacyv1", Scope: fmt.Sprint("cp", i), ID: "w"}, 0))
		extra := item(c, "dropped")
		must(r.Commit(ctx, &Change{Outbox: []*OutboxItem{extra}}))
		must(r.Drop(ctx, extra, Drop{Reason: DropExpired, At: time.Now(), Keep: 10}))
	}
	_, _, err := r.PauseEndpoint(ctx, EndpointPause{Endpoint: EndpointID("http://x"), Since: time.Now()})
	must(err)
	_, err = r.Lease(ctx, 5, "r1", time.Hour)
	must(err)
	_, err = r.Replicas(ctx, "r1", time.Hour)
	must(err)

	// The other prefix sees none of it.
	if _, err := other.Conversation(ctx, cs[0].ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("other prefix sees the conversation: %v", err)
	}
	if d, _ := other.Depth(ctx); d != 0 {
		t.Fatalf("other prefix's depth = %d", d)
	}
	keys, err := r.keysUnder(ctx)
	must(err)
	tags := map[string]bool{}
	all, err := r.c.Keys(ctx, "*").Result()
	must(err)
	if len(all) != len(keys) || len(keys) < 8*8 {
		t.Fatalf("%d keys, %d under the prefix: %v", len(all), len(keys), all)
	}
	for _, k := range keys {
		rest, _ := strings.CutPrefix(k, "tenant-a:")
		switch {
		case strings.HasPrefix(rest, "d:"):
		case strings.HasPrefix(rest, "{r}:"), strings.HasPrefix(rest, "{p}:"):
		case strings.HasPrefix(rest, "{s"):
			tag := rest[:strings.IndexByte(rest, '}')+1]
			tags[tag] = true
		default:
			t.Errorf("key %q has no shard tag", k)
		}
	}
	if len(tags) < 5 {
		t.Fatalf("eight consumers' keys under %d hash tags: %v; they should spread", len(tags), tags)
	}
}

func TestOpenRedisRefusesBadInput(t *testing.T) {
	srv := redistest.Start(t)
	down := redistest.Start(t)
	down.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tests := []struct {
		name        string
		url         string
		opts        []RedisOption
		unavailable bool
	}{
		{"an url that is not redis", "http://" + srv.Addr, nil, false},
		{"a prefix with a brace", srv.URL, []RedisOption{WithRedisPrefix("a{b}:")}, false},
		{"a redis that does not answer", down.URL, []RedisOption{WithRedisTimeout(500 * time.Millisecond)}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := OpenRedis(ctx, tc.url, tc.opts...)
			if err == nil {
				r.Close()
				t.Fatal("opened")
			}
			if errors.Is(err, ErrUnavailable) != tc.unavailable {
				t.Fatalf("err = %v; unavailable should be %v", err, tc.unavailable)
			}
		})
	}
}

// FuzzOwnerMemberOrdersAsBolt checks that Redis's owner-index members sort
// as Bolt's owner keys do (creation time, then id) and give the id back.
func FuzzOwnerMemberOrdersAsBolt(f *testing.F) {
	f.Add(int64(1000), "c3", int64(1001), "c1")
	f.Add(int64(5), "b", int64(5), "a")
	f.Add(int64(-1), "x", int64(1), "x")
	f.Add(int64(1)<<62, "", int64(0), "\xff")
	f.Fuzz(func(t *testing.T, at1 int64, id1 string, at2 int64, id2 string) {
		a := conv(alice, "", time.Unix(0, at1))
		a.ID = id1
		b := conv(alice, "", time.Unix(0, at2))
		b.ID = id2
		ma, mb := ownerMember(a), ownerMember(b)
		if ma[16:] != id1 || mb[16:] != id2 {
			t.Fatalf("ids from members %q, %q", ma, mb)
		}
		if got, want := strings.Compare(ma, mb), bytes.Compare(ownerKey(a), ownerKey(b)); got != want {
			t.Fatalf("redis order %d, bolt order %d for (%d,%q) and (%d,%q)", got, want, at1, id1, at2, id2)
		}
	})
}

// A store written by a build before the binary item form holds JSON items:
// they are still listed, delivered and replayed.
func TestRedisReadsOutboxItemsWrittenAsJSON(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	r := openRedis(t, srv.URL, "old:")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	c := conv(alice, "d1", time.Unix(1, 0))
	first, second := item(c, "first"), item(c, "second")
	must(r.Commit(ctx, &Change{Conv: c, Outbox: []*OutboxItem{first, second}}))
	// Rewrite both as the earlier build stored them: due time, then JSON.
	for _, it := range []*OutboxItem{first, second} {
		raw, err := json.Marshal(it)
		must(err)
		v := fmt.Sprintf("%d|%s", msAt(it.NextAttempt), raw)
		must(r.c.HSet(ctx, r.queueKeys(c.ID)[4], fmt.Sprint(it.Seq), v).Err())
	}
	page, err := r.ListOutbox(ctx, OutboxQuery{State: OutboxPending, Queue: c.ID, Limit: 10})
	must(err)
	if len(page.Items) != 2 || string(page.Items[0].Body) != "first" || string(page.Items[1].Body) != "second" {
		t.Fatalf("listed %+v", page.Items)
	}
	head, err := r.Head(ctx, c.ID)
	must(err)
	if head == nil || head.Seq != first.Seq || string(head.Body) != "first" || head.Target != first.Target {
		t.Fatalf("head = %+v, want the first item", head)
	}
	_, err = r.Remove(ctx, head)
	must(err)
	due, err := r.Due(ctx, ShardOf(c.ID), time.Now().Add(time.Minute), 10)
	must(err)
	if len(due) != 1 || due[0].Seq != second.Seq || string(due[0].Body) != "second" {
		t.Fatalf("due = %+v, want the second item", due)
	}
	// A JSON item dropped by the earlier build replays into the new form.
	must(r.Drop(ctx, due[0], Drop{Reason: DropExpired, At: time.Now(), Keep: 10}))
	dropped := *due[0]
	dropped.DroppedAt, dropped.DropReason = time.Now(), DropExpired
	raw, err := json.Marshal(&dropped)
	must(err)
	must(r.c.HSet(ctx, r.droppedKeys(c.ID)[0], fmt.Sprint(dropped.Seq), raw).Err())
	back, err := r.Replay(ctx, c.ID, dropped.Seq, time.Now())
	must(err)
	if head, err = r.Head(ctx, c.ID); err != nil || head == nil || head.Seq != back.Seq || string(head.Body) != "second" {
		t.Fatalf("head after replay = %+v, %v; want the replayed item", head, err)
	}
}
