package customerchannel

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/mapping"
	"github.com/connector-proxy/connector-proxy/pipeline"
	"github.com/connector-proxy/connector-proxy/telemetry"
	"github.com/google/uuid"
)

// Keys of mapping.Conversation.Attrs this face writes.
const (
	attrParticipant = "cc.participantId" // the join proof handed out by init
	attrName        = "cc.name"
	attrEmail       = "cc.email"
	attrPhone       = "cc.phone"
	attrSubject     = "cc.subject"
	attrLanguage    = "cc.language"
	attrRequestID   = "cc.requestId" // init's requestId: a retry of it gets this conversation
	attrDeparted    = "cc.departed"  // participants seen leaving, comma-separated
)

// systemParticipant sends the face's own activities (greetings, the end).
var systemParticipant = Participant{ID: "system", Name: "System", Type: RoleSystem}

// connectorPrincipal is the socket data of a connector that authenticated.
type connectorPrincipal struct{}

// consumerKey is a Customer Channel customer's key: the channel and the
// customer's address on it (the conversation's refId).
func consumerKey(channel, refID string) mapping.ConsumerKey {
	return mapping.ConsumerKey{Face: mapping.FaceCustomerChannel, Account: channel, Consumer: refID}
}

// Apply implements pipeline.Face: it folds an AXP event into one of the
// face's conversations. What the customer sees (messageArrived to the
// conversation's sockets and its channel's connector) is emitted once the
// change is durable, as Effect.After; a customer who is not connected finds
// the messages in conversationInfo when joining again.
func (f *Face) Apply(conv *mapping.Conversation, ev *engagement.Event, now time.Time) pipeline.Effect {
	switch {
	case ev.Message != nil:
		m := ev.Message
		at := ev.EventDate.Time
		if at.IsZero() {
			at = now
		}
		// Every message is recorded as it passes (record.go), in this
		// commit, so a re-sent event is recorded once.
		rec := pipeline.Effect{Append: []mapping.LogRecord{recordOf(m, at)}}
		switch {
		case m.SenderParticipantType == engagement.ParticipantCustomer:
			f.m.delivered("message", "skipped") // the customer's own, echoed
			return rec
		case whisper(m):
			f.m.delivered("message", "whisper")
			return rec
		}
		cm := f.chatMessage(conv, m)
		if cm.Timestamp == "" {
			cm.Timestamp = stamp(ev.EventDate.Time)
		}
		eff := f.tell(conv, cm)
		eff.Merge(rec)
		return eff
	case ev.Participant != nil:
		return f.applyParticipant(conv, ev, now)
	case ev.EngagementCreated != nil:
		// Routing to an agent has started.
		return f.tell(conv, f.activity(conv, ActivityHandOff, systemParticipant, ActivityInfo{Text: "Looking for an agent"}, now))
	case ev.EngagementError != nil:
		if !conv.Open() {
			return pipeline.Effect{}
		}
		e := ev.EngagementError
		eff := f.tell(conv, f.activity(conv, ActivityNoAgentAvailable, systemParticipant, ActivityInfo{Reason: e.Type, Detail: firstNonEmpty(e.Detail, e.Title)}, now))
		eff.Merge(f.close(conv, engagement.ReasonSystemClosed, now))
		return eff
	case ev.DialogState != nil:
		d := ev.DialogState.Dialog
		if conv.Open() && (d.DialogStatus == engagement.DialogTerminated || d.DialogStatus == engagement.DialogTerminating) {
			return f.close(conv, engagement.ReasonSystemClosed, now)
		}
		return pipeline.Effect{}
	}
	f.m.delivered("unknown", "skipped")
	return pipeline.Effect{}
}

