package pipeline

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/connector-proxy/connector-proxy/internal/deadline"
	"github.com/connector-proxy/connector-proxy/mapping"
)

// maxLastError bounds the error text an outbox item keeps.
const maxLastError = 256

// settleFor is how long what an attempt did is remembered against reads
// that began before its commit (a due index read while it ran may still
// show the item it removed or rescheduled).
const settleFor = time.Minute

// drainRounds bounds the items one queue's worker sends before it makes
// room for other queues.
const drainRounds = 64

// deliverer sends the heads of the due outbox queues of the shards this
// replica holds: one worker per queue at a time (order within a
// conversation), at most DeliveryWorkers at once (a failing endpoint delays
// only its own conversations). A worker goes on with its queue's next item
// as soon as one is delivered; queues that got items are hinted by the
// applier and looked at at once; a periodic sweep of the due index finds
// the rest (other replicas' commits, backoffs that ended).
type deliverer struct {
	p *Pipeline
	*waker
	sem chan struct{}
	wg  sync.WaitGroup

	mu       sync.Mutex
	inflight map[string]bool
	// hints are the queues to look at next, each once (hinted): a busy
	// conversation hints its queue with every commit.
	hints  []string
	hinted map[string]bool
	// again marks the queues hinted while their worker ran, since it last
	// read the queue's head: it may have read it before their commit, so
	// the queue is hinted again when it stops.
	again   map[string]bool
	settled map[string]settled
	sweeps  int

	pause   pauses    // outbox.go
	expired time.Time // the last expiry of dropped items (run's goroutine only)
	// clock makes the attempts' deadlines: two context.WithTimeout an
	// attempt were 2% of the proxy's CPU in bench/webhooks.sh.
	clock *deadline.Clock
}

// settled is the last thing an attempt did to a queue.
type settled struct {
	removed   uint64    // items up to this seq are gone
	retried   uint64    // this seq waits until notBefore
	notBefore time.Time //
	at        time.Time
}

func newDeliverer(p *Pipeline) *deliverer {
	return &deliverer{p: p, waker: newWaker(), sem: make(chan struct{}, p.cfg.DeliveryWorkers),
		inflight: map[string]bool{}, hinted: map[string]bool{}, again: map[string]bool{}, settled: map[string]settled{}, clock: deadline.NewClock(0)}
}

// hint says a queue got items: it is looked at at the next wake.
func (d *deliverer) hint(queue string) {
	d.mu.Lock()
	switch {
	case d.inflight[queue]:
		d.again[queue] = true
	case !d.hinted[queue]:
		d.hinted[queue] = true
		d.hints = append(d.hints, queue)
	}
	d.mu.Unlock()
	d.poke()
}

func (d *deliverer) run(ctx context.Context) {
	d.loop(ctx, d.p.cfg.PollInterval, d.sweep)
	d.wg.Wait()
}

// stale reports a head that an attempt already dealt with.
func (d *deliverer) stale(it *mapping.OutboxItem, now time.Time) bool {
	s, ok := d.settled[it.Queue]
	return ok && (it.Seq <= s.removed || it.Seq == s.retried && now.Before(s.notBefore))
}

// sweep starts workers for the hinted queues and, on a full sweep, for
// every due queue of the shards held.
func (d *deliverer) sweep(ctx context.Context, full bool) {
	p := d.p
	// The hints are taken from the front one at a time and left in place
	// when every worker is busy: a backlog's hints wait where they are,
	// instead of being copied again at every wake.
	for {
		d.mu.Lock()
		if len(d.hints) == 0 {
			d.mu.Unlock()
			break
		}
		q := d.hints[0]
		d.mu.Unlock()
		held := p.shards.holds(mapping.ShardOf(q))
		if held && !d.start(ctx, q, nil) {
			break // every worker busy: it and the rest wait, still hinted
		}
		d.mu.Lock()
		d.hints = d.hints[1:]
		if !held {
			delete(d.hinted, q)
		}
		d.mu.Unlock()
	}
	if !full {
		return
	}
	d.refreshPauses(ctx)
	now := p.now()
	d.mu.Lock()
	d.sweeps++
	if d.sweeps%20 == 1 {
		for q, s := range d.settled {
			if now.Sub(s.at) > settleFor {
				delete(d.settled, q)
			}
		}
	}
	gauge := d.sweeps%20 == 1
	d.mu.Unlock()
	if gauge {
		d.observe(ctx, now)
	}
	for _, shard := range p.shards.owned() {
		heads, err := p.store.Due(ctx, shard, now, cap(d.sem))
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				p.log.Warn("pipeline: read due outbox", "shard", shard, "err", err)
			}
			return
		}
		for _, it := range heads {
			if !d.start(ctx, it.Queue, it) {
				return // every worker busy: the rest wait for the next sweep
			}
		}
	}
}

