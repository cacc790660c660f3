package mapping

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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
			c := conv("c1", "d1", alice, time.Unix(20, 0).UTC())
			if err := r.PutConversation(ctx, c); err != nil {
				t.Fatal(err)
			}
			if err := r.Enqueue(ctx, &OutboxItem{Queue: "c1", Body: []byte("n1")}); err != nil {
				t.Fatal(err)
			}
			if first, err := r.MarkSeen(ctx, "msg:1", time.Hour); err != nil || !first {
				t.Fatalf("mark = %v, %v", first, err)
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
				"conversation": func() error { _, err := r.Conversation(bounded, "c1"); return err },
				"dialog":       func() error { _, err := r.ConversationByDialog(bounded, "d1"); return err },
				"owner":        func() error { _, err := r.Conversations(bounded, alice); return err },
				"put":          func() error { return r.PutConversation(bounded, c) },
				"mark seen":    func() error { _, err := r.MarkSeen(bounded, "msg:2", time.Hour); return err },
				"forget seen":  func() error { return r.ForgetSeen(bounded, "msg:2") },
				"enqueue":      func() error { return r.Enqueue(bounded, &OutboxItem{Queue: "c1"}) },
				"heads":        func() error { _, err := r.Heads(bounded); return err },
				"retry":        func() error { return r.Retry(bounded, &OutboxItem{Queue: "c1", Seq: 1}) },
				"remove":       func() error { return r.Remove(bounded, &OutboxItem{Queue: "c1", Seq: 1}) },
				"depth":        func() error { _, err := r.Depth(bounded); return err },
				"lease":        func() error { _, err := r.Lease(bounded, "c1", "r1", time.Second); return err },
				"release":      func() error { return r.Release(bounded, "c1", "r1") },
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
			case tc.keepsData && (err != nil || got.ID != "c1"):
				t.Fatalf("conversation after restart = %+v, %v", got, err)
			case !tc.keepsData && !errors.Is(err, ErrNotFound):
				t.Fatalf("conversation after a crash = %+v, %v; want not found", got, err)
			}
			if first, err := r.MarkSeen(ctx, "msg:1", time.Hour); err != nil || first == tc.keepsData {
				t.Fatalf("dedupe key after restart: first = %v, %v", first, err)
			}
			// Scripts work again, loaded anew when Redis forgot them.
			if err := r.Enqueue(ctx, &OutboxItem{Queue: "c1", Body: []byte("n2")}); err != nil {
				t.Fatal(err)
			}
			want := "map[c1:[n2]]"
			if tc.keepsData {
				want = "map[c1:[n1 n2]]"
			}
			if got := drain(t, r); fmt.Sprint(got) != want {
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
	bob := alice
	bob.Consumer = "bob"
	now := time.Now()
	open := conv("open", "d-open", alice, now)
	closed := conv("closed", "d-closed", alice, now.Add(time.Millisecond))
	closed.State, closed.ClosedAt = StateClosed, now
	bobs := conv("bobs", "d-bobs", bob, now)
	bobs.State, bobs.ClosedAt = StateClosed, now
	for _, c := range []*Conversation{open, closed, bobs} {
		if err := r.PutConversation(ctx, c); err != nil {
			t.Fatal(err)
		}
	}

	// Before the retention: everything is there; what will expire has a TTL.
	if got, err := r.Conversations(ctx, alice); err != nil || fmt.Sprint(ids(got)) != "[open closed]" {
		t.Fatalf("alice's conversations = %v, %v", ids(got), err)
	}
	ttls := []struct {
		key     string
		expires bool
	}{
		{r.convKey("open"), false},
		{r.dialogKey("d-open"), false},
		{r.convKey("closed"), true},
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
		_, err := r.Conversation(ctx, "closed")
		_, err2 := r.Conversation(ctx, "bobs")
		return errors.Is(err, ErrNotFound) && errors.Is(err2, ErrNotFound)
	})
	if _, err := r.ConversationByDialog(ctx, "d-closed"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("dialog of an expired conversation: %v", err)
	}
	if got, err := r.Conversations(ctx, alice); err != nil || fmt.Sprint(ids(got)) != "[open]" {
		t.Fatalf("alice's conversations after retention = %v, %v", ids(got), err)
	}
	if n, _ := r.c.ZCard(ctx, r.ownerKey(alice)).Result(); n != 1 {
		t.Fatalf("alice's owner index keeps %d entries, want the stale one removed", n)
	}
	waitFor(t, "bob's owner index expires", func() bool { return pttl(r.ownerKey(bob)) == -2 })

	// Reopening a closed conversation makes it permanent again.
	closed.State, closed.ClosedAt = StateClosed, time.Now()
	if err := r.PutConversation(ctx, closed); err != nil {
		t.Fatal(err)
	}
	closed.State, closed.ClosedAt = StateOpen, time.Time{}
	if err := r.PutConversation(ctx, closed); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{r.convKey("closed"), r.dialogKey("d-closed"), r.ownerKey(alice)} {
		if d := pttl(k); d != -1 {
			t.Errorf("%s after reopening: PTTL = %s, want none", k, d)
		}
	}

	// An owner whose index was set to expire keeps it once a new
	// conversation opens.
	carol := alice
	carol.Consumer = "carol"
	old := conv("carol-old", "d-carol-old", carol, time.Now())
	old.State, old.ClosedAt = StateClosed, time.Now()
	if err := r.PutConversation(ctx, old); err != nil {
		t.Fatal(err)
	}
	if d := pttl(r.ownerKey(carol)); d <= 0 {
		t.Fatalf("owner index with only closed conversations: PTTL = %s", d)
	}
	if err := r.PutConversation(ctx, conv("carol-new", "d-carol-new", carol, time.Now())); err != nil {
		t.Fatal(err)
	}
	if d := pttl(r.ownerKey(carol)); d != -1 {
		t.Fatalf("owner index with an open conversation: PTTL = %s, want none", d)
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
			c := conv(fmt.Sprint("c", i), fmt.Sprint("d", i), alice, clk.now())
			c.State, c.ClosedAt = StateClosed, clk.now().Add(-tc.closedAt)
			if err := r.PutConversation(ctx, c); err != nil {
				t.Fatal(err)
			}
			d, err := r.c.PTTL(ctx, r.convKey(c.ID)).Result()
			if err != nil || d < tc.min || d > tc.max {
				t.Fatalf("PTTL = %s, %v; want within [%s, %s]", d, err, tc.min, tc.max)
			}
		})
	}
	t.Run("closed longer ago than the retention is gone at once", func(t *testing.T) {
		c := conv("old", "d-old", alice, clk.now())
		c.State, c.ClosedAt = StateClosed, clk.now().Add(-2*time.Hour)
		if err := r.PutConversation(ctx, c); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "expired", func() bool {
			_, err := r.Conversation(ctx, "old")
			return errors.Is(err, ErrNotFound)
		})
	})
}

