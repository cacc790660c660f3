package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/connector-proxy/connector-proxy/mapping"
)

// The outbox's operator side, as the deliverer lives it:
//
//   - A drop (expired, undeliverable, no sender) moves the item to the
//     store's dropped set in one atomic step, bounded per shard
//     (DroppedMax / mapping.Shards, rounded up) and kept for
//     DroppedRetention, so that an operator can replay it.
//   - A replay puts a dropped item at the tail of its queue, behind what is
//     pending there now, with fresh attempts and a fresh expiry (its first
//     retention again). Several replayed one after the other keep their
//     order.
//   - A paused endpoint's items stay pending and are not attempted: a head
//     for it is held (looked at again pauseHold later, its attempts
//     untouched, its expiry pushed past that), and its queue waits behind
//     it, so that order within a conversation holds. Every replica reads
//     the pauses every PauseRefresh, and at once after a change it made
//     itself, so a pause is honoured everywhere within PauseRefresh plus
//     an attempt already under way. Nothing of a paused endpoint expires
//     while paused: on resume, each of its items has its expiry pushed by
//     the time it spent paused, and its heads are due at once, in order.

// Defaults of the outbox's operator side.
const (
	DefaultDroppedMax       = 10_000
	DefaultDroppedRetention = 7 * 24 * time.Hour
	DefaultPauseRefresh     = 2 * time.Second
)

// pauseHold is how long a head of a paused endpoint waits before it is
// looked at again; a resume releases it at once.
const pauseHold = 30 * time.Second

// expireEvery is how often the dropped items past their retention are
// removed from the shards held.
const expireEvery = time.Minute

// releasePage is the page size of the scan that releases a resumed
// endpoint's items.
const releasePage = 500

// pauses is what a deliverer knows of the paused endpoints, and which
// queues it held for each, so that it can release them once it sees the
// endpoint resumed by another replica.
type pauses struct {
	mu   sync.Mutex
	set  map[string]bool
	held map[string]map[string]bool // endpoint → queues
	read time.Time                  // wall clock of the last read
	// gen numbers the reads and the changes made here; a read is applied
	// only when nothing newer was (a slow read begun before a pause made
	// here must not undo it).
	gen, applied uint64
}

// change applies a pause or resume made through this pipeline at once.
func (ps *pauses) change(endpoint string, paused bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.gen++
	ps.applied = ps.gen
	if paused {
		if ps.set == nil {
			ps.set = map[string]bool{}
		}
		ps.set[endpoint] = true
		return
	}
	delete(ps.set, endpoint)
	delete(ps.held, endpoint) // the resume releases them
}

func (d *deliverer) pausedCount() int {
	d.pause.mu.Lock()
	defer d.pause.mu.Unlock()
	return len(d.pause.set)
}

// paused reports whether target's endpoint is paused, and its id.
func (d *deliverer) paused(target string) (string, bool) {
	d.pause.mu.Lock()
	defer d.pause.mu.Unlock()
	if len(d.pause.set) == 0 {
		return "", false
	}
	ep := mapping.EndpointID(target)
	return ep, d.pause.set[ep]
}

// hold keeps a head of a paused endpoint pending, unattempted: due again
// pauseHold later, and not expiring before it is looked at again.
func (d *deliverer) hold(ctx context.Context, it *mapping.OutboxItem, endpoint string, now time.Time) settled {
	p := d.p
	it.NextAttempt = now.Add(pauseHold)
	if until := it.NextAttempt.Add(pauseHold); it.Expires.Before(until) {
		it.Expires = until
	}
	d.pause.mu.Lock()
	if d.pause.held == nil {
		d.pause.held = map[string]map[string]bool{}
	}
	if d.pause.held[endpoint] == nil {
		d.pause.held[endpoint] = map[string]bool{}
	}
	d.pause.held[endpoint][it.Queue] = true
	d.pause.mu.Unlock()
	if err := p.store.Retry(ctx, it); err != nil && !errors.Is(err, mapping.ErrNotFound) {
		p.log.Warn("pipeline: hold notification of a paused endpoint", "queue", it.Queue, "err", err)
	}
	return settled{retried: it.Seq, notBefore: it.NextAttempt}
}

