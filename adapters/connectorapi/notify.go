package connectorapi

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/auth"
	"github.com/connector-proxy/connector-proxy/mapping"
)

// Notification types (the envelope's type) and the labels items carry.
const (
	typeMessagingEvent     = "ms.MessagingEventNotification"
	typeConversationChange = "cqm.ExConversationChangeNotification"
	kindContent            = "ContentEvent"
	kindConversation       = "ExConversationChange"
)

// Outbox item headers; the signature is added at delivery, keyed by the
// app's current secret, so no secret is stored with the item.
const (
	headerAccount  = "x-liveperson-account-id"
	headerClientID = "x-liveperson-client-id"
)

// participant is a conversation participant in LivePerson's terms.
type participant struct {
	ID   string `json:"id"`
	Role string `json:"role"`
}

// Deliver turns an AXP event on one of this face's conversations into
// LivePerson notifications and queues them in the outbox; nil means they
// are durable.
func (f *Face) Deliver(ctx context.Context, conv *mapping.Conversation, ev *engagement.Event) error {
	app, ok := f.tokens.App(conv.Owner.Account, conv.Owner.App)
	if !ok {
		f.log.Warn("connectorapi: event for an app no longer configured", "app", conv.Owner.App, "conversation", conv.ID)
		f.m.notifications.WithLabelValues(ev.EventType, "dropped").Inc()
		return nil
	}
	unlock := f.lock("conv|" + conv.ID)
	defer unlock()
	// The relay's copy may predate a close or an agent joining.
	cur, err := f.store.Conversation(ctx, conv.ID)
	if err != nil {
		return fmt.Errorf("connectorapi: reload conversation: %w", err)
	}
	at := eventTime(ev, f.now())
	switch {
	case ev.Message != nil:
		return f.deliverMessage(ctx, app, cur, ev.Message, at)
	case ev.Participant != nil:
		return f.deliverParticipant(ctx, app, cur, ev, at)
	case ev.EngagementError != nil:
		if !cur.Open() {
			return nil
		}
		return f.markClosedAt(ctx, cur, closeSystem, ev.EngagementError.Title, at)
	}
	return nil // ENGAGEMENT_CREATED and unknown events say nothing new
}

func eventTime(ev *engagement.Event, now time.Time) time.Time {
	if ev.Message != nil && ev.Message.ReceivedAt != nil && !ev.Message.ReceivedAt.IsZero() {
		return ev.Message.ReceivedAt.Time
	}
	if !ev.EventDate.IsZero() {
		return ev.EventDate.Time
	}
	return now
}

// role is the originator role of a contact-center participant type.
func role(app *auth.App, participantType string) string {
	switch participantType {
	case engagement.ParticipantSupervisor:
		return auth.RoleManager
	case engagement.ParticipantSystem:
		return auth.RoleController
	}
	return app.AgentRole // agents, and bots, which LivePerson shows as agents
}

type contentEvent struct {
	Type        string `json:"type"`
	ContentType string `json:"contentType"`
	Message     string `json:"message"`
}

type messagingChange struct {
	Sequence           int         `json:"sequence"`
	OriginatorID       string      `json:"originatorId"`
	OriginatorMetadata participant `json:"originatorMetadata"`
	ServerTimestamp    int64       `json:"serverTimestamp"`
	Event              any         `json:"event"`
	ConversationID     string      `json:"conversationId"`
	DialogID           string      `json:"dialogId"`
}

type notification struct {
	Kind string `json:"kind"`
	Body struct {
		SentTs  int64 `json:"sentTs"`
		Changes []any `json:"changes"`
	} `json:"body"`
	Type string `json:"type"`
}

func newNotification(typ string, sent time.Time, change any) ([]byte, error) {
	n := notification{Kind: "notification", Type: typ}
	n.Body.SentTs = sent.UnixMilli()
	n.Body.Changes = []any{change}
	return json.Marshal(n)
}