func (f *Face) applyParticipant(conv *mapping.Conversation, ev *engagement.Event, now time.Time) pipeline.Effect {
	p := ev.Participant
	isCustomer := p.ParticipantType == engagement.ParticipantCustomer ||
		(p.ParticipantID != "" && p.ParticipantID == conv.ParticipantID)
	who := Participant{ID: p.ParticipantID, Name: p.DisplayName, Type: role(p.ParticipantType)}
	switch {
	case ev.EventType == engagement.EventParticipantAdded && isCustomer:
		f.m.delivered("participant", "skipped")
	case ev.EventType == engagement.EventParticipantAdded:
		if departed(conv, p.ParticipantID) {
			return pipeline.Effect{} // its departure came first
		}
		return f.tell(conv, f.activity(conv, ActivityParticipantJoined, who, ActivityInfo{Participant: &who}, now))
	case isCustomer:
		// The customer left the dialog at AXP (a timeout, or our own
		// disconnect, in which case the conversation is closed already).
		return f.close(conv, engagement.ReasonUserInactive, now)
	default:
		markDeparted(conv, p.ParticipantID)
		eff := f.tell(conv, f.activity(conv, ActivityParticipantLeft, who, ActivityInfo{Participant: &who}, now))
		// The last agent leaving may end the dialog; AXP sends no event
		// for that, so ask.
		eff.Reconcile = conv.Open()
		return eff
	}
	return pipeline.Effect{}
}

// close records a conversation AXP ended and tells its sockets; an already
// closed one is left alone, so that the end is told once.
func (f *Face) close(conv *mapping.Conversation, reason string, now time.Time) pipeline.Effect {
	if !conv.Open() {
		return pipeline.Effect{}
	}
	conv.State, conv.CloseReason, conv.ClosedAt = mapping.StateClosed, reason, now
	closed := conv.Clone()
	end := f.activity(closed, ActivityEndOfConversation, systemParticipant, ActivityInfo{Reason: reason}, now)
	eff := f.tell(closed, end)
	eff.After = append([]func(context.Context){func(ctx context.Context) { f.endSessionIfIdle(ctx, closed) }}, eff.After...)
	// Written with the closed state: on Redis that gives the record the
	// conversation's retention.
	eff.Append = append(eff.Append, endRecord(reason, now))
	return eff
}

// tell is the effect of emitting msg to the conversation's sockets once
// the change is durable.
func (f *Face) tell(conv *mapping.Conversation, msg any) pipeline.Effect {
	c := conv.Clone()
	return pipeline.Effect{After: []func(context.Context){func(ctx context.Context) { f.broadcast(ctx, c, msg) }}}
}

// maxDeparted bounds the departures a conversation remembers.
const maxDeparted = 32

// departed reports whether the participant was seen leaving.
func departed(conv *mapping.Conversation, id string) bool {
	return id != "" && slices.Contains(strings.Split(conv.Attrs[attrDeparted], ","), id)
}

// markDeparted remembers that the participant left, so that a join of
// theirs that arrives later is not told.
func markDeparted(conv *mapping.Conversation, id string) {
	if id == "" || departed(conv, id) {
		return
	}
	ids := strings.Split(conv.Attrs[attrDeparted], ",")
	if ids[0] == "" {
		ids = ids[:0]
	}
	ids = append(ids, id)
	if len(ids) > maxDeparted {
		ids = ids[len(ids)-maxDeparted:]
	}
	if conv.Attrs == nil {
		conv.Attrs = map[string]string{}
	}
	conv.Attrs[attrDeparted] = strings.Join(ids, ",")
}

// broadcast emits messageArrived to the conversation's sockets and, with the
// customer's refId, to the connector of its channel. Each of the two
// payloads is encoded once, however many sockets and replicas get it.
func (f *Face) broadcast(ctx context.Context, conv *mapping.Conversation, msg any) {
	kind := "activity"
	toConnector := msg
	switch m := msg.(type) {
	case *ChatMessage:
		kind = "message"
		cp := *m
		cp.RefID = conv.RefID
		toConnector = &cp
	case *ActivityMessage:
		cp := *m
		cp.RefID = conv.RefID
		toConnector = &cp
	}
	// json.RawMessage, not []byte: emitted as JSON, not base64.
	var room, connector json.RawMessage
	room, err := json.Marshal(msg)
	if err == nil {
		connector, err = json.Marshal(toConnector)
	}
	if err != nil {
		f.log.ErrorContext(ctx, "customerchannel: encode messageArrived", "conversation", conv.ID, "error", err)
		f.m.delivered(kind, "undelivered")
		return
	}
	ctx, span := f.cfg.Tracing.StartEmit(ctx, EventMessageArrived)
	defer span.End()
	n := 0
	for _, s := range f.hub.room(conv.ID) {
		if f.emit(ctx, s, EventMessageArrived, room) {
			n++
		}
	}
	if c := f.hub.connector(conv.Channel); c != nil {
		if f.emit(ctx, c, EventMessageArrived, connector) {
			n++
		}
	}
	// The customer's socket, or the channel's connector, may be held by
	// another replica: each delivers to its own.
	published := f.cfg.Bus != nil && f.publish(ctx, conv, room, connector)
	span.SetInt(telemetry.AttrRecipients, n)
	switch {
	case n > 0:
		f.m.delivered(kind, "delivered")
	case published:
		f.m.delivered(kind, "published")
	default:
		f.m.delivered(kind, "undelivered")
	}
}

