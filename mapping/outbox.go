package mapping

import (
	"context"
	"time"
)

// OutboxItem is one notification waiting for delivery.
type OutboxItem struct {
	// Queue orders items: items of one queue are delivered one at a time,
	// in Seq order. A queue is a conversation (its id).
	Queue string `json:"queue"`
	// Seq is assigned by Commit, increasing within the queue's shard.
	Seq uint64 `json:"seq"`
	// Face is the face whose sender delivers the item.
	Face Face `json:"face"`
	// Target is where the item goes (a webhook URL) and Headers what is sent
	// with it; Body is sent as is.
	Target  string            `json:"target"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    []byte            `json:"body"`
	// Kind is a short label for metrics (the notification type).
	Kind string `json:"kind,omitempty"`
	// App is the client application the item is for (the Connector API
	// app's client id), so that an operator can select an app's items.
	App string `json:"app,omitempty"`

	EnqueuedAt time.Time `json:"enqueuedAt"`
	// Attempts, NextAttempt and LastError are kept by the deliverer
	// through Retry.
	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"nextAttempt"`
	LastError   string    `json:"lastError,omitempty"`
	// Expires is when the item is dropped if still undelivered.
	Expires time.Time `json:"expires"`
	// Trace is the trace context of the change that caused the item
	// (package telemetry's Carry), the parent of each delivery attempt's
	// span; "" when not traced.
	Trace string `json:"trace,omitempty"`

	// DroppedAt and DropReason are set on a dropped item (see OutboxAdmin);
	// Replays counts the times an operator put it back in its queue.
	DroppedAt  time.Time `json:"droppedAt,omitzero"`
	DropReason string    `json:"dropReason,omitempty"`
	Replays    int       `json:"replays,omitempty"`
}

// Outbox is the durable queue of notifications. Items are written by
// Commit, in the transaction of the change that caused them, and removed
// only once delivered, or moved to the dropped set (Drop) once expired or
// undeliverable. An index by due time of every queue's
// head lets a sweep read only what is due.
type Outbox interface {
	// Due returns the heads of up to limit queues of shard whose head is
	// due by now, the earliest due first.
	Due(ctx context.Context, shard int, now time.Time, limit int) ([]*OutboxItem, error)
	// Head returns the first item of a queue, nil when it is empty.
	Head(ctx context.Context, queue string) (*OutboxItem, error)
	// Retry stores the head's new Attempts, NextAttempt and LastError.
	Retry(ctx context.Context, item *OutboxItem) error
	// Remove deletes a delivered or expired item; the queue's next item,
	// if any, becomes its head, due at its own NextAttempt. It returns the
	// queue's head after the removal (nil when it is empty), as Head would:
	// a deliverer goes on with it without asking again.
	Remove(ctx context.Context, item *OutboxItem) (*OutboxItem, error)
	// Drop moves an undeliverable or expired item from its queue to the
	// dropped set, in one atomic step, as Remove does with the queue; an
	// item already gone is not kept (it was delivered or discarded). The
	// dropped set is then trimmed to d's bounds.
	Drop(ctx context.Context, item *OutboxItem, d Drop) error
	// Depth returns the number of items waiting.
	Depth(ctx context.Context) (int, error)
}
