package mapping

import (
	"context"
	"time"
)

// Leases hand each shard to one replica at a time. The holder of a shard's
// lease applies its inbox and delivers its outbox; Commit's Fence makes sure
// that a replica that lost a lease cannot apply events any more.
type Leases interface {
	// Lease takes shard's lease for holder until ttl from now, or renews it
	// when holder has it; it reports false while another holder's runs.
	Lease(ctx context.Context, shard int, holder string, ttl time.Duration) (bool, error)
	// Release ends holder's lease early; nothing happens when another has it.
	Release(ctx context.Context, shard int, holder string) error
	// Replicas records holder as alive for ttl and returns how many
	// replicas are alive, holder included (so each can take its share).
	Replicas(ctx context.Context, holder string, ttl time.Duration) (int, error)
	// Alive reports whether holder said it was alive within its ttl (on
	// the embedded store, which one process opens at a time, only the
	// holder that last said so is).
	Alive(ctx context.Context, holder string) (bool, error)
}

// Claim is one replica's exclusive right, for a while, to open a
// consumer's session and conversation: of CONVERSATION requests for one
// consumer arriving at several replicas at once, only the claim holder
// talks to AXP; the others wait for its conversation.
type Claim struct {
	Owner  ConsumerKey `json:"owner"`
	Holder string      `json:"holder"`
	// Conversation is the id the conversation opened under the claim gets
	// (and its providerDialogId at AXP). A claim taken over after its
	// holder died keeps it, so that the new holder finds at AXP whatever
	// the old one began.
	Conversation string    `json:"conversation"`
	Until        time.Time `json:"until"`
	// Since is when Conversation was first named, kept through renewals
	// and takeovers: whatever was begun under it (a create AXP may still
	// apply late) began no earlier.
	Since time.Time `json:"since"`
}

// Claims are the consumers' claims.
type Claims interface {
	// Claim takes owner's claim for holder until ttl from now, naming
	// conversation, unless another holder's claim runs; it returns the
	// claim in force and whether holder has it. Holder's own claim is
	// renewed; an expired claim is taken over with its Conversation and
	// Since.
	Claim(ctx context.Context, owner ConsumerKey, holder, conversation string, ttl time.Duration) (Claim, bool, error)
	// ReleaseClaim ends holder's claim on owner; another's is left alone.
	ReleaseClaim(ctx context.Context, owner ConsumerKey, holder string) error
}

// Send states.
const (
	// SendPending: the message may be at AXP or not; whoever meets the
	// record asks AXP before sending again.
	SendPending = "pending"
	// SendSent: AXP stored it, and the client was answered.
	SendSent = "sent"
)

// SendRecord is what the proxy knows of one customer message it sends to
// AXP, kept under the message's idempotency key so that a client's retry
// does not store it twice.
type SendRecord struct {
	// ProviderMessageID is sent to AXP with the message; it is how the
	// proxy finds the message at AXP when an answer was lost.
	ProviderMessageID string `json:"providerMessageId"`
	State             string `json:"state"`
	MessageID         string `json:"messageId,omitempty"`
	MessageIndex      int    `json:"messageIndex,omitempty"`
	// Holder is the process that sent it, At when: a pending record of a
	// live holder may still be on its way to AXP.
	Holder string    `json:"holder,omitempty"`
	At     time.Time `json:"at"`
}

// Sends are the send records, each in its conversation's shard.
type Sends interface {
	// BeginSend stores rec under conversation's key unless a record is
	// there, pending or sent; it returns the record in force and whether it
	// is rec. A key names one message: sent again within ttl, it is the
	// same message, answered from its record.
	BeginSend(ctx context.Context, conversation, key string, rec SendRecord, ttl time.Duration) (SendRecord, bool, error)
	// TakeSend replaces the pending record under key with rec if it is
	// still expect (the same id, holder and time): of two retries taking
	// over one record, one wins. It reports whether rec was stored.
	TakeSend(ctx context.Context, conversation, key string, expect, rec SendRecord, ttl time.Duration) (bool, error)
	// Send returns the record under key; ok is false when there is none.
	Send(ctx context.Context, conversation, key string) (rec SendRecord, ok bool, err error)
	// PutSend replaces the record under key.
	PutSend(ctx context.Context, conversation, key string, rec SendRecord, ttl time.Duration) error
	// DropSend forgets the record under key (the message was not stored).
	DropSend(ctx context.Context, conversation, key string) error
	// MarkSent replaces the record under key with rec, the message stored
	// (State SendSent), as PutSend does, except that it may return before
	// that is durable: the embedded store queues it for its next group
	// commit, ordered before every write asked after it, and does not
	// wait. A crash that loses it leaves the record pending, and whoever
	// meets it finds the message at AXP by its ProviderMessageID; so the
	// client can be answered without another commit's wait.
	MarkSent(ctx context.Context, conversation, key string, rec SendRecord, ttl time.Duration) error
}
