package mapping

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// What an operator sees of the outbox and repairs: the pending items, the
// dropped ones (kept, bounded, for a replay instead of vanishing), and the
// endpoints whose delivery is paused.

// The two sets an outbox item can be in.
const (
	OutboxPending = "pending"
	OutboxDropped = "dropped"
)

// Drop reasons.
const (
	DropExpired       = "expired"       // its retention ran out undelivered
	DropUndeliverable = "undeliverable" // its sender said retrying cannot mend it
	DropNoSender      = "no_sender"     // no sender delivers its face
)

// Drop says why and when an item left its queue undelivered, and bounds
// the dropped set it joins.
type Drop struct {
	Reason string
	At     time.Time
	// Keep bounds the dropped items of the item's shard: past it the
	// oldest dropped go (at least 1). KeepFor removes, at the same time,
	// those dropped longer ago than that (0: no age bound).
	Keep    int
	KeepFor time.Duration
}

// MaxOutboxPage bounds one listing's page.
const MaxOutboxPage = 1000

// OutboxQuery selects a page of a listing.
type OutboxQuery struct {
	// State is OutboxPending or OutboxDropped.
	State string
	// Queue, Face, App and Endpoint (EndpointID of the target) narrow the
	// listing when set.
	Queue    string
	Face     Face
	App      string
	Endpoint string
	// Limit is the page size, 1 to MaxOutboxPage.
	Limit int
	// Cursor is the Next of the page before ("" for the first).
	Cursor string
}

// OutboxPage is one page of a listing: the items of a queue in order, the
// queues one after the other. A page read with a filter may hold fewer
// than Limit items and still have a Next (a page reads a bounded number of
// items); Next is "" at the end.
type OutboxPage struct {
	Items []*OutboxItem
	Next  string
}

// OutboxStats is what the metrics say of the outbox.
type OutboxStats struct {
	Pending int
	Dropped int
	// OldestPending is when the oldest pending item was enqueued (zero
	// when none is pending).
	OldestPending time.Time
}

// EndpointPause holds the delivery of every item whose target is one
// endpoint: they stay pending and are not attempted until it is resumed.
type EndpointPause struct {
	// Endpoint is EndpointID of the target.
	Endpoint string `json:"endpoint"`
	// Target is the endpoint as an operator may be shown it (its secrets
	// masked by whoever paused it).
	Target string    `json:"target,omitempty"`
	Reason string    `json:"reason,omitempty"`
	By     string    `json:"by,omitempty"`
	Since  time.Time `json:"since"`
}

// OutboxAdmin is the outbox's side that operators use. Every method does
// I/O and may return ErrUnavailable; an item or a pause that is not there
// is ErrNotFound (wrapped).
type OutboxAdmin interface {
	// ListOutbox returns a page of the pending or the dropped items.
	ListOutbox(ctx context.Context, q OutboxQuery) (OutboxPage, error)
	// Replay moves a dropped item back to the tail of its queue, in one
	// atomic step, as a fresh item (see Renewed): behind every item pending
	// in that queue now. It returns the item as queued, with its new Seq.
	Replay(ctx context.Context, queue string, seq uint64, now time.Time) (*OutboxItem, error)
	// DiscardOutbox removes one item of the pending or the dropped set and
	// returns it.
	DiscardOutbox(ctx context.Context, state, queue string, seq uint64) (*OutboxItem, error)
	// ExpireDropped removes the dropped items of shard dropped before
	// before, and returns how many went.
	ExpireDropped(ctx context.Context, shard int, before time.Time) (int, error)
	// OutboxStats counts the pending and the dropped items and finds the
	// oldest pending one.
	OutboxStats(ctx context.Context) (OutboxStats, error)

	// PauseEndpoint records a pause; an endpoint paused already keeps its
	// first record, which it returns with created false.
	PauseEndpoint(ctx context.Context, p EndpointPause) (rec EndpointPause, created bool, err error)
	// ResumeEndpoint removes an endpoint's pause and returns it.
	ResumeEndpoint(ctx context.Context, endpoint string) (EndpointPause, error)
	// Pauses lists the paused endpoints.
	Pauses(ctx context.Context) ([]EndpointPause, error)
}

// EndpointID names a target in listings, filters and pauses without
// showing it: the first 16 hex digits of its SHA-256.
func EndpointID(target string) string {
	sum := sha256.Sum256([]byte(target))
	return hex.EncodeToString(sum[:8])
}

// replayRetention is the retention of a replayed item whose own cannot be
// told (no enqueue time or expiry).
const replayRetention = time.Hour

// Renewed is what Replay queues for a dropped item: fresh attempts, due at
// now, enqueued now and expiring after the retention it was first given;
// its drop forgotten, its replays counted.
func Renewed(it *OutboxItem, now time.Time) *OutboxItem {
	cp := *it
	keep := it.Expires.Sub(it.EnqueuedAt)
	if it.EnqueuedAt.IsZero() || keep <= 0 {
		keep = replayRetention
	}
	cp.Seq = 0
	cp.Attempts, cp.LastError = 0, ""
	cp.EnqueuedAt, cp.NextAttempt, cp.Expires = now, now, now.Add(keep)
	cp.DroppedAt, cp.DropReason = time.Time{}, ""
	cp.Replays++
	return &cp
}

