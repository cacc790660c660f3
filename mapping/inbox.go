package mapping

import (
	"context"
	"encoding/json"
	"time"
)

// InboxEntry is one AXP event kept until it is applied to its
// conversation. Entries of one conversation form a queue, applied in Seq
// order.
type InboxEntry struct {
	// Conversation is the conversation the event names (its
	// providerDialogId, or the conversation of its dialog).
	Conversation string `json:"conversation"`
	// Seq is assigned by Receive, increasing within the conversation's
	// shard.
	Seq uint64 `json:"seq"`
	// Key is the event's dedupe key ("" when it has none).
	Key string `json:"key,omitempty"`
	// Event is the webhook body as AXP sent it.
	Event json.RawMessage `json:"event"`
	// ReceivedAt is when the first copy arrived (set by Receive when zero);
	// the queue is ready from then on.
	ReceivedAt time.Time `json:"receivedAt"`
	// Trace is the trace context of the webhook that brought the event
	// (package telemetry's Carry: a W3C traceparent, maybe a tracestate),
	// so that its apply joins the trace; "" when not traced.
	Trace string `json:"trace,omitempty"`
}

// Inbox keeps AXP events between their webhook and their application. An
// event is answered 200 only once Receive stored it, and leaves only by a
// Commit that applied it (Change.Done) or by Discard.
type Inbox interface {
	// Receive stores e at the end of its conversation's queue, together
	// with its dedupe key, in one atomic step, unless the key was stored
	// within ttl: then nothing is written and dup is true. The queue is
	// made ready at once.
	Receive(ctx context.Context, e *InboxEntry, ttl time.Duration) (dup bool, err error)
	// ReadyInbox returns up to limit conversations of shard whose queue is
	// ready by now, the longest waiting first.
	ReadyInbox(ctx context.Context, shard int, now time.Time, limit int) ([]string, error)
	// InboxOf returns up to limit entries of a conversation's queue, in
	// order.
	InboxOf(ctx context.Context, conversation string, limit int) ([]*InboxEntry, error)
	// Defer makes a conversation's queue ready again only at until (its
	// conversation is not known yet: the event overtook the create).
	Defer(ctx context.Context, conversation string, until time.Time) error
	// Discard removes entries that will never apply; their dedupe keys
	// stay, so AXP's re-sends are not taken again.
	Discard(ctx context.Context, entries []*InboxEntry) error
}
