package pipeline

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/mapping"
	"github.com/connector-proxy/connector-proxy/telemetry"
)

// Bounds of one conversation's turn on a worker.
const (
	applyBatch    = 128 // inbox entries read and committed at once
	applyRounds   = 16  // batches before the worker makes room for others
	applyConflict = 8   // reapplications after a concurrent change
	readyBatch    = 256 // ready conversations read per shard and sweep
)

// applier runs one worker per conversation with ready inbox entries, never
// two for one conversation, so that its events apply in order; a slow
// conversation (a reconciliation waiting on AXP) holds only its own worker.
type applier struct {
	p *Pipeline
	*waker
	sem chan struct{}
	wg  sync.WaitGroup

	mu     sync.Mutex
	active map[string]bool // conversations with a worker
	again  map[string]bool // made ready while their worker ran
	hints  []string        // made ready here since the last sweep
}

func newApplier(p *Pipeline) *applier {
	return &applier{p: p, waker: newWaker(), sem: make(chan struct{}, p.cfg.ApplyWorkers),
		active: map[string]bool{}, again: map[string]bool{}}
}

// ready says conversation has entries to apply: its worker goes on, or one
// starts at the next sweep.
func (a *applier) ready(conversation string) {
	a.mu.Lock()
	if a.active[conversation] {
		a.again[conversation] = true
	} else {
		a.hints = append(a.hints, conversation)
	}
	a.mu.Unlock()
	a.poke()
}

func (a *applier) run(ctx context.Context) {
	a.loop(ctx, a.p.cfg.PollInterval, a.sweep)
	a.wg.Wait()
}

// sweep starts workers for the conversations made ready here and, on a
// full sweep, for every ready conversation of the shards held (events
// other replicas received, conversations whose wait ended).
func (a *applier) sweep(ctx context.Context, full bool) {
	a.mu.Lock()
	hints := a.hints
	a.hints = nil
	a.mu.Unlock()
	for _, conv := range hints {
		if a.p.shards.holds(mapping.ShardOf(conv)) {
			a.start(ctx, conv)
		}
	}
	if !full {
		return
	}
	now := a.p.now()
	for _, shard := range a.p.shards.owned() {
		convs, err := a.p.store.ReadyInbox(ctx, shard, now, readyBatch)
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				a.p.log.Warn("pipeline: read ready inbox", "shard", shard, "err", err)
			}
			return
		}
		for _, conv := range convs {
			a.start(ctx, conv)
		}
	}
}

// start runs conversation's worker unless it has one; it waits for a free
// worker, so that the sweep paces itself on the work.
func (a *applier) start(ctx context.Context, conversation string) {
	a.mu.Lock()
	if a.active[conversation] {
		a.mu.Unlock()
		return
	}
	a.active[conversation] = true
	a.mu.Unlock()
	select {
	case a.sem <- struct{}{}:
	case <-ctx.Done():
		a.mu.Lock()
		delete(a.active, conversation)
		a.mu.Unlock()
		return
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		defer func() {
			<-a.sem
			a.unreserve(conversation)
		}()
		for range applyRounds {
			if more := a.applyOnce(ctx, conversation); !more {
				return
			}
		}
		a.ready(conversation) // more waits: after the others
	}()
}

