package pipeline

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/internal/redistest"
	"github.com/connector-proxy/connector-proxy/mapping"
)

func TestEventsApplyOnceInOrderAndTheirNotificationsFollow(t *testing.T) {
	r := newRig(t, nil, nil).run()
	a, b := r.conversation(), r.conversation()
	r.receive(a.ID, "a1", "a2")
	r.receive(b.ID, "b1")
	r.receive(a.ID, "a2", "a3", "a1") // AXP's re-sends
	r.receive(b.ID, "b2")
	r.waitApplied(a.ID, "msg:a1,msg:a2,msg:a3,")
	r.waitApplied(b.ID, "msg:b1,msg:b2,")
	r.send.waitDelivered(t, a.ID, "msg:a1", "msg:a2", "msg:a3")
	r.send.waitDelivered(t, b.ID, "msg:b1", "msg:b2")
	if es := r.inbox(a.ID); len(es) != 0 {
		t.Fatalf("inbox keeps %d applied entries", len(es))
	}
}

func TestUnroutableEventsAreAcknowledgedAndDropped(t *testing.T) {
	r := newRig(t, nil, nil).run()
	tests := []struct {
		name string
		raw  string
	}{
		{"no dialog at all", `{"eventType":"MESSAGES","messageId":"m"}`},
		{"a dialog the proxy does not know, no providerDialogId", `{"eventType":"MESSAGES","messageId":"m","dialogId":"other-connector"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := engagement.DecodeEvent([]byte(tt.raw))
			if err != nil {
				t.Fatal(err)
			}
			if err := r.p.HandleEvent(context.Background(), ev); err != nil {
				t.Fatalf("err = %v, want it acknowledged", err)
			}
		})
	}
	// An event of a known dialog without providerDialogId is routed by the
	// dialog index.
	c := r.conversation()
	ev, err := engagement.DecodeEvent([]byte(`{"eventType":"MESSAGES","messageId":"by-dialog","dialogId":"` + c.DialogID + `"}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.p.HandleEvent(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	r.waitApplied(c.ID, "msg:by-dialog,")
}

// TestAnEventThatOvertakesItsConversationWaitsForIt: AXP's webhook can
// arrive before the create call that made the dialog is answered; it is
// kept, and applied once the conversation is written.
func TestAnEventThatOvertakesItsConversationWaitsForIt(t *testing.T) {
	r := newRig(t, nil, nil).run()
	id := mapping.NewConversationID(owner)
	r.receive(id, "early1", "early2")
	deadline := time.Now().Add(waitFor)
	for len(r.inbox(id)) != 2 {
		if time.Now().After(deadline) {
			t.Fatal("the early events were not kept")
		}
		time.Sleep(5 * time.Millisecond)
	}
	c := &mapping.Conversation{ID: id, Owner: owner, State: mapping.StateOpen, CreatedAt: time.Unix(1, 0)}
	if err := r.store.Commit(context.Background(), &mapping.Change{Conv: c}); err != nil {
		t.Fatal(err)
	}
	r.p.Poke(id)
	r.waitApplied(id, "msg:early1,msg:early2,")
	r.send.waitDelivered(t, id, "msg:early1", "msg:early2")
}

func TestEventsOfAConversationThatNeverComesAreDiscardedAfterParkFor(t *testing.T) {
	r := newRig(t, nil, func(c *Config) { c.ParkFor = time.Minute }).run()
	id := mapping.NewConversationID(owner)
	r.receive(id, "stray")
	r.clock.Advance(2 * time.Minute)
	deadline := time.Now().Add(waitFor)
	for len(r.inbox(id)) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the stray event was never discarded")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Its dedupe key stays: AXP's re-send is not taken again.
	if dup, err := r.store.Receive(context.Background(), &mapping.InboxEntry{Conversation: id, Key: "msg:stray", Event: []byte(`{}`)}, time.Hour); err != nil || !dup {
		t.Fatalf("re-send after discard: dup %v, %v", dup, err)
	}
}

// conflictStore makes the first commit of events (applied as they arrive,
// or from the inbox) meet a client command that changed the conversation
// just before.
type conflictStore struct {
	mapping.Store
	once sync.Once
}

func (s *conflictStore) Commit(ctx context.Context, ch *mapping.Change) error {
	if len(ch.Done) > 0 || ch.Applied != nil {
		s.once.Do(func() {
			_, _ = mapping.Update(ctx, s.Store, ch.Conv.ID, func(c *mapping.Conversation) ([]*mapping.OutboxItem, error) {
				if c.Attrs == nil {
					c.Attrs = map[string]string{}
				}
				c.Attrs["command"] = "CLOSE"
				return nil, nil
			})
		})
	}
	return s.Store.Commit(ctx, ch)
}

func TestAConcurrentClientCommandMakesTheEventsApplyAgainOnItsState(t *testing.T) {
	b, err := mapping.OpenBolt(filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	r := newRig(t, &conflictStore{Store: b}, nil).run()
	c := r.conversation()
	r.receive(c.ID, "m1")
	r.waitApplied(c.ID, "msg:m1,")
	got, _ := r.store.Conversation(context.Background(), c.ID)
	if got.Attrs["command"] != "CLOSE" {
		t.Fatalf("the client command's change was lost: %+v", got.Attrs)
	}
	r.send.waitDelivered(t, c.ID, "msg:m1")
	if r.face.calls != 2 {
		t.Fatalf("Apply ran %d times, want twice (once more after the conflict)", r.face.calls)
	}
	if es := r.inbox(c.ID); len(es) != 0 {
		t.Fatalf("inbox keeps %d entries", len(es))
	}
}

// TestAShardHeldByAnotherReplicaWaitsForItsLeaseThenIsTakenOver plays a
// replica that died holding a shard: nothing of the shard is applied or
// delivered while its lease runs, all of it in order once it has run out.
func TestAShardHeldByAnotherReplicaWaitsForItsLeaseThenIsTakenOver(t *testing.T) {
	r := newRig(t, nil, func(c *Config) { c.LeaseTTL = 300 * time.Millisecond })
	c := r.conversation()
	shard := mapping.ShardOf(c.ID)
	if ok, err := r.store.Lease(context.Background(), shard, "dead-replica", time.Second); err != nil || !ok {
		t.Fatalf("lease as the dead replica: %v, %v", ok, err)
	}
	taken := time.Now()
	r.run()
	r.receive(c.ID, "m1", "m2")
	for time.Since(taken) < 800*time.Millisecond {
		if got := r.applied(c.ID); got != "" {
			t.Fatalf("applied %q while another replica held the shard", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.waitApplied(c.ID, "msg:m1,msg:m2,")
	r.send.waitDelivered(t, c.ID, "msg:m1", "msg:m2")
	// The commit of a replica that lost the shard is refused.
	if err := r.store.Commit(context.Background(), &mapping.Change{Conv: c, Fence: &mapping.Fence{Shard: shard, Holder: "dead-replica"}}); !errors.Is(err, mapping.ErrNotOwner) {
		t.Fatalf("the dead replica's commit = %v, want ErrNotOwner", err)
	}
}

func TestAStoppedPipelineGivesItsShardsBack(t *testing.T) {
	r := newRig(t, nil, nil).run()
	c := r.conversation()
	r.receive(c.ID, "m1")
	r.waitApplied(c.ID, "msg:m1,")
	shard := mapping.ShardOf(c.ID)
	if ok, _ := r.store.Lease(context.Background(), shard, "other", time.Minute); ok {
		t.Fatal("another replica took a shard the running pipeline holds")
	}
	r.halt()
	if ok, err := r.store.Lease(context.Background(), shard, "other", time.Minute); err != nil || !ok {
		t.Fatalf("after the pipeline stopped, its shard stayed taken: %v, %v", ok, err)
	}
}

func TestReplicasSplitTheShardsAndOneTakesAllWhenTheOtherStops(t *testing.T) {
	srv := redistest.Start(t)
	open := func() mapping.Store {
		s, err := mapping.OpenRedis(context.Background(), srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a := newRig(t, open(), func(c *Config) { c.Holder, c.LeaseTTL = "a", 300*time.Millisecond }).run()
	b := newRig(t, open(), func(c *Config) { c.Holder, c.LeaseTTL = "b", 300*time.Millisecond }).run()
	deadline := time.Now().Add(waitFor)
	for {
		na, nb := len(a.p.shards.owned()), len(b.p.shards.owned())
		if na+nb == mapping.Shards && na == mapping.Shards/2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("shards split %d / %d", na, nb)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, s := range a.p.shards.owned() {
		if b.p.shards.holds(s) {
			t.Fatalf("shard %d held by both", s)
		}
	}
	a.halt()
	for len(b.p.shards.owned()) != mapping.Shards {
		if time.Now().After(deadline) {
			t.Fatalf("the survivor holds %d shards", len(b.p.shards.owned()))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDeliveryBacksOffDropsWhatCannotBeDeliveredAndKeepsOrder(t *testing.T) {
	r := newRig(t, nil, nil)
	c, poisoned := r.conversation(), r.conversation()
	var down atomic.Bool // c's endpoint
	down.Store(true)
	r.send.fail = func(it *mapping.OutboxItem) error {
		switch {
		case string(it.Body) == "msg:poison":
			return fmt.Errorf("%w: nobody takes it", ErrPermanent)
		case it.Queue == c.ID && down.Load():
			return errDown
		}
		return nil
	}
	r.run()
	r.receive(c.ID, "m1", "m2")
	r.receive(poisoned.ID, "poison", "after")
	r.send.waitDelivered(t, poisoned.ID, "msg:after")
	// m1 failed; the clock has not moved past its backoff, so it waits.
	deadline := time.Now().Add(waitFor)
	for {
		hs, err := r.store.Due(context.Background(), mapping.ShardOf(c.ID), r.clock.Now().Add(time.Hour), 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(hs) == 1 && hs[0].Attempts == 1 && hs[0].LastError == errDown.Error() && string(hs[0].Body) == "msg:m1" {
			if !hs[0].NextAttempt.Equal(r.clock.Now().Add(2 * time.Second)) {
				t.Fatalf("next attempt %s, want 2 s after the failure", hs[0].NextAttempt)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("heads %+v, want m1 failed once", hs)
		}
		time.Sleep(5 * time.Millisecond)
	}
	down.Store(false)
	time.Sleep(50 * time.Millisecond)
	if got := r.send.of(c.ID); len(got) != 0 {
		t.Fatalf("delivered %v before the backoff passed", got)
	}
	r.clock.Advance(2 * time.Second)
	r.send.waitDelivered(t, c.ID, "msg:m1", "msg:m2")
}

func TestConversationsThatWaitedForABusyWorkerAreDeliveredWhenItFrees(t *testing.T) {
	// One worker and no periodic sweep: only the worker's end can start
	// the queues that were hinted while it was busy.
	r := newRig(t, nil, func(c *Config) { c.DeliveryWorkers = 1; c.PollInterval = time.Hour })
	first := r.conversation()
	gate, entered := make(chan struct{}), make(chan struct{}, 1)
	r.send.fail = func(it *mapping.OutboxItem) error {
		if it.Queue == first.ID {
			entered <- struct{}{}
			<-gate
		}
		return nil
	}
	r.run()
	r.receive(first.ID, "held")
	select {
	case <-entered:
	case <-time.After(waitFor):
		t.Fatal("the first notification was never sent")
	}
	others := make([]*mapping.Conversation, 5)
	for i := range others {
		others[i] = r.conversation()
		r.receive(others[i].ID, fmt.Sprint("m", i))
	}
	close(gate)
	r.send.waitDelivered(t, first.ID, "msg:held")
	for i, c := range others {
		r.send.waitDelivered(t, c.ID, fmt.Sprint("msg:m", i))
	}
}

func TestBackoffDoublesFromTwoSecondsToFiveMinutes(t *testing.T) {
	want := []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second,
		64 * time.Second, 128 * time.Second, 256 * time.Second, 5 * time.Minute, 5 * time.Minute}
	for i, w := range want {
		if got := backoff(i + 1); got != w {
			t.Errorf("backoff(%d) = %v, want %v", i+1, got, w)
		}
	}
	if got := backoff(1000); got != 5*time.Minute {
		t.Errorf("backoff(1000) = %v", got)
	}
}

// staleDue is a store whose first Due read made while an attempt is under
// way reads before that attempt's outcome (Remove or Retry) is written,
// and returns only once it has been written and the attempt had time to
// finish: the sweep then holds a head that is no longer true.
type staleDue struct {
	mapping.Store
	mu      sync.Mutex
	armed   bool
	read    chan struct{} // closed once the armed Due has read
	written chan struct{} // closed once the attempt's outcome is stored
}

func (s *staleDue) arm() { s.mu.Lock(); s.armed = true; s.mu.Unlock() }

func (s *staleDue) Due(ctx context.Context, shard int, now time.Time, limit int) ([]*mapping.OutboxItem, error) {
	heads, err := s.Store.Due(ctx, shard, now, limit)
	s.mu.Lock()
	armed := s.armed && len(heads) > 0
	if armed {
		s.armed = false
	}
	s.mu.Unlock()
	if !armed {
		return heads, err
	}
	close(s.read)
	select {
	case <-s.written:
		time.Sleep(50 * time.Millisecond) // the attempt ends and leaves no trace in flight
	case <-time.After(2 * time.Second):
	}
	return heads, err
}

func (s *staleDue) outcome(write func() error) error {
	select {
	case <-s.read:
	case <-time.After(2 * time.Second):
	}
	err := write()
	select {
	case <-s.written:
	default:
		close(s.written)
	}
	return err
}

func (s *staleDue) Remove(ctx context.Context, it *mapping.OutboxItem) (next *mapping.OutboxItem, err error) {
	err = s.outcome(func() error { next, err = s.Store.Remove(ctx, it); return err })
	return next, err
}

func (s *staleDue) Retry(ctx context.Context, it *mapping.OutboxItem) error {
	return s.outcome(func() error { return s.Store.Retry(ctx, it) })
}

// TestASweepWithStaleHeadsNeitherResendsNorSkipsBackoff: a sweep that read
// the due heads while an attempt was under way must not act on the
// attempt's item once the attempt is over.
func TestASweepWithStaleHeadsNeitherResendsNorSkipsBackoff(t *testing.T) {
	for _, tt := range []struct {
		name string
		fail error
	}{{"delivered", nil}, {"failed", errDown}} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := mapping.OpenBolt(filepath.Join(t.TempDir(), "p.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close() })
			store := &staleDue{Store: b, read: make(chan struct{}), written: make(chan struct{})}
			r := newRig(t, store, nil)
			var posts atomic.Int32
			r.send.fail = func(*mapping.OutboxItem) error {
				posts.Add(1)
				store.arm() // the next sweep's read is the stale one
				return tt.fail
			}
			r.run()
			c := r.conversation()
			r.receive(c.ID, "once")
			select {
			case <-store.written:
			case <-time.After(waitFor):
				t.Fatal("no attempt was made")
			}
			time.Sleep(300 * time.Millisecond) // many sweeps, the stale one among them
			if n := posts.Load(); n != 1 {
				t.Fatalf("%d sends of one notification, want 1", n)
			}
		})
	}
}

// emptyRead is a store that runs onEmpty once, the first time a read of
// a queue's head (Head, or the one a removal answers) finds it empty after
// arm: a commit then races with the queue's worker as it stops.
type emptyRead struct {
	mapping.Store
	armed   atomic.Bool
	onEmpty func()
}

func (s *emptyRead) empty(next *mapping.OutboxItem, err error) (*mapping.OutboxItem, error) {
	if err == nil && next == nil && s.armed.CompareAndSwap(true, false) {
		s.onEmpty()
	}
	return next, err
}

func (s *emptyRead) Head(ctx context.Context, queue string) (*mapping.OutboxItem, error) {
	return s.empty(s.Store.Head(ctx, queue))
}

func (s *emptyRead) Remove(ctx context.Context, it *mapping.OutboxItem) (*mapping.OutboxItem, error) {
	return s.empty(s.Store.Remove(ctx, it))
}

// never is a poll interval no test outlasts: what the tests below see
// delivered, a hint or the sweep made on taking shards delivered, not a
// poll.
const never = time.Hour

// TestAnItemCommittedAsItsQueueEmptiesIsDeliveredWithoutASweep: the
// worker read its queue empty, and an item was committed and hinted
// before it stopped; the hint is not lost to the worker's end.
func TestAnItemCommittedAsItsQueueEmptiesIsDeliveredWithoutASweep(t *testing.T) {
	b, err := mapping.OpenBolt(filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	store := &emptyRead{Store: b}
	r := newRig(t, store, func(c *Config) { c.PollInterval = never })
	c := r.conversation()
	raced := make(chan error, 1)
	store.onEmpty = func() { raced <- r.p.HandleEvent(context.Background(), message(t, c.ID, "second")) }
	r.send.fail = func(*mapping.OutboxItem) error { store.armed.Store(true); return nil }
	r.run()
	r.receive(c.ID, "first")
	select {
	case err := <-raced:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(waitFor):
		t.Fatal("the queue was never read empty")
	}
	r.send.waitDelivered(t, c.ID, "msg:first", "msg:second")
}

// TestAQueueLongerThanAWorkersTurnIsDeliveredWithoutASweep: a worker
// gives its queue up after drainRounds items, and takes it again after the
// others.
func TestAQueueLongerThanAWorkersTurnIsDeliveredWithoutASweep(t *testing.T) {
	r := newRig(t, nil, func(c *Config) { c.PollInterval = never })
	c := r.conversation()
	release := make(chan struct{})
	var once sync.Once
	r.send.fail = func(*mapping.OutboxItem) error {
		once.Do(func() { <-release }) // the rest queue up behind the first
		return nil
	}
	r.run()
	var want []string
	for i := range drainRounds + 6 {
		id := fmt.Sprint("m", i)
		r.receive(c.ID, id)
		want = append(want, "msg:"+id)
	}
	close(release)
	r.send.waitDelivered(t, c.ID, want...)
}

// TestEventsReceivedBeforeTheShardsAreTakenApplyOnceTheyAre: taking a
// shard sweeps its inbox and outbox at once, not at the next poll.
func TestEventsReceivedBeforeTheShardsAreTakenApplyOnceTheyAre(t *testing.T) {
	r := newRig(t, nil, func(c *Config) { c.PollInterval = never })
	c := r.conversation()
	r.receive(c.ID, "early")
	r.run()
	r.send.waitDelivered(t, c.ID, "msg:early")
}

// fakeEngagements answers GetEngagement with a dialog in the given state.
type fakeEngagements struct{ status string }

func (f fakeEngagements) GetEngagement(_ context.Context, id string) (*engagement.Engagement, error) {
	return &engagement.Engagement{EngagementID: id, Dialogs: []engagement.Dialog{{DialogID: "d", DialogStatus: f.status}}}, nil
}

func TestAReconciliationFeedsTheDialogsStateBackInOrder(t *testing.T) {
	r := newRig(t, nil, func(c *Config) { c.Engagements = fakeEngagements{status: engagement.DialogTerminated} })
	r.face.reconcile["msg:ambiguous"] = true
	r.run()
	c := r.conversation()
	c2 := c.Clone()
	c2.DialogID = "d"
	if err := r.store.Commit(context.Background(), &mapping.Change{Conv: c2}); err != nil {
		t.Fatal(err)
	}
	r.receive(c.ID, "ambiguous")
	r.waitApplied(c.ID, "msg:ambiguous,state:TERMINATED,")
}

// slowStore keeps the first write of an event (queued, or applied as it
// arrives) from answering until the webhook's deadline has passed, though
// the write landed: AXP is answered 503 for an event the proxy kept.
type slowStore struct {
	mapping.Store
	once sync.Once
}

// late holds the first caller until its deadline.
func (s *slowStore) late(ctx context.Context) error {
	slow := false
	s.once.Do(func() { slow = true })
	if !slow {
		return nil
	}
	<-ctx.Done()
	return fmt.Errorf("%w: %w", mapping.ErrUnavailable, ctx.Err())
}

func (s *slowStore) Receive(ctx context.Context, e *mapping.InboxEntry, ttl time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil { // as the store does: nothing after the deadline
		return false, fmt.Errorf("%w: %w", mapping.ErrUnavailable, err)
	}
	dup, err := s.Store.Receive(context.WithoutCancel(ctx), e, ttl)
	if lerr := s.late(ctx); lerr != nil {
		return false, lerr
	}
	return dup, err
}

func (s *slowStore) Commit(ctx context.Context, ch *mapping.Change) error {
	err := s.Store.Commit(context.WithoutCancel(ctx), ch)
	if ch.Applied != nil {
		if lerr := s.late(ctx); lerr != nil {
			return lerr
		}
	}
	return err
}

// TestAnEventWhoseHandlingRunsPastItsDeadlineIsDeliveredOnceAfterTheResend
// runs the simulator's real webhook delivery into the real receiver: the
// first delivery's write lands but is answered after the receiver's
// deadline (503); AXP's re-send is a duplicate, answered 200; the event is
// applied and delivered exactly once.
func TestAnEventWhoseHandlingRunsPastItsDeadlineIsDeliveredOnceAfterTheResend(t *testing.T) {
	b, err := mapping.OpenBolt(filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	r := newRig(t, &slowStore{Store: b}, nil).run()
	sim := startSim(t)
	c := r.conversation()
	sim.open(t, c.ID)
	sim.subscribe(t, startReceiver(t, r.p, 100*time.Millisecond))
	sim.agentMessage(t, "late")
	r.waitApplied(c.ID, "msg:"+sim.last+",")
	r.send.waitDelivered(t, c.ID, "msg:"+sim.last)
	deadline := time.Now().Add(waitFor)
	for st := sim.Sim.DeliveryStats(); st.Failed < 1 || st.Delivered != 1; st = sim.Sim.DeliveryStats() {
		if time.Now().After(deadline) {
			t.Fatalf("simulator stats %+v: want the first attempt failed and the re-send delivered", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	if got := r.applied(c.ID); strings.Count(got, "msg:") != 1 {
		t.Fatalf("applied %q, want once", got)
	}
}

// Compile-time checks that the test doubles are what the pipeline takes.
var (
	_ Face        = (*logFace)(nil)
	_ Sender      = (*sender)(nil)
	_ Engagements = fakeEngagements{}
)