func TestRedisKeysStayUnderThePrefixWithHashTags(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	r := openRedis(t, srv.URL, "tenant-a:")
	other := openRedis(t, srv.URL, "tenant-b:")
	c := conv("c1", "d1", alice, time.Unix(1, 0))
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(r.PutSession(ctx, alice, SessionRef{SessionID: "s"}))
	must(r.PutConversation(ctx, c))
	_, err := r.MarkSeen(ctx, "m", time.Hour)
	must(err)
	must(r.Enqueue(ctx, &OutboxItem{Queue: "c1"}))
	_, err = r.Lease(ctx, "c1", "r1", time.Hour)
	must(err)

	// The other prefix sees none of it.
	if _, err := other.Conversation(ctx, "c1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("other prefix sees the conversation: %v", err)
	}
	if d, _ := other.Depth(ctx); d != 0 {
		t.Fatalf("other prefix's depth = %d", d)
	}
	keys, err := r.c.Keys(ctx, "*").Result()
	must(err)
	if len(keys) < 9 {
		t.Fatalf("keys = %v", keys)
	}
	for _, k := range keys {
		rest, ok := strings.CutPrefix(k, "tenant-a:")
		if !ok {
			t.Errorf("key %q outside the prefix", k)
			continue
		}
		multi := strings.HasPrefix(rest, "{conv}:") || strings.HasPrefix(rest, "{outbox}:")
		single := strings.HasPrefix(rest, "s:") || strings.HasPrefix(rest, "seen:")
		if !multi && !single {
			t.Errorf("key %q has neither a hash tag nor a single-key kind", k)
		}
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
		a := conv(id1, "", alice, time.Unix(0, at1))
		b := conv(id2, "", alice, time.Unix(0, at2))
		ma, mb := ownerMember(a), ownerMember(b)
		if ma[16:] != id1 || mb[16:] != id2 {
			t.Fatalf("ids from members %q, %q", ma, mb)
		}
		if got, want := strings.Compare(ma, mb), bytes.Compare(ownerKey(a), ownerKey(b)); got != want {
			t.Fatalf("redis order %d, bolt order %d for (%d,%q) and (%d,%q)", got, want, at1, id1, at2, id2)
		}
	})
}