// inline applies an event as it arrives, when it can be: this replica
// holds the shard and no worker has the conversation (it is reserved, so
// none starts meanwhile), and the commit finds its inbox empty. It reports
// whether the event was taken (applied, or a duplicate); otherwise the
// caller queues it. The effects after the commit run on their own
// goroutine, the conversation still reserved, so that the webhook is
// answered at once and the conversation's next events wait their turn.
func (a *applier) inline(ctx context.Context, e *mapping.InboxEntry, ev *engagement.Event) bool {
	p := a.p
	shard := mapping.ShardOf(e.Conversation)
	if !p.shards.holds(shard) || !a.reserve(e.Conversation) {
		return false
	}
	held := false
	defer func() {
		if !held {
			a.unreserve(e.Conversation)
		}
	}()
	conv, err := p.conversationToChange(ctx, e.Conversation)
	if err != nil {
		return false // unknown yet (it waits in the inbox), or the store failed
	}
	face := p.cfg.Faces[conv.Owner.Face]
	if face == nil {
		return false
	}
	start := time.Now()
	now := p.now()
	next := conv.Clone()
	// Inside the webhook: the apply is its span's child.
	actx, span := p.cfg.Tracing.StartApply(ctx, nil, e.Conversation, string(conv.Owner.Face), 1)
	defer span.End()
	eff := face.Apply(next, ev, now)
	p.stamp(actx, eff.Outbox)
	err = p.store.Commit(ctx, &mapping.Change{Conv: next, Unchanged: next.Equal(conv), Outbox: eff.Outbox,
		Applied: e, AppliedTTL: p.cfg.DedupeTTL, Fence: &mapping.Fence{Shard: shard, Holder: p.cfg.Holder}, Append: eff.Append})
	switch {
	case errors.Is(err, mapping.ErrDuplicate):
		p.m.event(ev.EventType, outcomeDuplicate)
		span.SetString(telemetry.AttrOutcome, outcomeDuplicate)
		return true
	case err != nil:
		if errors.Is(err, mapping.ErrConflict) {
			p.m.conflicts.Inc()
		}
		span.SetString(telemetry.AttrOutcome, "queued")
		return false // queued, and applied by the worker in its turn, in a span of its own
	}
	p.m.event(ev.EventType, outcomeAccepted)
	p.m.applied([]*engagement.Event{ev}, time.Since(start))
	for _, it := range eff.Outbox {
		p.m.queued(it)
	}
	if len(eff.Outbox) > 0 {
		p.out.hint(e.Conversation)
	}
	if len(eff.After) == 0 && !eff.Reconcile {
		return true
	}
	held = true
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		defer a.unreserve(e.Conversation)
		bg := context.WithoutCancel(actx)
		for _, fn := range eff.After {
			fn(bg)
		}
		if eff.Reconcile && ev.DialogState == nil {
			a.reconcile(bg, next, now)
		}
	}()
	return true
}

// changeSource is a store that hands out a conversation for a change from
// a copy that may be older than the store's (mapping.Cached, even in front
// of a shared store): the change's compare-and-set refuses it then, and the
// reload after the conflict reads the store.
type changeSource interface {
	ConversationToChange(ctx context.Context, id string) (*mapping.Conversation, error)
}

// conversationToChange reads a conversation that an apply changes from;
// it must not be changed (the apply changes a clone).
func (p *Pipeline) conversationToChange(ctx context.Context, id string) (*mapping.Conversation, error) {
	if cs, ok := p.store.(changeSource); ok {
		return cs.ConversationToChange(ctx, id)
	}
	return p.store.Conversation(ctx, id)
}

// reserve marks a conversation as worked on, unless it is.
func (a *applier) reserve(conversation string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.active[conversation] {
		return false
	}
	a.active[conversation] = true
	return true
}

// unreserve ends reserve; events that arrived meanwhile get a worker.
func (a *applier) unreserve(conversation string) {
	a.mu.Lock()
	delete(a.active, conversation)
	again := a.again[conversation]
	delete(a.again, conversation)
	a.mu.Unlock()
	if again {
		a.ready(conversation)
	}
}

// applyOnce applies the next batch of a conversation's entries and
// reports whether more may wait.
func (a *applier) applyOnce(ctx context.Context, id string) bool {
	p := a.p
	shard := mapping.ShardOf(id)
	if !p.shards.holds(shard) {
		return false
	}
	entries, err := p.store.InboxOf(ctx, id, applyBatch)
	if err != nil || len(entries) == 0 {
		if err != nil && !errors.Is(err, context.Canceled) {
			p.log.Warn("pipeline: read inbox", "conversation", id, "err", err)
		}
		return false
	}
	now := p.now()
	conv, err := p.conversationToChange(ctx, id)
	if errors.Is(err, mapping.ErrNotFound) {
		return a.park(ctx, id, entries, now)
	}
	if err != nil {
		p.log.Warn("pipeline: load conversation", "conversation", id, "err", err)
		return false
	}
	face := p.cfg.Faces[conv.Owner.Face]
	events := make([]*engagement.Event, 0, len(entries))
	for _, e := range entries {
		ev, err := engagement.DecodeEvent(e.Event)
		if err != nil {
			// Only AXP's bodies that decoded once are kept: this is a
			// record damaged in the store. Applying the rest is right.
			p.log.Error("pipeline: inbox entry does not decode", "conversation", id, "seq", e.Seq, "err", err)
			continue
		}
		events = append(events, ev)
	}
	start := time.Now()
	actx, span := a.startApply(ctx, id, conv, entries, len(events))
	defer span.End()
	var eff Effect
	for attempt := 0; ; attempt++ {
		next := conv.Clone()
		eff = Effect{}
		if face != nil {
			for _, ev := range events {
				eff.Merge(face.Apply(next, ev, now))
			}
		}
		p.stamp(actx, eff.Outbox)
		err = p.store.Commit(ctx, &mapping.Change{Conv: next, Unchanged: next.Equal(conv), Outbox: eff.Outbox, Done: entries,
			Fence: &mapping.Fence{Shard: shard, Holder: p.cfg.Holder}, Append: eff.Append})
		if err == nil {
			conv = next
			break
		}
		switch {
		case errors.Is(err, mapping.ErrConflict) && attempt < applyConflict:
			p.m.conflicts.Inc()
			if conv, err = p.store.Conversation(ctx, id); err != nil {
				p.log.Warn("pipeline: reload conversation", "conversation", id, "err", err)
				return false
			}
			continue
		case errors.Is(err, mapping.ErrNotOwner):
			p.log.Info("pipeline: shard taken over while applying", "shard", shard, "conversation", id)
			p.shards.set(shard, false)
			span.Fail("not_owner")
			return false
		}
		p.log.WarnContext(actx, "pipeline: commit events", "conversation", id, "events", len(entries), "err", err)
		span.Fail("commit")
		return false
	}
	p.m.applied(events, time.Since(start))
	if face == nil {
		p.log.Warn("pipeline: events of a conversation no face serves were dropped", "conversation", id, "face", conv.Owner.Face)
	}
	for _, it := range eff.Outbox {
		p.m.queued(it)
	}
	if len(eff.Outbox) > 0 {
		p.out.hint(id)
	}
	for _, fn := range eff.After {
		fn(actx)
	}
	if eff.Reconcile && !onlyDialogStates(events) {
		a.reconcile(actx, conv, now)
	}
	return len(entries) == applyBatch
}