// checkOutboxQuery refuses a query no store can answer.
func checkOutboxQuery(q OutboxQuery) (outboxCursor, error) {
	if q.State != OutboxPending && q.State != OutboxDropped {
		return outboxCursor{}, fmt.Errorf("mapping: outbox state %q, want %s or %s", q.State, OutboxPending, OutboxDropped)
	}
	if q.Limit < 1 || q.Limit > MaxOutboxPage {
		return outboxCursor{}, fmt.Errorf("mapping: outbox page of %d, want 1 to %d", q.Limit, MaxOutboxPage)
	}
	return DecodeOutboxCursor(q.Cursor)
}

func checkState(state string) error {
	if state != OutboxPending && state != OutboxDropped {
		return fmt.Errorf("mapping: outbox state %q, want %s or %s", state, OutboxPending, OutboxDropped)
	}
	return nil
}

// ErrBadCursor is returned (wrapped) for a cursor no listing made.
var ErrBadCursor = errors.New("mapping: not an outbox cursor")

// outboxCursor is where a listing stopped: after item Seq of Queue (in
// Shard, on stores that list shard by shard); an empty Queue is the start
// of Shard.
type outboxCursor struct {
	Shard int    `json:"s,omitempty"`
	Queue string `json:"q,omitempty"`
	Seq   uint64 `json:"n,omitempty"`
}

func cursorAfter(it *OutboxItem) outboxCursor {
	return outboxCursor{Shard: ShardOf(it.Queue), Queue: it.Queue, Seq: it.Seq}
}

func (c outboxCursor) encode() string {
	raw, _ := json.Marshal(c) // three plain fields: cannot fail
	return base64.RawURLEncoding.EncodeToString(raw)
}

// DecodeOutboxCursor reads a listing's Next ("" is the start).
func DecodeOutboxCursor(s string) (outboxCursor, error) {
	var c outboxCursor
	if s == "" {
		return c, nil
	}
	if len(s) > 4096 {
		return c, fmt.Errorf("%w: %d bytes", ErrBadCursor, len(s))
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return c, fmt.Errorf("%w: %w", ErrBadCursor, err)
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, fmt.Errorf("%w: %w", ErrBadCursor, err)
	}
	if c.Shard < 0 || c.Shard >= Shards {
		return c, fmt.Errorf("%w: shard %d", ErrBadCursor, c.Shard)
	}
	return c, nil
}

// matches reports whether it passes q's filters.
func (q OutboxQuery) matches(it *OutboxItem) bool {
	return (q.Queue == "" || it.Queue == q.Queue) && (q.Face == "" || it.Face == q.Face) &&
		(q.App == "" || it.App == q.App) && (q.Endpoint == "" || EndpointID(it.Target) == q.Endpoint)
}

// scanBudget bounds the items one page reads to fill itself with matches.
func scanBudget(limit int) int { return max(20*limit, 2000) }

// fetchFunc reads up to n items after c in the store's listing order; fewer
// than n only at the end.
type fetchFunc func(c outboxCursor, n int) ([]*OutboxItem, error)

// page fills one page with the items fetch reads that match q.
func page(q OutboxQuery, c outboxCursor, fetch fetchFunc) (OutboxPage, error) {
	var out OutboxPage
	chunk := q.Limit
	if q.Face != "" || q.App != "" || q.Endpoint != "" {
		chunk = max(chunk, 200)
	}
	for scanned := 0; ; {
		items, err := fetch(c, chunk)
		if err != nil {
			return out, err
		}
		for _, it := range items {
			scanned++
			c = cursorAfter(it)
			if !q.matches(it) {
				continue
			}
			out.Items = append(out.Items, it)
			if len(out.Items) == q.Limit {
				out.Next = c.encode()
				return out, nil
			}
		}
		if len(items) < chunk {
			return out, nil // the end
		}
		if scanned >= scanBudget(q.Limit) {
			out.Next = c.encode()
			return out, nil
		}
	}
}

// checkDrop refuses bounds no store could keep.
func checkDrop(d Drop) error {
	if d.Keep < 1 || d.KeepFor < 0 {
		return fmt.Errorf("mapping: drop bounds keep %d for %s, want at least 1 and not negative", d.Keep, d.KeepFor)
	}
	if d.Reason == "" {
		return errors.New("mapping: drop without reason")
	}
	return nil
}

// dropped is the record a drop keeps.
func dropped(it *OutboxItem, d Drop) *OutboxItem {
	cp := *it
	cp.DroppedAt, cp.DropReason = d.At, d.Reason
	return &cp
}

// dropCutoff is when items dropped before go, given d (zero: none).
func dropCutoff(d Drop) time.Time {
	if d.KeepFor == 0 {
		return time.Time{}
	}
	return d.At.Add(-d.KeepFor)
}
