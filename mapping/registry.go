package mapping

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"
)

// ErrNotFound is returned (wrapped) when a key has no record.
var ErrNotFound = errors.New("mapping: not found")

// ErrUnavailable is returned (wrapped) when the store cannot be reached; the
// faces answer 503 for it.
var ErrUnavailable = errors.New("mapping: store unavailable")

// ErrConflict is returned (wrapped) by Commit when a conversation's version
// moved since it was read: someone else's change came first. The caller
// reads the conversation again and reapplies its change.
var ErrConflict = errors.New("mapping: conversation changed meanwhile")

// ErrNotOwner is returned (wrapped) by Commit when its Fence names a shard
// lease the holder no longer has: another replica took the shard over.
var ErrNotOwner = errors.New("mapping: shard lease lost")

// ErrDuplicate is returned (wrapped) by Commit when the event it applies
// (Change.Applied) was received before: nothing was written.
var ErrDuplicate = errors.New("mapping: event received before")

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
	// ID is the id the client sees (conversationId); the proxy makes it
	// with NewConversationID, and it is the dialog's providerDialogId at
	// AXP, so AXP's events name it.
	ID    string      `json:"id"`
	Owner ConsumerKey `json:"owner"`
	// Version counts the conversation's committed changes; Commit writes
	// only over the version it was read at.
	Version uint64 `json:"version"`

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

// Clone returns a copy that shares nothing mutable with c.
func (c *Conversation) Clone() *Conversation {
	cp := *c
	if c.Attrs != nil {
		cp.Attrs = make(map[string]string, len(c.Attrs))
		for k, v := range c.Attrs {
			cp.Attrs[k] = v
		}
	}
	return &cp
}

// Equal reports whether c and o hold the same conversation at the same
// version: a change that leaves them equal need not rewrite the record.
func (c *Conversation) Equal(o *Conversation) bool {
	return c.ID == o.ID && c.Owner == o.Owner && c.Version == o.Version &&
		c.SessionID == o.SessionID && c.EngagementID == o.EngagementID && c.DialogID == o.DialogID &&
		c.ParticipantID == o.ParticipantID && c.Channel == o.Channel && c.RefID == o.RefID &&
		c.State == o.State && c.CloseReason == o.CloseReason &&
		c.CreatedAt.Equal(o.CreatedAt) && c.ClosedAt.Equal(o.ClosedAt) && maps.Equal(c.Attrs, o.Attrs)
}

// Fence makes a Commit conditional on Holder still having Shard's lease, so
// that of two replicas that both think they own a shard only one can apply
// its events.
type Fence struct {
	Shard  int
	Holder string
}

// Change is one atomic write: everything in it lands, or nothing does.
type Change struct {
	// Conv is written with a compare-and-set: the stored version must be
	// Conv.Version (0: the conversation must not exist yet); on success
	// Conv.Version is the new one. A new conversation's dialog index and
	// owner index are written with it.
	Conv *Conversation
	// Unchanged says that the change leaves Conv as it was read: its
	// version is still compared, so that the change is made from the
	// conversation as stored, but the record is not written and keeps its
	// version (an event that only notifies). Only with a stored Conv.
	Unchanged bool
	// Outbox items are appended to their queues (the conversation's id),
	// in order, each assigned its Seq; an EnqueuedAt left zero is the
	// commit's time.
	Outbox []*OutboxItem
	// Done are inbox entries this change applied; they leave the inbox.
	Done []*InboxEntry
	// Release, when set, ends that owner's claim if Holder still has it
	// (the claim whose work this change completes).
	Release *Claim
	// Fence, when set, refuses the change with ErrNotOwner unless the
	// holder still has the shard's lease.
	Fence *Fence
	// Applied, when set, is an event this change applies as it arrives,
	// without queueing it: its dedupe key is recorded with the change for
	// AppliedTTL. The change is refused with ErrDuplicate when the key is
	// there already, and with ErrConflict when the conversation's inbox
	// holds events (they come first).
	Applied    *InboxEntry
	AppliedTTL time.Duration
	// Append adds records to the change's conversation's logs (its
	// messages as they pass, the notifications of a face that serves them
	// back), in order, with the rest of the change: a record is there once
	// however often the event that made it is re-sent.
	Append []LogRecord
	// Of names the change's conversation when nothing else does: a log
	// append alone, which needs no compare-and-set on the conversation
	// (a customer's message recorded once AXP stored it).
	Of string
}

// LogRecord is one record of a conversation's log.
type LogRecord struct {
	Log  string
	Data []byte
}

// MaxLogRecords bounds one log of one conversation: past it the oldest
// records go.
const MaxLogRecords = 10_000

// Registry is the conversation registry. Every method does I/O and may
// return ErrUnavailable; lookups return ErrNotFound for a missing key.
type Registry interface {
	// Session returns the session a consumer is mapped to.
	Session(ctx context.Context, key ConsumerKey) (SessionRef, error)
	// PutSession maps a consumer to a session, replacing an older one.
	PutSession(ctx context.Context, key ConsumerKey, ref SessionRef) error
	// DeleteSession forgets a consumer's session.
	DeleteSession(ctx context.Context, key ConsumerKey) error

	// Conversation returns a conversation by its client id.
	Conversation(ctx context.Context, id string) (*Conversation, error)
	// ConversationByDialog returns the conversation of an AXP dialog.
	ConversationByDialog(ctx context.Context, dialogID string) (*Conversation, error)
	// Conversations returns a consumer's conversations, open and closed,
	// oldest first.
	Conversations(ctx context.Context, owner ConsumerKey) ([]*Conversation, error)

	// Commit applies a change atomically; see Change. It returns
	// ErrConflict, ErrNotOwner or ErrUnavailable (wrapped) and then wrote
	// nothing.
	Commit(ctx context.Context, ch *Change) error
	// Log returns the last limit records of a conversation's log, oldest
	// first (none when it has no such log). A log lives as long as its
	// conversation.
	Log(ctx context.Context, conversation, log string, limit int) ([][]byte, error)

	// Ping reports whether the store answers.
	Ping(ctx context.Context) error
	// Close releases the store.
	Close() error
}

// Store is everything the proxy keeps durably.
type Store interface {
	Registry
	Inbox
	Outbox
	OutboxAdmin
	Leases
	Claims
	Sends
	Webhooks
}

// changeConversation is the one conversation a change concerns: on a
// Redis cluster a change is one script in one slot, and its logs are that
// conversation's.
func changeConversation(ch *Change) (string, error) {
	id := ""
	use := func(c string) error {
		if id == "" {
			id = c
		}
		if c != id {
			return fmt.Errorf("mapping: a change concerns one conversation, got %s and %s", id, c)
		}
		return nil
	}
	if ch.Conv != nil {
		_ = use(ch.Conv.ID)
	}
	if ch.Of != "" {
		if err := use(ch.Of); err != nil {
			return "", err
		}
	}
	for _, it := range ch.Outbox {
		if err := use(it.Queue); err != nil {
			return "", err
		}
	}
	for _, e := range ch.Done {
		if err := use(e.Conversation); err != nil {
			return "", err
		}
	}
	return id, nil
}
