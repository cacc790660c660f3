package legacyv1

import (
	"slices"
	"time"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/mapping"
	"github.com/connector-proxy/connector-proxy/pipeline"
)

// The face's part in the event pipeline: how an AXP event of one of its
// conversations changes it (Apply), and how the legacy webhooks it causes
// are delivered (Send, sender.go).

// OwnerFace is the conversation owner the legacy face writes into the
// registry: the pipeline hands the events of its conversations to the face
// registered under it.
const OwnerFace mapping.Face = "legacyv1"

// LogNotifications is the conversation log that keeps the legacy payload
// of every event applied to the conversation, in order: GET
// …/notifications answers it. It is written in the commit that applies the
// event, so a re-sent event leaves no second record.
const LogNotifications = "legacy-notifications"

var (
	_ pipeline.Face   = (*Face)(nil)
	_ pipeline.Sender = (*Face)(nil)
)

// Conversation attributes the face writes and Apply reads.
const (
	attrCustomerIdentifier = "legacyCustomerIdentifier"
	attrChannelProvider    = "legacyChannelProvider"
	// attrProviderDialog is the providerDialogId the client gave ("" for
	// none). AXP is given the conversation's id instead, so that its
	// events name the conversation; the client sees its own value back.
	attrProviderDialog = "legacyProviderDialogId"
)

// Close reasons the face records (Conversation.CloseReason).
const (
	closedByCustomer = "CUSTOMER"           // the client disconnected its session
	closedBySession  = "SESSION_TERMINATED" // the client ended the session
	closedByAXP      = "DIALOG_ENDED"       // AXP ended the dialog
)

// ContextOf is the session context a conversation record of the face holds.
func ContextOf(conv *mapping.Conversation) SessionContext {
	return SessionContext{
		AccountID:          conv.Owner.Account,
		SessionID:          conv.SessionID,
		CustomerIdentifier: conv.Attrs[attrCustomerIdentifier],
		ChannelProviderID:  conv.Attrs[attrChannelProvider],
		ParticipantID:      conv.ParticipantID,
		ConversationID:     conv.ID,
		ProviderDialogID:   conv.Attrs[attrProviderDialog],
	}
}

// Apply implements pipeline.Face: the event's legacy payload is kept as
// the engagement's notification and posted, through the outbox, to every
// callback of the channel provider's registrations that wants it; the
// conversation is closed when its customer leaves or AXP ends the dialog.
// It reads the registrations from memory (registrations.go): no I/O.
func (f *Face) Apply(conv *mapping.Conversation, ev *engagement.Event, now time.Time) pipeline.Effect {
	var hooks []*Webhook
	if conv.Attrs[attrChannelProvider] == f.b.ChannelProviderID {
		hooks = f.hooks.list()
	}
	eff, err := applyEvent(conv, ev, hooks, now, f.cfg.DeliveryWindow)
	if err != nil {
		// Only a payload that cannot be encoded: the state change stands.
		f.log.Error("legacyv1: encode an event's legacy payload", "conversation", conv.ID, "event", ev.EventType, "err", err)
	}
	return eff
}

// applyEvent is Apply with the registrations given.
func applyEvent(conv *mapping.Conversation, ev *engagement.Event, hooks []*Webhook, now time.Time, window time.Duration) (pipeline.Effect, error) {
	eff := pipeline.Effect{Reconcile: track(conv, ev, eventTime(ev, now))}
	body, ok, err := EncodeEvent(ev, ContextOf(conv))
	if err != nil || !ok {
		return eff, err
	}
	eff.Append = []mapping.LogRecord{{Log: LogNotifications, Data: body}}
	for _, target := range targets(hooks, ev) {
		eff.Outbox = append(eff.Outbox, &mapping.OutboxItem{
			Queue:       conv.ID,
			Face:        OwnerFace,
			Target:      target,
			Headers:     map[string]string{"Content-Type": "application/json"},
			Body:        body,
			Kind:        "legacyv1." + ev.EventType,
			EnqueuedAt:  now,
			NextAttempt: now,
			Expires:     now.Add(window),
		})
	}
	return eff, nil
}

// targets are the distinct callback URLs of the registrations that want
// ev, in the order of the registrations.
func targets(hooks []*Webhook, ev *engagement.Event) []string {
	sender := ""
	if ev.Message != nil {
		sender = ev.Message.SenderParticipantType
	}
	var out []string
	for _, w := range hooks {
		for i := range w.Subscriptions {
			s := &w.Subscriptions[i]
			if s.Wants(ev.EventType, sender) && !slices.Contains(out, s.CallbackURL) {
				out = append(out, s.CallbackURL)
			}
		}
	}
	return out
}

// track keeps the conversation's state: the customer of the session that
// made it leaving closes it, and so does AXP's word that the dialog ended.
// Anyone else leaving, or an engagement error, may have ended the dialog
// (an agent closing it, the routing giving up): it asks AXP.
func track(conv *mapping.Conversation, ev *engagement.Event, at time.Time) (reconcile bool) {
	if !conv.Open() {
		return false
	}
	switch {
	case ev.Participant != nil && ev.EventType == engagement.EventParticipantDisconnected:
		p := ev.Participant
		if p.ParticipantType == engagement.ParticipantCustomer && (p.ParticipantID == conv.ParticipantID || p.SessionID == conv.SessionID) {
			closeConv(conv, closedByCustomer, at)
			return false
		}
		return true
	case ev.EngagementError != nil:
		return true
	case ev.DialogState != nil:
		if s := ev.DialogState.Dialog.DialogStatus; s == engagement.DialogTerminated || s == engagement.DialogTerminating {
			closeConv(conv, closedByAXP, at)
		}
	}
	return false
}

func closeConv(c *mapping.Conversation, reason string, at time.Time) {
	c.State, c.CloseReason, c.ClosedAt = mapping.StateClosed, reason, at
}

func eventTime(ev *engagement.Event, now time.Time) time.Time {
	if !ev.EventDate.IsZero() {
		return ev.EventDate.Time
	}
	return now
}
