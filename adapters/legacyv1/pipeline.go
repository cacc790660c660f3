package legacyv1

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/mapping"
)

// What the face needs from the event pipeline (durable inbox, one worker
// per conversation, a generic outbox), which is built elsewhere. The face
// is written against these small interfaces; wiring them is the pipeline's
// part (see the package doc).

// OwnerFace is the conversation owner the legacy face writes into the registry:
// the pipeline routes an event of a dialog whose conversation has this
// face to Apply.
const OwnerFace mapping.Face = "legacyv1"

// Registry is what the face keeps in the proxy's store: the sessions it
// made (keyed by Face, account and session id, so that a legacy client
// touches no other face's session) and one conversation per dialog.
// mapping.Registry has it.
type Registry interface {
	PutSession(ctx context.Context, key mapping.ConsumerKey, ref mapping.SessionRef) error
	Session(ctx context.Context, key mapping.ConsumerKey) (mapping.SessionRef, error)
	Commit(ctx context.Context, ch *mapping.Change) error
	ConversationByDialog(ctx context.Context, dialogID string) (*mapping.Conversation, error)
}

var _ Registry = mapping.Registry(nil)

// Webhooks keeps the legacy clients' webhook registrations durably.
type Webhooks interface {
	// RegisterWebhook keeps w (its WebhookID made by the face).
	RegisterWebhook(ctx context.Context, w *Webhook) error
	// DeleteWebhook removes a registration; an unknown one is
	// mapping.ErrNotFound (wrapped).
	DeleteWebhook(ctx context.Context, channelProviderID, webhookID string) error
	// Webhooks lists a channel provider's registrations, what Apply
	// matches an event against.
	Webhooks(ctx context.Context, channelProviderID string) ([]*Webhook, error)
}

// Notifications keeps the legacy payload of every event of an engagement
// the pipeline applied (Effects.Notification), in the order applied: GET
// /v1/engagements/{id}/notifications, which v1beta dropped, answers them.
type Notifications interface {
	Notifications(ctx context.Context, engagementID string) ([]json.RawMessage, error)
}

// Effects is what one AXP event of a legacy conversation causes. The
// pipeline writes both in the transaction that applies the event.
type Effects struct {
	// EngagementID keys Notification.
	EngagementID string
	// Notification is kept for GET …/notifications; nil for an event the
	// legacy API has no payload for.
	Notification json.RawMessage
	// Deliveries are the webhook POSTs, one per distinct callback URL of
	// the registrations that want the event.
	Deliveries []Delivery
}

// Delivery is one legacy webhook POST for the outbox.
type Delivery struct {
	// Queue orders deliveries: those of one conversation go one at a
	// time, in order.
	Queue string
	// Target is the callback URL; Headers go with Body, which is sent as is.
	Target  string
	Headers map[string]string
	Body    []byte
	// Kind labels metrics ("legacyv1.MESSAGES").
	Kind string
}

// OutboxItem is the delivery as today's outbox item (mapping.Outbox); the
// deliverer fills Seq, times and attempts.
func (d Delivery) OutboxItem() *mapping.OutboxItem {
	return &mapping.OutboxItem{Queue: d.Queue, Target: d.Target, Headers: d.Headers, Body: d.Body, Kind: d.Kind}
}

// Conversation attributes the face writes and Apply reads.
const (
	attrCustomerIdentifier = "legacyCustomerIdentifier"
	attrChannelProvider    = "legacyChannelProvider"
)

// ContextOf is the session context a conversation record of the face holds.
func ContextOf(conv *mapping.Conversation) SessionContext {
	return SessionContext{
		AccountID:          conv.Owner.Account,
		SessionID:          conv.SessionID,
		CustomerIdentifier: conv.Attrs[attrCustomerIdentifier],
		ChannelProviderID:  conv.Attrs[attrChannelProvider],
		ParticipantID:      conv.ParticipantID,
	}
}

// Apply is the face's part in applying an AXP event to one of its
// conversations: the legacy payload, kept as the engagement's notification
// and posted to every registered callback that wants it. It is pure; the
// caller reads the registrations (Webhooks.Webhooks of the conversation's
// channel provider) and writes the effects.
func Apply(conv *mapping.Conversation, ev *engagement.Event, hooks []*Webhook) (Effects, error) {
	body, ok, err := EncodeEvent(ev, ContextOf(conv))
	if err != nil || !ok {
		return Effects{}, err
	}
	out := Effects{EngagementID: conv.EngagementID, Notification: body}
	sender := ""
	if ev.Message != nil {
		sender = ev.Message.SenderParticipantType
	}
	var targets []string
	for _, w := range hooks {
		for i := range w.Subscriptions {
			s := &w.Subscriptions[i]
			if s.Wants(ev.EventType, sender) && !slices.Contains(targets, s.CallbackURL) {
				targets = append(targets, s.CallbackURL)
			}
		}
	}
	for _, t := range targets {
		out.Deliveries = append(out.Deliveries, Delivery{
			Queue:   conv.ID,
			Target:  t,
			Headers: map[string]string{"Content-Type": "application/json"},
			Body:    body,
			Kind:    "legacyv1." + ev.EventType,
		})
	}
	return out, nil
}
