package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/connector-proxy/connector-proxy/internal/redistest"
	"github.com/connector-proxy/connector-proxy/mapping"
)

// listed is the whole of one listing of the rig's store.
func (r *rig) listed(q mapping.OutboxQuery) []*mapping.OutboxItem {
	r.t.Helper()
	q.Limit = mapping.MaxOutboxPage
	p, err := r.store.ListOutbox(context.Background(), q)
	if err != nil {
		r.t.Fatal(err)
	}
	return p.Items
}

// waitItems waits until a listing holds want (the items' bodies, in
// order), checked by ok too when it is set.
func (r *rig) waitItems(what string, q mapping.OutboxQuery, want string, ok func([]*mapping.OutboxItem) bool) []*mapping.OutboxItem {
	r.t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		items := r.listed(q)
		var got []string
		for _, it := range items {
			got = append(got, string(it.Body))
		}
		if strings.Join(got, ",") == want && (ok == nil || ok(items)) {
			return items
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("%s: %v, want %s", what, got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// heldHeads says the head of a listing is held for a pause: not attempted,
// due pauseHold from now.
func (r *rig) heldHead(attempts int) func([]*mapping.OutboxItem) bool {
	return func(items []*mapping.OutboxItem) bool {
		return len(items) > 0 && items[0].Attempts == attempts && items[0].NextAttempt.Equal(r.clock.Now().Add(pauseHold))
	}
}

func TestAnExpiredOrUndeliverableNotificationIsKeptAndAReplayDeliversIt(t *testing.T) {
	r := newRig(t, nil, nil)
	c := r.conversation()
	var down atomic.Bool
	down.Store(true)
	r.send.fail = func(it *mapping.OutboxItem) error {
		switch {
		case string(it.Body) == "msg:poison":
			return fmt.Errorf("%w: the app is gone", ErrPermanent)
		case down.Load():
			return errDown
		}
		return nil
	}
	r.run()
	r.receive(c.ID, "m1")
	pending := mapping.OutboxQuery{State: mapping.OutboxPending, Queue: c.ID}
	r.waitItems("m1 failed once", pending, "msg:m1", func(its []*mapping.OutboxItem) bool { return its[0].Attempts == 1 })
	r.clock.Advance(2 * time.Hour) // past its retention of an hour
	dropped := mapping.OutboxQuery{State: mapping.OutboxDropped, Queue: c.ID}
	kept := r.waitItems("m1 dropped", dropped, "msg:m1", nil)[0]
	if kept.DropReason != mapping.DropExpired || kept.Attempts != 1 || kept.LastError != errDown.Error() || !kept.DroppedAt.Equal(r.clock.Now()) {
		t.Fatalf("kept = %+v", kept)
	}
	r.receive(c.ID, "poison", "m2")
	r.waitItems("poison dropped too", dropped, "msg:m1,msg:poison", func(its []*mapping.OutboxItem) bool {
		return its[1].DropReason == mapping.DropUndeliverable && strings.Contains(its[1].LastError, "the app is gone")
	})
	// Counted once the drop is stored: a moment after the listing shows it.
	deadline := time.Now().Add(waitFor)
	for testutil.ToFloat64(r.p.m.items.WithLabelValues(string(testFace), "k", resultDropped)) != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("dropped counted %v times, want 2", testutil.ToFloat64(r.p.m.items.WithLabelValues(string(testFace), "k", resultDropped)))
		}
		time.Sleep(5 * time.Millisecond)
	}
	r.waitItems("m2 failed once", pending, "msg:m2", func(its []*mapping.OutboxItem) bool { return its[0].Attempts == 1 })
	down.Store(false) // the endpoint is back
	r.clock.Advance(2 * time.Second)
	r.send.waitDelivered(t, c.ID, "msg:m2")
	fresh, err := r.p.Replay(context.Background(), c.ID, kept.Seq)
	if err != nil {
		t.Fatal(err)
	}
	if fresh.Attempts != 0 || !fresh.Expires.Equal(r.clock.Now().Add(time.Hour)) {
		t.Fatalf("replayed = %+v", fresh)
	}
	r.send.waitDelivered(t, c.ID, "msg:m2", "msg:m1")
	if _, err := r.p.Replay(context.Background(), c.ID, kept.Seq); !errors.Is(err, mapping.ErrNotFound) {
		t.Fatalf("a second replay = %v", err)
	}
	r.waitItems("only the poison is left", dropped, "msg:poison", nil)
	deadline = time.Now().Add(waitFor)
	for testutil.ToFloat64(r.p.m.dropped) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("dropped kept gauge = %v, want 1", testutil.ToFloat64(r.p.m.dropped))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestAPauseHoldsDeliveryWithoutExpiryAndResumeReleasesInOrder(t *testing.T) {
	r := newRig(t, nil, nil).run()
	c, other := r.conversation(), r.conversation()
	ctx := context.Background()
	ep := mapping.EndpointID("test://")
	if _, created, err := r.p.Pause(ctx, ep, "test://", "maintenance", "tester"); err != nil || !created {
		t.Fatalf("pause = %v, %v", created, err)
	}
	r.receive(c.ID, "m1", "m2", "m3")
	pending := mapping.OutboxQuery{State: mapping.OutboxPending, Queue: c.ID}
	r.waitItems("m1 held", pending, "msg:m1,msg:m2,msg:m3", r.heldHead(0))
	// Past every item's retention: a paused endpoint's items do not expire.
	r.clock.Advance(2 * time.Hour)
	r.waitItems("m1 held again", pending, "msg:m1,msg:m2,msg:m3", r.heldHead(0))
	if got := r.send.of(c.ID); len(got) != 0 {
		t.Fatalf("delivered %v while paused", got)
	}
	if got := testutil.ToFloat64(r.p.m.paused); got != 1 {
		t.Fatalf("paused endpoints gauge = %v", got)
	}
	deadline := time.Now().Add(waitFor)
	for testutil.ToFloat64(r.p.m.oldest) < (2 * time.Hour).Seconds() {
		if time.Now().After(deadline) {
			t.Fatalf("oldest age = %v, want two hours", testutil.ToFloat64(r.p.m.oldest))
		}
		time.Sleep(5 * time.Millisecond)
	}
	// A second pause keeps the first.
	if rec, created, err := r.p.Pause(ctx, ep, "test://", "again", "tester"); err != nil || created || rec.Reason != "maintenance" {
		t.Fatalf("second pause = %+v, %v, %v", rec, created, err)
	}
	rec, released, err := r.p.Resume(ctx, ep)
	if err != nil || released != 3 || rec.By != "tester" {
		t.Fatalf("resume = %+v, %d, %v", rec, released, err)
	}
	r.send.waitDelivered(t, c.ID, "msg:m1", "msg:m2", "msg:m3")
	if d := r.listed(mapping.OutboxQuery{State: mapping.OutboxDropped}); len(d) != 0 {
		t.Fatalf("dropped %d items of a paused endpoint", len(d))
	}
	if _, _, err := r.p.Resume(ctx, ep); !errors.Is(err, mapping.ErrNotFound) {
		t.Fatalf("second resume = %v", err)
	}
	r.receive(other.ID, "after")
	r.send.waitDelivered(t, other.ID, "msg:after")
}

// Another replica pauses and resumes through the store: this one's
// deliverer honours the pause once it has read it, and releases the queue
// it held once it reads the resume; on the embedded store and on Redis.
func TestAPauseByAnotherReplicaIsSeenWithinTheRefresh(t *testing.T) {
	for _, backend := range []string{"bolt", "redis"} {
		t.Run(backend, func(t *testing.T) {
			var store mapping.Store
			if backend == "redis" {
				srv := redistest.Start(t)
				s, err := mapping.OpenRedis(context.Background(), srv.URL)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				store = s
			}
			r := newRig(t, store, func(c *Config) { c.PauseRefresh = 20 * time.Millisecond }).run()
			c := r.conversation()
			ctx := context.Background()
			r.receive(c.ID, "before")
			r.send.waitDelivered(t, c.ID, "msg:before")
			ep := mapping.EndpointID("test://")
			if _, _, err := r.store.PauseEndpoint(ctx, mapping.EndpointPause{Endpoint: ep, Since: r.clock.Now()}); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(waitFor)
			for testutil.ToFloat64(r.p.m.paused) != 1 {
				if time.Now().After(deadline) {
					t.Fatal("the pause was not read")
				}
				time.Sleep(5 * time.Millisecond)
			}
			r.receive(c.ID, "m1", "m2")
			pending := mapping.OutboxQuery{State: mapping.OutboxPending, Queue: c.ID}
			r.waitItems("m1 held", pending, "msg:m1,msg:m2", r.heldHead(0))
			if _, err := r.store.ResumeEndpoint(ctx, ep); err != nil {
				t.Fatal(err)
			}
			r.send.waitDelivered(t, c.ID, "msg:before", "msg:m1", "msg:m2")
		})
	}
}

func TestTheDroppedAreBoundedPerShard(t *testing.T) {
	// 64 kept in all: one per shard.
	r := newRig(t, nil, func(c *Config) { c.DroppedMax = mapping.Shards })
	r.send.fail = func(*mapping.OutboxItem) error { return ErrPermanent }
	r.run()
	c := r.conversation()
	r.receive(c.ID, "d1", "d2", "d3")
	dropped := mapping.OutboxQuery{State: mapping.OutboxDropped, Queue: c.ID}
	r.waitItems("the last drop kept", dropped, "msg:d3", func([]*mapping.OutboxItem) bool {
		h, _ := r.store.Head(context.Background(), c.ID)
		return h == nil
	})
}
