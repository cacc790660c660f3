package connectorapi

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/auth"
	"github.com/connector-proxy/connector-proxy/internal/jsonwrite"
	"github.com/connector-proxy/connector-proxy/mapping"
	"github.com/connector-proxy/connector-proxy/pipeline"
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

// Apply implements pipeline.Face: it folds an AXP event into one of the
// face's conversations and returns the notifications it causes, which the
// pipeline commits with the new state. Participant events converge to the
// same state whatever their order: a departure is remembered, so that a
// join that arrives after it is not taken, and a departure that leaves the
// conversation without anyone it knew asks AXP what the dialog really is.
func (f *Face) Apply(conv *mapping.Conversation, ev *engagement.Event, now time.Time) pipeline.Effect {
	app, ok := f.tokens.App(conv.Owner.Account, conv.Owner.App)
	if !ok {
		f.log.Warn("connectorapi: event for an app no longer configured", "app", conv.Owner.App, "conversation", conv.ID)
		return pipeline.Effect{}
	}
	at := eventTime(ev, now)
	switch {
	case ev.Message != nil:
		return pipeline.Effect{Outbox: f.messageItems(app, conv, ev.Message, at, now)}
	case ev.Participant != nil:
		return f.applyParticipant(app, conv, ev, at, now)
	case ev.EngagementError != nil:
		if !conv.Open() {
			return pipeline.Effect{}
		}
		return pipeline.Effect{Outbox: f.closeItems(app, conv, closeSystem, ev.EngagementError.Title, at, now)}
	case ev.DialogState != nil:
		return f.applyDialogState(app, conv, &ev.DialogState.Dialog, at, now)
	}
	return pipeline.Effect{} // ENGAGEMENT_CREATED and unknown events say nothing new
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

func newNotification(typ string, sent time.Time, change any) []byte {
	n := notification{Kind: "notification", Type: typ}
	n.Body.SentTs = sent.UnixMilli()
	n.Body.Changes = []any{change}
	b, _ := json.Marshal(n) // structs of strings and numbers: always encodes
	return b
}

// contentNotification is the MessagingEventNotification of one text
// ContentEvent (ch, whose Event is left out, and text), byte for byte as
// newNotification writes it: it is made for every agent message, and
// json.Marshal's reflection was 2% of the proxy's CPU in
// bench/webhooks.sh.
func contentNotification(sent time.Time, ch messagingChange, text string) []byte {
	// The rest is about 330 bytes; escapes past the slack grow it.
	b := make([]byte, 0, 384+len(text)+2*len(ch.OriginatorID)+2*len(ch.ConversationID))
	b = append(b, `{"kind":"notification","body":{"sentTs":`...)
	b = strconv.AppendInt(b, sent.UnixMilli(), 10)
	b = append(b, `,"changes":[{"sequence":`...)
	b = strconv.AppendInt(b, int64(ch.Sequence), 10)
	b = append(b, `,"originatorId":`...)
	b = jsonwrite.String(b, ch.OriginatorID)
	b = append(b, `,"originatorMetadata":{"id":`...)
	b = jsonwrite.String(b, ch.OriginatorMetadata.ID)
	b = append(b, `,"role":`...)
	b = jsonwrite.String(b, ch.OriginatorMetadata.Role)
	b = append(b, `},"serverTimestamp":`...)
	b = strconv.AppendInt(b, ch.ServerTimestamp, 10)
	b = append(b, `,"event":{"type":"ContentEvent","contentType":"text/plain","message":`...)
	b = jsonwrite.String(b, text)
	b = append(b, `},"conversationId":`...)
	b = jsonwrite.String(b, ch.ConversationID)
	b = append(b, `,"dialogId":`...)
	b = jsonwrite.String(b, ch.DialogID)
	return append(b, `}]},"type":"`+typeMessagingEvent+`"}`...)
}

// messageItems is the ContentEvent of a contact-center message; customer
// messages (echoes of the connector's own SENDs) are not sent back.
func (f *Face) messageItems(app *auth.App, conv *mapping.Conversation, m *engagement.Message, at, now time.Time) []*mapping.OutboxItem {
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
	body := contentNotification(now, messagingChange{
		Sequence:           max(m.MessageIndex-1, 0),
		OriginatorID:       m.SenderParticipantID,
		OriginatorMetadata: participant{ID: m.SenderParticipantID, Role: role(app, m.SenderParticipantType)},
		ServerTimestamp:    at.UnixMilli(),
		ConversationID:     conv.ID,
		DialogID:           conv.ID,
	}, text)
	return f.item(app, conv, auth.WebhookContentEvent, kindContent, body, now)
}

// applyParticipant updates who is in the conversation: a contact-center
// participant joining is an UPSERT with them among the participants; the
// customer leaving, or the last contact-center participant leaving, closes
// the conversation.
func (f *Face) applyParticipant(app *auth.App, conv *mapping.Conversation, ev *engagement.Event, at, now time.Time) pipeline.Effect {
	p := ev.Participant
	if !conv.Open() {
		return pipeline.Effect{} // closed already, and the CLOSE was sent then
	}
	id := p.ParticipantID
	if id == "" {
		id = p.ConnectionID
	}
	switch ev.EventType {
	case engagement.EventParticipantAdded:
		if p.ParticipantType == engagement.ParticipantCustomer || departed(conv, id) {
			return pipeline.Effect{} // a join that arrives after its own departure
		}
		ps := withoutAgent(agents(conv), id)
		ps = append(ps, participant{ID: id, Role: role(app, p.ParticipantType)})
		setAgents(conv, ps)
		return pipeline.Effect{Outbox: f.changeItems(app, conv, at, "", now)}
	case engagement.EventParticipantDisconnected:
		if p.ParticipantType == engagement.ParticipantCustomer {
			return pipeline.Effect{Outbox: f.closeItems(app, conv, closeConsumer, "", at, now)}
		}
		markDeparted(conv, id)
		before := agents(conv)
		ps := withoutAgent(before, id)
		if len(ps) == len(before) {
			// Someone we never saw join: their join may still be on its
			// way, or a transfer may be under way. Ask AXP.
			return pipeline.Effect{Reconcile: true}
		}
		setAgents(conv, ps)
		if len(ps) == 0 {
			return pipeline.Effect{Outbox: f.closeItems(app, conv, closeAgent, "", at, now)}
		}
		return pipeline.Effect{Outbox: f.changeItems(app, conv, at, "", now)}
	}
	return pipeline.Effect{}
}

// applyDialogState takes what AXP says the dialog is: ended, it closes the
// conversation; live, its contact-center participants are the connected
// ones (those already seen leaving excepted).
func (f *Face) applyDialogState(app *auth.App, conv *mapping.Conversation, d *engagement.Dialog, at, now time.Time) pipeline.Effect {
	if !conv.Open() {
		return pipeline.Effect{}
	}
	if d.DialogStatus == engagement.DialogTerminated || d.DialogStatus == engagement.DialogTerminating {
		reason := closeSystem
		if hadAgents(conv) {
			reason = closeAgent
		}
		return pipeline.Effect{Outbox: f.closeItems(app, conv, reason, "", at, now)}
	}
	var ps []participant
	for _, c := range d.Connections {
		if c.ParticipantType == engagement.ParticipantCustomer || c.ConnectionState != engagement.Connected || departed(conv, c.ParticipantID) {
			continue
		}
		ps = append(ps, participant{ID: c.ParticipantID, Role: role(app, c.ParticipantType)})
	}
	if sameParticipants(agents(conv), ps) {
		return pipeline.Effect{}
	}
	setAgents(conv, ps)
	return pipeline.Effect{Outbox: f.changeItems(app, conv, at, "", now)}
}

// closeItems records the conversation closed and returns its CLOSE
// notification.
func (f *Face) closeItems(app *auth.App, conv *mapping.Conversation, reason, cause string, at, now time.Time) []*mapping.OutboxItem {
	conv.State = mapping.StateClosed
	conv.CloseReason = reason
	conv.ClosedAt = at
	return f.changeItems(app, conv, at, cause, now)
}

// changeItems is the conversation's current state as a notification.
func (f *Face) changeItems(app *auth.App, conv *mapping.Conversation, at time.Time, cause string, now time.Time) []*mapping.OutboxItem {
	body := newNotification(typeConversationChange, now, conversationChange(conv, at, cause))
	return f.item(app, conv, auth.WebhookConversationChange, kindConversation, body, now)
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

// item is one notification for the app's endpoint of key; an app with no
// endpoint for it gets nothing (counted).
func (f *Face) item(app *auth.App, conv *mapping.Conversation, key, kind string, body []byte, now time.Time) []*mapping.OutboxItem {
	target := app.Webhook(key)
	if target == "" {
		f.m.noEndpoint.WithLabelValues(kind).Inc()
		return nil
	}
	headers := map[string]string{
		"Content-Type": "application/json",
		headerAccount:  app.AccountID,
		headerClientID: app.ClientID,
	}
	for k, v := range app.WebhookHeadersOf(key) { // checked not to replace the proxy's own
		headers[k] = v
	}
	return []*mapping.OutboxItem{{
		Queue:       conv.ID,
		Face:        mapping.FaceConnectorAPI,
		Target:      target,
		Headers:     headers,
		Body:        body,
		Kind:        kind,
		App:         app.ClientID,
		EnqueuedAt:  now,
		NextAttempt: now,
		Expires:     now.Add(app.Retention),
	}}
}