// chatMessage converts an AXP message.
func (f *Face) chatMessage(conv *mapping.Conversation, m *engagement.Message) *ChatMessage {
	from := Participant{ID: m.SenderParticipantID, Name: m.SenderParticipantName, Type: role(m.SenderParticipantType)}
	to := []Participant{customerOf(conv)}
	if m.SenderParticipantType == engagement.ParticipantCustomer {
		// The customer is known to the client by the id init gave it.
		from = customerOf(conv)
		if m.SenderParticipantName != "" {
			from.Name = m.SenderParticipantName
		}
		to = []Participant{}
	}
	text := m.Text()
	if text == "" {
		text = m.FallbackText
	}
	cm := &ChatMessage{
		Type:           TypeChatMessage,
		ConversationID: conv.ID,
		ID:             m.MessageID,
		From:           from,
		To:             to,
		Text:           text,
		Attachments:    []Attachment{},
	}
	for _, a := range m.Attachments {
		cm.Attachments = append(cm.Attachments, Attachment{Type: a.ContentType, Name: a.Name, ContentURL: a.URL, ThumbnailURL: a.ThumbnailURL})
	}
	switch {
	case m.ReceivedAt != nil && !m.ReceivedAt.IsZero():
		cm.Timestamp = stamp(m.ReceivedAt.Time)
	case m.LastUpdatedAt != nil && !m.LastUpdatedAt.IsZero():
		cm.Timestamp = stamp(m.LastUpdatedAt.Time)
	}
	return cm
}

// activity builds an ActivityMessage of the conversation.
func (f *Face) activity(conv *mapping.Conversation, typ string, from Participant, info ActivityInfo, now time.Time) *ActivityMessage {
	if typ == ActivityEndOfConversation && info.Transcript == nil {
		info.Transcript = f.transcriptLinks(conv) // the customer's proof for the transcript
	}
	return &ActivityMessage{
		Type:           TypeActivityMessage,
		ConversationID: conv.ID,
		ID:             uuid.NewString(),
		From:           from,
		To:             []Participant{},
		ActivityType:   typ,
		Info:           info,
		Timestamp:      stamp(now),
	}
}

// whisper reports an agent message meant for agents only: customData
// "whisper" true, or a "tag" of whisper as the seed's sendMessage has it.
func whisper(m *engagement.Message) bool {
	if m.CustomData == nil {
		return false
	}
	w := strings.ToLower(m.CustomData["whisper"])
	return w == "true" || w == "1" || w == "yes" || strings.EqualFold(m.CustomData["tag"], "whisper")
}

// customerOf is the conversation's customer as the client knows them.
func customerOf(conv *mapping.Conversation) Participant {
	return Participant{ID: conv.Attrs[attrParticipant], Name: conv.Attrs[attrName], Type: RoleCustomer}
}

func summary(conv *mapping.Conversation) ConversationSummary {
	return ConversationSummary{
		ID: conv.ID, Channel: conv.Channel, RefID: conv.RefID, Subject: conv.Attrs[attrSubject],
		State: conv.State, CreatedAt: stamp(conv.CreatedAt), ClosedAt: stamp(conv.ClosedAt),
	}
}

// role maps an AXP participant type to the face's.
func role(participantType string) string {
	switch participantType {
	case engagement.ParticipantCustomer:
		return RoleCustomer
	case engagement.ParticipantAgent:
		return RoleAgent
	case engagement.ParticipantBot:
		return RoleBot
	case engagement.ParticipantSupervisor:
		return RoleSupervisor
	case engagement.ParticipantSystem:
		return RoleSystem
	}
	return RoleAgent
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