// refreshPauses reads the paused endpoints when PauseRefresh has passed
// since the last read, and releases the queues this replica held for
// endpoints no longer paused.
func (d *deliverer) refreshPauses(ctx context.Context) {
	p := d.p
	d.pause.mu.Lock()
	due := time.Since(d.pause.read) >= p.cfg.PauseRefresh
	if due {
		d.pause.read = time.Now()
		d.pause.gen++
	}
	gen := d.pause.gen
	d.pause.mu.Unlock()
	if !due {
		return
	}
	list, err := p.store.Pauses(ctx)
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			p.log.Warn("pipeline: read paused endpoints", "err", err)
		}
		return // the last known pauses stay in force
	}
	set := make(map[string]bool, len(list))
	for _, ps := range list {
		set[ps.Endpoint] = true
	}
	d.pause.mu.Lock()
	if gen <= d.pause.applied {
		d.pause.mu.Unlock()
		return // something newer is in force
	}
	d.pause.applied = gen
	d.pause.set = set
	var release map[string]map[string]bool
	for ep, queues := range d.pause.held {
		if !set[ep] {
			if release == nil {
				release = map[string]map[string]bool{}
			}
			release[ep] = queues
			delete(d.pause.held, ep)
		}
	}
	d.pause.mu.Unlock()
	p.m.paused.Set(float64(len(set)))
	for ep, queues := range release {
		for q := range queues {
			d.release(ctx, q, ep)
		}
	}
}

// release makes a queue this replica held for endpoint due at once, unless
// its head has moved on.
func (d *deliverer) release(ctx context.Context, queue, endpoint string) {
	p := d.p
	head, err := p.store.Head(ctx, queue)
	if err != nil || head == nil {
		return
	}
	if now := p.now(); mapping.EndpointID(head.Target) == endpoint && head.NextAttempt.After(now) {
		head.NextAttempt = now
		if err := p.store.Retry(ctx, head); err != nil && !errors.Is(err, mapping.ErrNotFound) {
			p.log.Warn("pipeline: release notification of a resumed endpoint", "queue", queue, "err", err)
			return
		}
	}
	d.forget(queue, head.Seq)
	d.hint(queue)
}

// forget drops what an attempt remembered of a held head, which a release
// has since made due.
func (d *deliverer) forget(queue string, seq uint64) {
	d.mu.Lock()
	if s, ok := d.settled[queue]; ok && s.retried == seq {
		s.retried, s.notBefore = 0, time.Time{}
		d.settled[queue] = s
	}
	d.mu.Unlock()
}

// keepDropped is the bound of the dropped items of one shard.
func (p *Pipeline) keepDropped() int {
	return (p.cfg.DroppedMax + mapping.Shards - 1) / mapping.Shards
}

// drop moves an item to the dropped set.
func (d *deliverer) drop(ctx context.Context, it *mapping.OutboxItem, reason string, now time.Time) error {
	p := d.p
	return p.store.Drop(ctx, it, mapping.Drop{Reason: reason, At: now, Keep: p.keepDropped(), KeepFor: p.cfg.DroppedRetention})
}

// observe sets the outbox's gauges and, every expireEvery, removes the
// dropped items past their retention from the shards held.
func (d *deliverer) observe(ctx context.Context, now time.Time) {
	p := d.p
	if st, err := p.store.OutboxStats(ctx); err == nil {
		p.m.depth.Set(float64(st.Pending))
		p.m.dropped.Set(float64(st.Dropped))
		age := 0.0
		if !st.OldestPending.IsZero() {
			age = max(now.Sub(st.OldestPending).Seconds(), 0)
		}
		p.m.oldest.Set(age)
	}
	if !d.expired.IsZero() && time.Since(d.expired) < expireEvery {
		return
	}
	d.expired = time.Now()
	before := now.Add(-p.cfg.DroppedRetention)
	for _, shard := range p.shards.owned() {
		n, err := p.store.ExpireDropped(ctx, shard, before)
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				p.log.Warn("pipeline: expire dropped notifications", "shard", shard, "err", err)
			}
			return
		}
		if n > 0 {
			p.log.Info("pipeline: dropped notifications past their retention removed", "shard", shard, "removed", n)
		}
	}
}