// deliverMessage queues a ContentEvent for a contact-center message;
// customer messages (echoes of the connector's own SENDs) are not sent back.
func (f *Face) deliverMessage(ctx context.Context, app *auth.App, conv *mapping.Conversation, m *engagement.Message, at time.Time) error {
	if m.SenderParticipantType == engagement.ParticipantCustomer || m.SenderParticipantType == "" {
		return nil
	}
	text := m.Text()
	if text == "" {
		text = m.FallbackText
	}
	if text == "" {
		return nil // nothing a text ContentEvent can carry
	}
	r := role(app, m.SenderParticipantType)
	body, err := newNotification(typeMessagingEvent, f.now(), messagingChange{
		Sequence:           max(m.MessageIndex-1, 0),
		OriginatorID:       m.SenderParticipantID,
		OriginatorMetadata: participant{ID: m.SenderParticipantID, Role: r},
		ServerTimestamp:    at.UnixMilli(),
		Event:              contentEvent{Type: "ContentEvent", ContentType: "text/plain", Message: text},
		ConversationID:     conv.ID,
		DialogID:           conv.ID,
	})
	if err != nil {
		return fmt.Errorf("connectorapi: encode notification: %w", err)
	}
	return f.enqueue(ctx, app, conv, auth.WebhookContentEvent, kindContent, body)
}

// deliverParticipant updates who is in the conversation: a contact-center
// participant joining is an UPSERT with them among the participants; the
// customer leaving, or the last contact-center participant leaving, closes
// the conversation.
func (f *Face) deliverParticipant(ctx context.Context, app *auth.App, conv *mapping.Conversation, ev *engagement.Event, at time.Time) error {
	p := ev.Participant
	if !conv.Open() {
		return nil // closed already, and the CLOSE was sent then
	}
	id := p.ParticipantID
	if id == "" {
		id = p.ConnectionID
	}
	switch ev.EventType {
	case engagement.EventParticipantAdded:
		if p.ParticipantType == engagement.ParticipantCustomer {
			return nil
		}
		ps := withoutAgent(agents(conv), id)
		ps = append(ps, participant{ID: id, Role: role(app, p.ParticipantType)})
		setAgents(conv, ps)
		return f.putAndNotify(ctx, app, conv, at, "")
	case engagement.EventParticipantDisconnected:
		if p.ParticipantType == engagement.ParticipantCustomer {
			return f.markClosedAt(ctx, conv, closeConsumer, "", at)
		}
		before := agents(conv)
		ps := withoutAgent(before, id)
		setAgents(conv, ps)
		if len(ps) == 0 {
			return f.markClosedAt(ctx, conv, closeAgent, "", at)
		}
		if len(ps) == len(before) {
			return nil // someone we never saw join
		}
		return f.putAndNotify(ctx, app, conv, at, "")
	}
	return nil
}

// markClosed records a close now; see markClosedAt.
func (f *Face) markClosed(ctx context.Context, conv *mapping.Conversation, reason, cause string) error {
	return f.markClosedAt(ctx, conv, reason, cause, f.now())
}

// markClosedAt records the conversation closed and queues its CLOSE
// notification. The notification is queued first: if the write of the
// state fails, the close is retried and a duplicate CLOSE is harmless,
// while a lost one would leave the connector waiting.
func (f *Face) markClosedAt(ctx context.Context, conv *mapping.Conversation, reason, cause string, at time.Time) error {
	app, ok := f.tokens.App(conv.Owner.Account, conv.Owner.App)
	conv.State = mapping.StateClosed
	conv.CloseReason = reason
	conv.ClosedAt = at
	if !ok {
		return f.store.PutConversation(ctx, conv)
	}
	return f.putAndNotify(ctx, app, conv, at, cause)
}

// putAndNotify queues the conversation's current state and then writes it.
func (f *Face) putAndNotify(ctx context.Context, app *auth.App, conv *mapping.Conversation, at time.Time, cause string) error {
	body, err := newNotification(typeConversationChange, f.now(), conversationChange(conv, at, cause))
	if err != nil {
		return fmt.Errorf("connectorapi: encode notification: %w", err)
	}
	if err := f.enqueue(ctx, app, conv, auth.WebhookConversationChange, kindConversation, body); err != nil {
		return err
	}
	if err := f.store.PutConversation(ctx, conv); err != nil {
		return fmt.Errorf("connectorapi: record conversation: %w", err)
	}
	return nil
}

type dialogDetails struct {
	DialogID             string            `json:"dialogId"`
	ParticipantsDetails  []participantDet  `json:"participantsDetails"`
	DialogType           string            `json:"dialogType"`
	ChannelType          string            `json:"channelType"`
	MetaData             map[string]string `json:"metaData"`
	State                string            `json:"state"`
	CreationTs           int64             `json:"creationTs"`
	EndTs                int64             `json:"endTs,omitempty"`
	CloseReason          string            `json:"closeReason,omitempty"`
	ClosedBy             string            `json:"closedBy,omitempty"`
	ClosedCause          string            `json:"closedCause,omitempty"`
	MetaDataLastUpdateTs int64             `json:"metaDataLastUpdateTs"`
}

