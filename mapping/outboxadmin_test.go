package mapping

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

// listAll pages through a listing, limit items a page, and returns every
// item it gave.
func listAll(t *testing.T, s Store, q OutboxQuery) []*OutboxItem {
	t.Helper()
	var out []*OutboxItem
	for range 1000 {
		p, err := s.ListOutbox(context.Background(), q)
		if err != nil {
			t.Fatalf("list %+v: %v", q, err)
		}
		if len(p.Items) > q.Limit {
			t.Fatalf("a page of %d items, limit %d", len(p.Items), q.Limit)
		}
		out = append(out, p.Items...)
		if p.Next == "" {
			return out
		}
		q.Cursor = p.Next
	}
	t.Fatal("the listing never ended")
	return nil
}

func bodies(items []*OutboxItem) []string {
	var out []string
	for _, it := range items {
		out = append(out, string(it.Body))
	}
	return out
}

// commitItems queues items of c, each a body, and returns them with their
// seqs.
func commitItems(t *testing.T, s Store, c *Conversation, names ...string) []*OutboxItem {
	t.Helper()
	var its []*OutboxItem
	for _, n := range names {
		its = append(its, item(c, n))
	}
	if err := s.Commit(context.Background(), &Change{Outbox: its}); err != nil {
		t.Fatal(err)
	}
	return its
}

func dropAt(at time.Time) Drop {
	return Drop{Reason: DropExpired, At: at, Keep: 100, KeepFor: 0}
}