// Replay puts a dropped notification back at the tail of its queue, fresh
// (see the top of this file), and returns it as queued.
func (p *Pipeline) Replay(ctx context.Context, queue string, seq uint64) (*mapping.OutboxItem, error) {
	it, err := p.store.Replay(ctx, queue, seq, p.now())
	if err != nil {
		return nil, fmt.Errorf("pipeline: replay %s/%d: %w", queue, seq, err)
	}
	p.out.hint(queue)
	return it, nil
}

// Discard removes a pending or dropped notification for good and returns
// it. A pending one being attempted at that moment may still arrive once.
func (p *Pipeline) Discard(ctx context.Context, state, queue string, seq uint64) (*mapping.OutboxItem, error) {
	it, err := p.store.DiscardOutbox(ctx, state, queue, seq)
	if err != nil {
		return nil, fmt.Errorf("pipeline: discard %s %s/%d: %w", state, queue, seq, err)
	}
	if state == mapping.OutboxPending {
		p.out.hint(queue) // its next item may be due
	}
	return it, nil
}

// Pause holds the delivery to one endpoint (mapping.EndpointID of its
// target) on every replica. target is what listings show of it. An
// endpoint paused already keeps its first pause, returned with created
// false.
func (p *Pipeline) Pause(ctx context.Context, endpoint, target, reason, by string) (rec mapping.EndpointPause, created bool, err error) {
	rec, created, err = p.store.PauseEndpoint(ctx, mapping.EndpointPause{Endpoint: endpoint, Target: target, Reason: reason, By: by, Since: p.now()})
	if err != nil {
		return rec, false, fmt.Errorf("pipeline: pause %s: %w", endpoint, err)
	}
	p.out.pause.change(endpoint, true)
	p.m.paused.Set(float64(p.out.pausedCount()))
	return rec, created, nil
}

// Resume ends an endpoint's pause and releases its notifications: each
// has its expiry pushed by the time it spent paused and the heads are due
// at once. It returns the pause that ended and how many items it released;
// should the release scan fail part way, the rest are released by the
// deliverers within pauseHold.
func (p *Pipeline) Resume(ctx context.Context, endpoint string) (mapping.EndpointPause, int, error) {
	rec, err := p.store.ResumeEndpoint(ctx, endpoint)
	if err != nil {
		return rec, 0, fmt.Errorf("pipeline: resume %s: %w", endpoint, err)
	}
	d := p.out
	d.pause.change(endpoint, false)
	p.m.paused.Set(float64(d.pausedCount()))
	now := p.now()
	released := 0
	queues := map[string]bool{}
	q := mapping.OutboxQuery{State: mapping.OutboxPending, Endpoint: endpoint, Limit: releasePage}
	defer func() {
		for queue := range queues {
			d.hint(queue)
		}
	}()
	for {
		page, err := p.store.ListOutbox(ctx, q)
		if err != nil {
			return rec, released, fmt.Errorf("pipeline: release %s: %w", endpoint, err)
		}
		for _, it := range page.Items {
			if from := maxTime(rec.Since, it.EnqueuedAt); now.After(from) {
				it.Expires = it.Expires.Add(now.Sub(from))
			}
			if it.NextAttempt.After(now) {
				it.NextAttempt = now
			}
			if err := p.store.Retry(ctx, it); err != nil && !errors.Is(err, mapping.ErrNotFound) {
				return rec, released, fmt.Errorf("pipeline: release %s/%d: %w", it.Queue, it.Seq, err)
			}
			d.forget(it.Queue, it.Seq)
			queues[it.Queue] = true
			released++
		}
		if page.Next == "" {
			return rec, released, nil
		}
		q.Cursor = page.Next
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
