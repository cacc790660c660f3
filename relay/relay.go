// Package relay routes what AXP sends back (agent messages, participants
// joining and leaving, engagement errors) to the face that owns the
// conversation. It knows no client protocol: each face implements Face.
package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/mapping"
)

// Face delivers an AXP event to the client side of one conversation. It
// returns nil only once the event is durable on that side (queued in the
// outbox, or handed to the client); an error makes AXP re-send the event.
type Face interface {
	Deliver(ctx context.Context, conv *mapping.Conversation, ev *engagement.Event) error
}

// Outcome labels what became of an event, for metrics.
type Outcome string

// Outcomes.
const (
	Delivered Outcome = "delivered"
	Duplicate Outcome = "duplicate"
	Unrouted  Outcome = "unrouted" // no conversation of ours has that dialog
	Failed    Outcome = "failed"
)

// Relay is the engagement.Sink the AXP webhook receiver feeds.
type Relay struct {
	reg       mapping.Registry
	faces     map[mapping.Face]Face
	dedupeTTL time.Duration
	log       *slog.Logger
	observe   func(eventType string, o Outcome)
}

var _ engagement.Sink = (*Relay)(nil)

// Options configure a Relay.
type Options struct {
	// DedupeTTL is how long an event's key is remembered (default 24 h,
	// longer than AXP keeps re-sending).
	DedupeTTL time.Duration
	Logger    *slog.Logger
	// Observe, when set, is told the outcome of every event.
	Observe func(eventType string, o Outcome)
}

// New returns a relay over the registry with a face per conversation face.
func New(reg mapping.Registry, faces map[mapping.Face]Face, opts Options) *Relay {
	if opts.DedupeTTL <= 0 {
		opts.DedupeTTL = 24 * time.Hour
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Observe == nil {
		opts.Observe = func(string, Outcome) {}
	}
	return &Relay{reg: reg, faces: faces, dedupeTTL: opts.DedupeTTL, log: opts.Logger, observe: opts.Observe}
}

// HandleEvent routes one event. Events for dialogs the proxy does not know
// (another connector's, or customer messages echoed back) are acknowledged
// and dropped; a duplicate is dropped; a delivery failure is returned so
// that AXP re-sends, and the dedupe mark is taken back for that re-send.
func (r *Relay) HandleEvent(ctx context.Context, ev *engagement.Event) error {
	dialog := ev.DialogID()
	if dialog == "" {
		r.observe(ev.EventType, Unrouted)
		return nil
	}
	conv, err := r.reg.ConversationByDialog(ctx, dialog)
	if errors.Is(err, mapping.ErrNotFound) {
		r.observe(ev.EventType, Unrouted)
		return nil
	}
	if err != nil {
		r.observe(ev.EventType, Failed)
		return fmt.Errorf("relay: look up dialog %s: %w", dialog, err)
	}
	face, ok := r.faces[conv.Owner.Face]
	if !ok {
		r.observe(ev.EventType, Unrouted)
		r.log.WarnContext(ctx, "relay: no face for conversation", "face", conv.Owner.Face, "conversation", conv.ID)
		return nil
	}
	key := ev.DedupeKey()
	if key != "" {
		first, err := r.reg.MarkSeen(ctx, key, r.dedupeTTL)
		if err != nil {
			r.observe(ev.EventType, Failed)
			return fmt.Errorf("relay: dedupe %s: %w", key, err)
		}
		if !first {
			r.observe(ev.EventType, Duplicate)
			return nil
		}
	}
	if err := face.Deliver(ctx, conv, ev); err != nil {
		if key != "" {
			if ferr := r.reg.ForgetSeen(ctx, key); ferr != nil {
				err = errors.Join(err, ferr)
			}
		}
		r.observe(ev.EventType, Failed)
		return fmt.Errorf("relay: deliver %s to %s: %w", ev.EventType, conv.ID, err)
	}
	r.observe(ev.EventType, Delivered)
	return nil
}