// startApply starts the span of applying entries, which joins the traces
// of the webhooks that brought them (telemetry.StartApply).
func (a *applier) startApply(ctx context.Context, id string, conv *mapping.Conversation, entries []*mapping.InboxEntry, events int) (context.Context, telemetry.Span) {
	t := a.p.cfg.Tracing
	if !t.On() {
		return ctx, telemetry.Span{}
	}
	carried := make([]string, 0, len(entries))
	for _, e := range entries {
		carried = append(carried, e.Trace)
	}
	return t.StartApply(ctx, carried, id, string(conv.Owner.Face), events)
}

func onlyDialogStates(events []*engagement.Event) bool {
	for _, ev := range events {
		if ev.DialogState == nil {
			return false
		}
	}
	return len(events) > 0
}

// park keeps the events of a conversation that is not known yet: an event
// can overtake the answer of the call that made its dialog. It is tried
// again after a growing wait, and discarded once it has waited ParkFor (a
// dialog of another connector of the same channel provider).
func (a *applier) park(ctx context.Context, id string, entries []*mapping.InboxEntry, now time.Time) bool {
	p := a.p
	waited := now.Sub(entries[0].ReceivedAt)
	if waited >= p.cfg.ParkFor {
		if err := p.store.Discard(ctx, entries); err != nil {
			p.log.Warn("pipeline: discard events", "conversation", id, "err", err)
			return false
		}
		p.m.discarded(len(entries))
		p.log.Debug("pipeline: events of an unknown conversation discarded", "conversation", id, "events", len(entries), "waited", waited)
		return len(entries) == applyBatch
	}
	wait := min(max(waited, 50*time.Millisecond), 5*time.Second)
	if err := p.store.Defer(ctx, id, now.Add(wait)); err != nil {
		p.log.Warn("pipeline: defer events", "conversation", id, "err", err)
	}
	p.m.parked.Inc()
	return false
}

// reconcile asks AXP for the dialog's state and feeds it to the inbox. A
// failure is logged: the next event of the conversation may ask again.
func (a *applier) reconcile(ctx context.Context, conv *mapping.Conversation, now time.Time) {
	p := a.p
	if p.cfg.Engagements == nil || conv.EngagementID == "" {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	eng, err := p.cfg.Engagements.GetEngagement(rctx, conv.EngagementID)
	if err != nil {
		p.log.Warn("pipeline: reconcile with AXP", "conversation", conv.ID, "err", err)
		return
	}
	body := engagement.NewDialogStateEvent(eng, conv.DialogID, engagement.NewTime(now))
	if body == nil {
		return
	}
	e := &mapping.InboxEntry{Conversation: conv.ID, Event: body, ReceivedAt: now}
	if _, err := p.store.Receive(rctx, e, p.cfg.DedupeTTL); err != nil {
		p.log.Warn("pipeline: keep the dialog's state", "conversation", conv.ID, "err", err)
		return
	}
	a.ready(conv.ID)
}