// outboxAdminTests is the behaviour of the outbox's operator side that
// every Store shares (run by testStore).
func outboxAdminTests(b storeBackend) []struct {
	name string
	run  func(t *testing.T, s Store)
} {
	ctx := context.Background()
	return []struct {
		name string
		run  func(t *testing.T, s Store)
	}{
		{"a dropped item leaves its queue and is kept, in one step, once", func(t *testing.T, s Store) {
			c := create(t, s, conv(alice, "d1", time.Unix(1, 0)))
			its := commitItems(t, s, c, "x", "y")
			x := its[0]
			x.Attempts, x.LastError, x.Headers = 4, "503", map[string]string{"x-liveperson-client-id": "app"}
			at := time.Unix(2000, 0).UTC()
			for range 2 { // a second drop of the same item keeps nothing more
				if err := s.Drop(ctx, x, Drop{Reason: DropExpired, At: at, Keep: 10}); err != nil {
					t.Fatal(err)
				}
			}
			if h, err := s.Head(ctx, c.ID); err != nil || h == nil || string(h.Body) != "y" {
				t.Fatalf("head after the drop = %+v, %v; want y", h, err)
			}
			if heads, _ := s.Due(ctx, ShardOf(c.ID), time.Now().Add(time.Hour), 10); len(heads) != 1 || string(heads[0].Body) != "y" {
				t.Fatalf("due after the drop = %v", heads)
			}
			got := listAll(t, s, OutboxQuery{State: OutboxDropped, Limit: 10})
			if len(got) != 1 {
				t.Fatalf("dropped = %v, want x", bodies(got))
			}
			d := got[0]
			if d.Queue != c.ID || d.Seq != x.Seq || string(d.Body) != "x" || d.DropReason != DropExpired || !d.DroppedAt.Equal(at) ||
				d.Attempts != 4 || d.LastError != "503" || d.Headers["x-liveperson-client-id"] != "app" || d.Target != x.Target {
				t.Fatalf("dropped item = %+v", d)
			}
			if p := listAll(t, s, OutboxQuery{State: OutboxPending, Limit: 10}); fmt.Sprint(bodies(p)) != "[y]" {
				t.Fatalf("pending = %v", bodies(p))
			}
			// An item that went meanwhile (delivered elsewhere) is not kept.
			y := its[1]
			if _, err := s.Remove(ctx, y); err != nil {
				t.Fatal(err)
			}
			if err := s.Drop(ctx, y, dropAt(at)); err != nil {
				t.Fatal(err)
			}
			st, err := s.OutboxStats(ctx)
			if err != nil || st.Pending != 0 || st.Dropped != 1 || !st.OldestPending.IsZero() {
				t.Fatalf("stats = %+v, %v; want nothing pending, one dropped", st, err)
			}
			if d, _ := s.Depth(ctx); d != 0 {
				t.Fatalf("depth = %d", d)
			}
			if err := s.Drop(ctx, x, Drop{Reason: "", At: at, Keep: 1}); err == nil {
				t.Fatal("a drop without reason was taken")
			}
		}},
		{"a replayed item goes to the tail of its queue, fresh, once", func(t *testing.T, s Store) {
			c := create(t, s, conv(alice, "d1", time.Unix(1, 0)))
			its := commitItems(t, s, c, "a", "b", "c")
			a := its[0]
			a.EnqueuedAt = time.Unix(100, 0)
			a.Expires = a.EnqueuedAt.Add(10 * time.Minute)
			a.Attempts, a.LastError = 7, "timeout"
			if err := s.Drop(ctx, a, dropAt(time.Unix(800, 0))); err != nil {
				t.Fatal(err)
			}
			later := commitItems(t, s, c, "d")[0]
			now := time.Unix(5000, 0).UTC()
			fresh, err := s.Replay(ctx, c.ID, a.Seq, now)
			if err != nil {
				t.Fatal(err)
			}
			if fresh.Seq <= later.Seq || fresh.Attempts != 0 || fresh.LastError != "" || !fresh.NextAttempt.Equal(now) ||
				!fresh.EnqueuedAt.Equal(now) || !fresh.Expires.Equal(now.Add(10*time.Minute)) || fresh.Replays != 1 ||
				!fresh.DroppedAt.IsZero() || fresh.DropReason != "" || string(fresh.Body) != "a" {
				t.Fatalf("replayed = %+v", fresh)
			}
			if _, err := s.Replay(ctx, c.ID, a.Seq, now); !errors.Is(err, ErrNotFound) {
				t.Fatalf("a second replay = %v, want not found", err)
			}
			if d := listAll(t, s, OutboxQuery{State: OutboxDropped, Limit: 10}); len(d) != 0 {
				t.Fatalf("still dropped: %v", bodies(d))
			}
			pend := listAll(t, s, OutboxQuery{State: OutboxPending, Queue: c.ID, Limit: 10})
			if fmt.Sprint(bodies(pend)) != "[b c d a]" || pend[3].Seq != fresh.Seq || pend[3].Replays != 1 {
				t.Fatalf("pending = %v", bodies(pend))
			}
			if got := drainOutbox(t, s); fmt.Sprint(got[c.ID]) != "[b c d a]" {
				t.Fatalf("delivery order = %v", got[c.ID])
			}
			// Into an empty queue: its head, due now, the oldest pending.
			e := create(t, s, conv(bob, "d2", time.Unix(1, 0)))
			lone := commitItems(t, s, e, "lone")[0]
			if err := s.Drop(ctx, lone, dropAt(now)); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Replay(ctx, e.ID, lone.Seq, now); err != nil {
				t.Fatal(err)
			}
			heads, err := s.Due(ctx, ShardOf(e.ID), now, 10)
			if err != nil || len(heads) != 1 || string(heads[0].Body) != "lone" {
				t.Fatalf("due after replay into an empty queue = %v, %v", heads, err)
			}
			if st, _ := s.OutboxStats(ctx); st.Pending != 1 || !st.OldestPending.Equal(now) {
				t.Fatalf("stats = %+v, want one pending enqueued at the replay", st)
			}
		}},
		{"the dropped items are bounded per shard, oldest first, and expire after their retention", func(t *testing.T, s Store) {
			c := create(t, s, conv(alice, "d1", time.Unix(1, 0)))
			shard := ShardOf(c.ID)
			its := commitItems(t, s, c, "1", "2", "3", "4", "5")
			for i, it := range its[:3] {
				if err := s.Drop(ctx, it, Drop{Reason: DropUndeliverable, At: time.Unix(int64(100*(i+1)), 0), Keep: 2}); err != nil {
					t.Fatal(err)
				}
			}
			if got := listAll(t, s, OutboxQuery{State: OutboxDropped, Limit: 10}); fmt.Sprint(bodies(got)) != "[2 3]" {
				t.Fatalf("kept %v, want the two dropped last", bodies(got))
			}
			// Dropped at 1000 with a retention of 750 s: those before 250 go.
			if err := s.Drop(ctx, its[3], Drop{Reason: DropExpired, At: time.Unix(1000, 0), Keep: 10, KeepFor: 750 * time.Second}); err != nil {
				t.Fatal(err)
			}
			if got := listAll(t, s, OutboxQuery{State: OutboxDropped, Limit: 10}); fmt.Sprint(bodies(got)) != "[3 4]" {
				t.Fatalf("kept %v after the retention trim", bodies(got))
			}
			if n, err := s.ExpireDropped(ctx, (shard+1)%Shards, time.Unix(5000, 0)); err != nil || n != 0 {
				t.Fatalf("expire another shard = %d, %v", n, err)
			}
			if n, err := s.ExpireDropped(ctx, shard, time.Unix(500, 0)); err != nil || n != 1 {
				t.Fatalf("expire = %d, %v; want item 3", n, err)
			}
			if got := listAll(t, s, OutboxQuery{State: OutboxDropped, Limit: 10}); fmt.Sprint(bodies(got)) != "[4]" {
				t.Fatalf("kept %v after the expiry", bodies(got))
			}
			if st, _ := s.OutboxStats(ctx); st.Dropped != 1 || st.Pending != 1 {
				t.Fatalf("stats = %+v", st)
			}
			if _, err := s.ExpireDropped(ctx, Shards, time.Now()); err == nil {
				t.Fatal("a shard out of range was taken")
			}
		}},
		{"listings page through every queue in order and filter", func(t *testing.T, s Store) {
			var convs []*Conversation
			for i := range 4 {
				owner := ConsumerKey{Face: FaceConnectorAPI, Account: "a", App: "app", Consumer: fmt.Sprint("c", i)}
				c := create(t, s, conv(owner, fmt.Sprint("d", i), time.Unix(1, 0)))
				convs = append(convs, c)
				var its []*OutboxItem
				for j := range 5 {
					it := item(c, fmt.Sprint(i, "-", j))
					it.App = fmt.Sprint("app", j%2)
					if j == 4 {
						it.Target = "http://other/" + c.ID
					}
					its = append(its, it)
				}
				if err := s.Commit(ctx, &Change{Outbox: its}); err != nil {
					t.Fatal(err)
				}
			}
			for _, limit := range []int{1, 3, 7, 1000} {
				got := listAll(t, s, OutboxQuery{State: OutboxPending, Limit: limit})
				if len(got) != 20 {
					t.Fatalf("limit %d: %d items listed, want 20", limit, len(got))
				}
				byQueue := map[string][]string{}
				seen := map[string]bool{}
				for _, it := range got {
					k := fmt.Sprint(it.Queue, it.Seq)
					if seen[k] {
						t.Fatalf("limit %d: %s listed twice", limit, k)
					}
					seen[k] = true
					byQueue[it.Queue] = append(byQueue[it.Queue], string(it.Body))
				}
				for i, c := range convs {
					want := fmt.Sprintf("[%d-0 %d-1 %d-2 %d-3 %d-4]", i, i, i, i, i)
					if fmt.Sprint(byQueue[c.ID]) != want {
						t.Fatalf("limit %d: queue %d listed %v", limit, i, byQueue[c.ID])
					}
				}
			}
			one := listAll(t, s, OutboxQuery{State: OutboxPending, Queue: convs[2].ID, Limit: 2})
			if fmt.Sprint(bodies(one)) != "[2-0 2-1 2-2 2-3 2-4]" {
				t.Fatalf("one conversation = %v", bodies(one))
			}
			apps := listAll(t, s, OutboxQuery{State: OutboxPending, App: "app1", Limit: 2})
			if len(apps) != 8 || slices.ContainsFunc(apps, func(it *OutboxItem) bool { return it.App != "app1" }) {
				t.Fatalf("app1 = %v", bodies(apps))
			}
			ep := listAll(t, s, OutboxQuery{State: OutboxPending, Endpoint: EndpointID("http://other/" + convs[1].ID), Face: FaceConnectorAPI, Limit: 5})
			if fmt.Sprint(bodies(ep)) != "[1-4]" {
				t.Fatalf("one endpoint = %v", bodies(ep))
			}
			if got := listAll(t, s, OutboxQuery{State: OutboxPending, Face: "other", Limit: 5}); len(got) != 0 {
				t.Fatalf("another face = %v", bodies(got))
			}
			for _, q := range []OutboxQuery{
				{State: OutboxPending, Limit: 0}, {State: OutboxPending, Limit: MaxOutboxPage + 1}, {State: "gone", Limit: 1},
			} {
				if _, err := s.ListOutbox(ctx, q); err == nil {
					t.Errorf("query %+v was taken", q)
				}
			}
			if _, err := s.ListOutbox(ctx, OutboxQuery{State: OutboxPending, Limit: 1, Cursor: "not a cursor"}); !errors.Is(err, ErrBadCursor) {
				t.Errorf("a bad cursor = %v", err)
			}
		}},
		{"an item is discarded from either set once", func(t *testing.T, s Store) {
			c := create(t, s, conv(alice, "d1", time.Unix(1, 0)))
			its := commitItems(t, s, c, "p1", "p2", "p3")
			if err := s.Drop(ctx, its[2], dropAt(time.Unix(10, 0))); err != nil {
				t.Fatal(err)
			}
			gone, err := s.DiscardOutbox(ctx, OutboxPending, c.ID, its[0].Seq)
			if err != nil || string(gone.Body) != "p1" || gone.Seq != its[0].Seq || gone.Queue != c.ID {
				t.Fatalf("discard = %+v, %v", gone, err)
			}
			if h, _ := s.Head(ctx, c.ID); h == nil || string(h.Body) != "p2" {
				t.Fatalf("head after discarding it = %+v", h)
			}
			if _, err := s.DiscardOutbox(ctx, OutboxPending, c.ID, its[0].Seq); !errors.Is(err, ErrNotFound) {
				t.Fatalf("second discard = %v", err)
			}
			if _, err := s.DiscardOutbox(ctx, OutboxPending, c.ID, its[2].Seq); !errors.Is(err, ErrNotFound) {
				t.Fatalf("a dropped item discarded as pending = %v", err)
			}
			if gone, err := s.DiscardOutbox(ctx, OutboxDropped, c.ID, its[2].Seq); err != nil || string(gone.Body) != "p3" || gone.DropReason != DropExpired {
				t.Fatalf("discard dropped = %+v, %v", gone, err)
			}
			if _, err := s.DiscardOutbox(ctx, OutboxDropped, c.ID, its[2].Seq); !errors.Is(err, ErrNotFound) {
				t.Fatalf("second discard of the dropped = %v", err)
			}
			if _, err := s.Replay(ctx, c.ID, its[2].Seq, time.Now()); !errors.Is(err, ErrNotFound) {
				t.Fatalf("replay of a discarded item = %v", err)
			}
			if _, err := s.DiscardOutbox(ctx, "both", c.ID, its[1].Seq); err == nil || errors.Is(err, ErrNotFound) {
				t.Fatalf("an unknown state = %v", err)
			}
			if st, _ := s.OutboxStats(ctx); st.Pending != 1 || st.Dropped != 0 {
				t.Fatalf("stats = %+v", st)
			}
		}},
		{"the stats find the oldest pending item across queues", func(t *testing.T, s Store) {
			a := create(t, s, conv(alice, "da", time.Unix(1, 0)))
			bc := create(t, s, conv(bob, "db", time.Unix(1, 0)))
			mk := func(c *Conversation, body string, enq int64) *OutboxItem {
				it := item(c, body)
				it.EnqueuedAt = time.Unix(enq, 0)
				return it
			}
			a1, a2, b1 := mk(a, "a1", 100), mk(a, "a2", 200), mk(bc, "b1", 50)
			for _, ch := range []*Change{{Outbox: []*OutboxItem{a1, a2}}, {Outbox: []*OutboxItem{b1}}} {
				if err := s.Commit(ctx, ch); err != nil {
					t.Fatal(err)
				}
			}
			steps := []struct {
				do   func() error
				want int64 // oldest enqueue time, 0 for none
			}{
				{func() error { return nil }, 50},
				{func() error { _, err := s.Remove(ctx, b1); return err }, 100},
				{func() error { return s.Drop(ctx, a1, dropAt(time.Unix(300, 0))) }, 200},
				{func() error { _, err := s.DiscardOutbox(ctx, OutboxPending, a.ID, a2.Seq); return err }, 0},
			}
			for i, st := range steps {
				if err := st.do(); err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				got, err := s.OutboxStats(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if (st.want == 0) != got.OldestPending.IsZero() || st.want != 0 && !got.OldestPending.Equal(time.Unix(st.want, 0)) {
					t.Fatalf("step %d: oldest pending %s, want %d", i, got.OldestPending, st.want)
				}
			}
		}},
		{"an endpoint's pause is shared by replicas and ends once", func(t *testing.T, s Store) {
			other := b.peer(t, s)
			since := time.Unix(1000, 0).UTC()
			p := EndpointPause{Endpoint: EndpointID("https://hooks.example/a"), Target: "https://hooks.example/a", Reason: "maintenance", By: "ops", Since: since}
			rec, created, err := s.PauseEndpoint(ctx, p)
			if err != nil || !created || rec != p {
				t.Fatalf("pause = %+v, %v, %v", rec, created, err)
			}
			again := p
			again.Since, again.Reason = since.Add(time.Hour), "again"
			if rec, created, err := other.PauseEndpoint(ctx, again); err != nil || created || rec != p {
				t.Fatalf("a second pause = %+v, %v, %v; want the first kept", rec, created, err)
			}
			second := EndpointPause{Endpoint: EndpointID("https://hooks.example/b"), Since: since}
			if _, _, err := s.PauseEndpoint(ctx, second); err != nil {
				t.Fatal(err)
			}
			all, err := other.Pauses(ctx)
			if err != nil || len(all) != 2 || !slices.Contains(all, p) || !slices.Contains(all, second) {
				t.Fatalf("pauses seen by a peer = %+v, %v", all, err)
			}
			if rec, err := other.ResumeEndpoint(ctx, p.Endpoint); err != nil || rec != p {
				t.Fatalf("resume = %+v, %v", rec, err)
			}
			if _, err := s.ResumeEndpoint(ctx, p.Endpoint); !errors.Is(err, ErrNotFound) {
				t.Fatalf("second resume = %v", err)
			}
			if all, _ := s.Pauses(ctx); len(all) != 1 || all[0] != second {
				t.Fatalf("pauses after resume = %+v", all)
			}
			if _, _, err := s.PauseEndpoint(ctx, EndpointPause{}); err == nil {
				t.Fatal("a pause without endpoint was taken")
			}
		}},
	}
}

func TestEndpointIDsAreShortStableAndDistinct(t *testing.T) {
	a, b := EndpointID("https://hooks.example/a"), EndpointID("https://hooks.example/b")
	if len(a) != 16 || a == b || a != EndpointID("https://hooks.example/a") {
		t.Fatalf("ids %q %q", a, b)
	}
}

func TestRenewedKeepsTheRetentionItWasGiven(t *testing.T) {
	now := time.Unix(10_000, 0)
	tests := []struct {
		name         string
		enq, expires time.Time
		want         time.Duration
	}{
		{"its own retention", time.Unix(100, 0), time.Unix(100, 0).Add(3 * time.Hour), 3 * time.Hour},
		{"no enqueue time: an hour", time.Time{}, time.Unix(100, 0), time.Hour},
		{"no expiry: an hour", time.Unix(100, 0), time.Time{}, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it := &OutboxItem{Queue: "q", Seq: 9, EnqueuedAt: tt.enq, Expires: tt.expires, Attempts: 3, Replays: 1, DropReason: DropExpired}
			got := Renewed(it, now)
			if got.Expires.Sub(now) != tt.want || got.Seq != 0 || got.Attempts != 0 || got.Replays != 2 || got.DropReason != "" || it.Attempts != 3 {
				t.Fatalf("renewed = %+v (from %+v)", got, it)
			}
		})
	}
}