// start runs queue's worker, beginning with head (nil: read it), unless
// one runs; it reports false when every worker is busy.
func (d *deliverer) start(ctx context.Context, queue string, head *mapping.OutboxItem) bool {
	d.mu.Lock()
	if d.inflight[queue] || head != nil && d.stale(head, d.p.now()) {
		if head == nil {
			delete(d.hinted, queue) // its worker reads the queue to its end
		}
		d.mu.Unlock()
		return true
	}
	select {
	case d.sem <- struct{}{}:
	default:
		d.mu.Unlock()
		return false
	}
	d.inflight[queue] = true
	delete(d.hinted, queue)
	d.mu.Unlock()
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.drain(ctx, queue, head)
		d.mu.Lock()
		delete(d.inflight, queue)
		again := d.again[queue]
		delete(d.again, queue)
		waiting := len(d.hints) > 0
		d.mu.Unlock()
		<-d.sem
		switch {
		case again && ctx.Err() == nil:
			d.hint(queue)
		case waiting:
			d.poke() // hints left behind while every worker was busy
		}
	}()
	return true
}

// drain delivers a queue's due items, one after the other, until it is
// empty, its head waits for a backoff, or it has had its turn.
func (d *deliverer) drain(ctx context.Context, queue string, it *mapping.OutboxItem) {
	p := d.p
	for range drainRounds {
		if it == nil {
			d.mu.Lock()
			delete(d.again, queue) // what was hinted so far, this read sees
			d.mu.Unlock()
			var err error
			if it, err = p.store.Head(ctx, queue); err != nil || it == nil {
				return
			}
		}
		now := p.now()
		d.mu.Lock()
		skip := now.Before(it.NextAttempt) || d.stale(it, now)
		if !skip {
			delete(d.again, queue) // the removal after the attempt reads the head
		}
		d.mu.Unlock()
		if skip {
			return
		}
		s, next, known := d.attempt(ctx, it)
		d.mu.Lock()
		s.at = p.now()
		s.removed = max(s.removed, d.settled[queue].removed)
		d.settled[queue] = s
		d.mu.Unlock()
		if s.retried != 0 || s.removed < it.Seq || ctx.Err() != nil {
			return // it waits for its backoff, or its outcome was not stored
		}
		if known && next == nil {
			return // the removal left the queue empty
		}
		it = next // nil when the removal did not say: read it
	}
	d.hint(queue) // more may wait: after the others
}

// attempt delivers one item: removed when delivered, moved to the dropped
// set when undeliverable or expired, rescheduled otherwise, held while its
// endpoint is paused. The send and the store calls after it run even while
// Run stops, so that a delivered item is not sent again. After a removal,
// known, it returns the queue's head as the store found it then.
func (d *deliverer) attempt(_ context.Context, it *mapping.OutboxItem) (s settled, next *mapping.OutboxItem, known bool) {
	p := d.p
	// The store's writes and the POST end at their deadlines alone, not
	// with Run's context: a delivery under way is finished and recorded at
	// shutdown.
	sctx := d.clock.After(storeTimeout)
	now := p.now()
	if ep, paused := d.paused(it.Target); paused {
		return d.hold(sctx, it, ep, now), nil, false
	}
	sender := p.cfg.Senders[it.Face]
	if sender == nil || !now.Before(it.Expires) {
		reason := mapping.DropExpired
		if sender == nil {
			reason = mapping.DropNoSender
		}
		if err := d.drop(sctx, it, reason, now); err != nil {
			p.log.Warn("pipeline: drop notification", "queue", it.Queue, "err", err)
			return settled{}, nil, false
		}
		p.m.delivery(it, resultDropped)
		p.log.Warn("pipeline: notification dropped", "queue", it.Queue, "kind", it.Kind, "attempts", it.Attempts, "expired", sender != nil, "last_error", it.LastError)
		return settled{removed: it.Seq}, nil, false
	}
	// The attempt's spans are children of the change that made the item.
	tctx := p.cfg.Tracing.Resume(d.clock.After(p.cfg.DeliveryTimeout), it.Trace)
	err := sender.Send(tctx, it)
	switch {
	case err == nil:
		next, err := p.store.Remove(sctx, it)
		if err != nil {
			p.log.Warn("pipeline: remove delivered notification", "queue", it.Queue, "err", err)
			return settled{removed: it.Seq}, nil, false // it is delivered: not again from here
		}
		p.m.delivery(it, resultDelivered)
		return settled{removed: it.Seq}, next, true
	case errors.Is(err, ErrPermanent):
		it.LastError = err.Error()
		if len(it.LastError) > maxLastError {
			it.LastError = it.LastError[:maxLastError]
		}
		if err := d.drop(sctx, it, mapping.DropUndeliverable, p.now()); err != nil {
			p.log.Warn("pipeline: drop notification", "queue", it.Queue, "err", err)
			return settled{}, nil, false
		}
		p.m.delivery(it, resultDropped)
		p.log.Warn("pipeline: notification undeliverable, dropped", "queue", it.Queue, "kind", it.Kind, "err", err)
		return settled{removed: it.Seq}, nil, false
	}
	it.Attempts++
	it.NextAttempt = p.now().Add(backoff(it.Attempts))
	it.LastError = err.Error()
	if len(it.LastError) > maxLastError {
		it.LastError = it.LastError[:maxLastError]
	}
	p.m.delivery(it, resultFailed)
	p.log.InfoContext(tctx, "pipeline: delivery failed", "queue", it.Queue, "kind", it.Kind, "attempts", it.Attempts, "err", err)
	if err := p.store.Retry(sctx, it); err != nil && !errors.Is(err, mapping.ErrNotFound) {
		p.log.Warn("pipeline: reschedule notification", "queue", it.Queue, "err", err)
	}
	return settled{retried: it.Seq, notBefore: it.NextAttempt}, nil, false
}
