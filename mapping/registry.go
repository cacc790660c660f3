package mapping

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned (wrapped) when a key has no record.
var ErrNotFound = errors.New("mapping: not found")

// ErrUnavailable is returned (wrapped) when the store cannot be reached; the
// faces answer 503 for it.
var ErrUnavailable = errors.New("mapping: store unavailable")

// Face names the client protocol a conversation was opened through.
type Face string

// The faces.
const (
	FaceConnectorAPI    Face = "connectorapi"
	FaceCustomerChannel Face = "customerchannel"
)

// ConsumerKey identifies a customer within a face: for the Connector API the
// account, app (client id) and consumer id; for the Customer Channel the
// channel and the customer's identifier.
type ConsumerKey struct {
	Face     Face   `json:"face"`
	Account  string `json:"account"`
	App      string `json:"app,omitempty"`
	Consumer string `json:"consumer"`
}

// String is the key's stable, printable form, used as a storage key.
func (k ConsumerKey) String() string {
	return string(k.Face) + "|" + k.Account + "|" + k.App + "|" + k.Consumer
}

// SessionRef is the AXP session a consumer is mapped to.
type SessionRef struct {
	SessionID     string    `json:"sessionId"`
	ParticipantID string    `json:"participantId"`
	DisplayName   string    `json:"displayName,omitempty"`
	CreatedAt     time.Time `json:"createdAt"`
}

// Conversation states.
const (
	StateOpen   = "OPEN"
	StateClosed = "CLOSE"
)

// Conversation is one client conversation and the AXP dialog behind it.
type Conversation struct {
	// ID is the id the client sees (conversationId); the proxy makes it.
	ID    string      `json:"id"`
	Owner ConsumerKey `json:"owner"`

	SessionID     string `json:"sessionId"`
	EngagementID  string `json:"engagementId"`
	DialogID      string `json:"dialogId"`
	ParticipantID string `json:"participantId"`

	// Channel and RefID are the Customer Channel's (web, sms, …; the
	// customer's address on that channel).
	Channel string `json:"channel,omitempty"`
	RefID   string `json:"refId,omitempty"`

	State       string    `json:"state"`
	CloseReason string    `json:"closeReason,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
	ClosedAt    time.Time `json:"closedAt,omitzero"`

	// Attrs keeps face-specific details that a later call needs (the
	// connector's Client-Properties features, the customer's name, …).
	Attrs map[string]string `json:"attrs,omitempty"`
}

// Open reports whether the conversation still takes messages.
func (c *Conversation) Open() bool { return c.State == StateOpen }

// Registry is the conversation registry. Every method does I/O and may
// return ErrUnavailable; lookups return ErrNotFound for a missing key.
type Registry interface {
	// Session returns the session a consumer is mapped to.
	Session(ctx context.Context, key ConsumerKey) (SessionRef, error)
	// PutSession maps a consumer to a session, replacing an older one.
	PutSession(ctx context.Context, key ConsumerKey, ref SessionRef) error
	// DeleteSession forgets a consumer's session.
	DeleteSession(ctx context.Context, key ConsumerKey) error

	// PutConversation writes a conversation and its dialog index.
	PutConversation(ctx context.Context, c *Conversation) error
	// Conversation returns a conversation by its client id.
	Conversation(ctx context.Context, id string) (*Conversation, error)
	// ConversationByDialog returns the conversation of an AXP dialog.
	ConversationByDialog(ctx context.Context, dialogID string) (*Conversation, error)
	// Conversations returns a consumer's conversations, open and closed,
	// oldest first.
	Conversations(ctx context.Context, owner ConsumerKey) ([]*Conversation, error)

	// MarkSeen records a dedupe key for ttl; first is false when the key was
	// already recorded and has not expired.
	MarkSeen(ctx context.Context, key string, ttl time.Duration) (first bool, err error)
	// ForgetSeen removes a dedupe key, so that an event whose handling
	// failed is taken again when AXP re-sends it.
	ForgetSeen(ctx context.Context, key string) error

	// Ping reports whether the store answers.
	Ping(ctx context.Context) error
	// Close releases the store.
	Close() error
}

// OutboxItem is one notification waiting for delivery.
type OutboxItem struct {
	// Queue orders items: items of one queue are delivered one at a time,
	// in Seq order (a queue is a conversation).
	Queue string `json:"queue"`
	// Seq is assigned by Enqueue, increasing within the store.
	Seq uint64 `json:"seq"`
	// Target is where the item goes (a webhook URL) and Headers what is sent
	// with it; Body is sent as is.
	Target  string            `json:"target"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    []byte            `json:"body"`
	// Kind is a short label for metrics (the notification type).
	Kind string `json:"kind,omitempty"`

	EnqueuedAt time.Time `json:"enqueuedAt"`
	// Attempts and NextAttempt are kept by the deliverer through Retry.
	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"nextAttempt"`
	// Expires is when the item is dropped if still undelivered.
	Expires time.Time `json:"expires"`
}

// Outbox is the durable queue of notifications. An item is written before
// the event that caused it is acknowledged, and removed only once delivered
// or expired.
type Outbox interface {
	// Enqueue appends items atomically, assigning their Seq.
	Enqueue(ctx context.Context, items ...*OutboxItem) error
	// Heads returns the first item of every non-empty queue.
	Heads(ctx context.Context) ([]*OutboxItem, error)
	// Retry stores the head's new Attempts and NextAttempt.
	Retry(ctx context.Context, item *OutboxItem) error
	// Remove deletes a delivered or expired item.
	Remove(ctx context.Context, item *OutboxItem) error
	// Depth returns the number of items waiting.
	Depth(ctx context.Context) (int, error)

	// Lease takes queue's delivery lease for holder until ttl from now, or
	// renews it when holder already has it; it reports false while another
	// holder's lease runs. Replicas sharing a store call it before
	// delivering a queue's head, so that each queue is delivered by one of
	// them at a time, in order, and the queues of a replica that died are
	// taken over once its leases run out.
	Lease(ctx context.Context, queue, holder string, ttl time.Duration) (bool, error)
	// Release ends holder's lease on queue early; it does nothing when
	// holder does not have it.
	Release(ctx context.Context, queue, holder string) error
}

// Store is everything the proxy keeps durably.
type Store interface {
	Registry
	Outbox
}