type participantDet struct {
	ID    string `json:"id"`
	Role  string `json:"role"`
	State string `json:"state"`
}

type conversationDetails struct {
	SkillID              string          `json:"skillId,omitempty"`
	Participants         []participant   `json:"participants"`
	Dialogs              []dialogDetails `json:"dialogs"`
	BrandID              string          `json:"brandId"`
	State                string          `json:"state"`
	Stage                string          `json:"stage"`
	StartTs              int64           `json:"startTs"`
	EndTs                int64           `json:"endTs,omitempty"`
	CloseReason          string          `json:"closeReason,omitempty"`
	MetaDataLastUpdateTs int64           `json:"metaDataLastUpdateTs"`
}

type changeResult struct {
	ConvID              string              `json:"convId"`
	EffectiveTTR        int                 `json:"effectiveTTR"`
	ConversationDetails conversationDetails `json:"conversationDetails"`
}

type conversationChangeEntry struct {
	Type   string       `json:"type"`
	Result changeResult `json:"result"`
}

// conversationChange is the full state of a conversation, as LivePerson's
// cqm.ExConversationChangeNotification always carries.
func conversationChange(conv *mapping.Conversation, at time.Time, cause string) conversationChangeEntry {
	state := "OPEN"
	if !conv.Open() {
		state = "CLOSE"
	}
	ps := append([]participant{{ID: conv.Owner.Consumer, Role: "CONSUMER"}}, agents(conv)...)
	dets := make([]participantDet, 0, len(ps))
	for _, p := range ps {
		dets = append(dets, participantDet{ID: p.ID, Role: p.Role, State: "ACTIVE"})
	}
	d := dialogDetails{
		DialogID:             conv.ID,
		ParticipantsDetails:  dets,
		DialogType:           "MAIN",
		ChannelType:          "MESSAGING",
		MetaData:             map[string]string{"appInstallId": conv.Owner.App},
		State:                state,
		CreationTs:           conv.CreatedAt.UnixMilli(),
		MetaDataLastUpdateTs: at.UnixMilli(),
	}
	cd := conversationDetails{
		SkillID:              conv.Attrs[attrSkillID],
		Participants:         ps,
		BrandID:              conv.Owner.Account,
		State:                state,
		Stage:                state,
		StartTs:              conv.CreatedAt.UnixMilli(),
		MetaDataLastUpdateTs: at.UnixMilli(),
	}
	if !conv.Open() {
		end := conv.ClosedAt.UnixMilli()
		d.EndTs, d.CloseReason, d.ClosedBy, d.ClosedCause = end, conv.CloseReason, conv.CloseReason, cause
		cd.EndTs, cd.CloseReason = end, conv.CloseReason
	}
	cd.Dialogs = []dialogDetails{d}
	return conversationChangeEntry{Type: "UPSERT", Result: changeResult{ConvID: conv.ID, EffectiveTTR: -1, ConversationDetails: cd}}
}

// enqueue writes one notification for the app's endpoint of key; an app
// with no endpoint for it gets nothing (counted).
func (f *Face) enqueue(ctx context.Context, app *auth.App, conv *mapping.Conversation, key, kind string, body []byte) error {
	target := app.Webhook(key)
	if target == "" {
		f.m.notifications.WithLabelValues(kind, "no_endpoint").Inc()
		return nil
	}
	now := f.now()
	it := &mapping.OutboxItem{
		Queue:  conv.ID,
		Target: target,
		Headers: map[string]string{
			"Content-Type": "application/json",
			headerAccount:  app.AccountID,
			headerClientID: app.ClientID,
		},
		Body:        body,
		Kind:        kind,
		EnqueuedAt:  now,
		NextAttempt: now,
		Expires:     now.Add(app.Retention),
	}
	for k, v := range app.WebhookHeadersOf(key) { // checked not to replace the proxy's own
		it.Headers[k] = v
	}
	if err := f.store.Enqueue(ctx, it); err != nil {
		return fmt.Errorf("connectorapi: queue notification: %w", err)
	}
	f.m.notifications.WithLabelValues(kind, "queued").Inc()
	f.poke()
	return nil
}

// poke wakes the delivery worker without blocking.
func (f *Face) poke() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}
