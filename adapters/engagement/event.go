package engagement

import (
	"context"
	"encoding/json"
)

// Webhook event types AXP delivers.
const (
	EventMessages                = "MESSAGES"
	EventParticipantAdded        = "PARTICIPANT_ADDED"
	EventParticipantDisconnected = "PARTICIPANT_DISCONNECTED"
	EventEngagementCreated       = "ENGAGEMENT_CREATED"
	EventEngagementError         = "ENGAGEMENT_ERROR"
)

// Subscription event types (what a subscription asks for; CC_MESSAGES and
// CUSTOMER_MESSAGES arrive as MESSAGES).
const (
	SubscribeAll              = "ALL"
	SubscribeCCMessages       = "CC_MESSAGES"
	SubscribeCustomerMessages = "CUSTOMER_MESSAGES"
)

// EventDialogState is not an AXP event: the proxy makes it from a
// GetEngagement answer when it needs to know the dialog's real state (a
// participant left that it never saw join, a send refused because the
// dialog ended), and feeds it to the conversation's inbox, in order with
// AXP's events. The webhook receiver never takes it from outside.
const EventDialogState = "CONNECTOR_PROXY_DIALOG_STATE"

// Event is one AXP webhook callback, decoded. Exactly one of the pointers is
// set for a known EventType; an unknown type has none set and Raw only.
type Event struct {
	EventType     string
	CorrelationID string
	EventDate     Time

	Message           *Message
	Participant       *ParticipantEvent
	EngagementCreated *EngagementCreatedEvent
	EngagementError   *EngagementErrorEvent
	DialogState       *DialogStateEvent

	// Raw is the callback body, copied out of the request.
	Raw []byte
}

// EventHeader is the part every callback has. A MESSAGES callback is an
// EventHeader and a Message side by side in one object (both carry
// correlationId), so Message does not embed it; DecodeEvent reads the pair
// in one pass.
type EventHeader struct {
	EventType     string `json:"eventType"`
	CorrelationID string `json:"correlationId,omitempty"`
	EventDate     Time   `json:"eventDate"`
}

// ParticipantEvent is PARTICIPANT_ADDED and PARTICIPANT_DISCONNECTED.
type ParticipantEvent struct {
	EventHeader
	EngagementID          string `json:"engagementId"`
	DialogID              string `json:"dialogId"`
	AccountID             string `json:"accountId"`
	ChannelID             string `json:"channelId,omitempty"`
	ChannelProviderID     string `json:"channelProviderId"`
	SessionID             string `json:"sessionId,omitempty"`
	ConnectionID          string `json:"connectionId"`
	ParticipantID         string `json:"participantId,omitempty"`
	DisplayName           string `json:"displayName,omitempty"`
	ParticipantType       string `json:"participantType,omitempty"`
	ProviderDialogID      string `json:"providerDialogId,omitempty"`
	ProviderParticipantID string `json:"providerParticipantId,omitempty"`
}

// EngagementCreatedEvent is ENGAGEMENT_CREATED.
type EngagementCreatedEvent struct {
	EventHeader
	EngagementID           string              `json:"engagementId"`
	DialogID               string              `json:"dialogId"`
	AccountID              string              `json:"accountId"`
	Conversation           string              `json:"conversation,omitempty"`
	ChannelProviderID      string              `json:"channelProviderId"`
	BusinessAccountName    string              `json:"businessAccountName,omitempty"`
	InitiatorParticipantID string              `json:"initiatorParticipantId"`
	SessionID              string              `json:"sessionId,omitempty"`
	CustomerIdentifiers    CustomerIdentifiers `json:"customerIdentifiers,omitempty"`
	EngagementParameters   Parameters          `json:"engagementParameters,omitempty"`
	ProviderDialogID       string              `json:"providerDialogId,omitempty"`
	SourceType             string              `json:"sourceType,omitempty"`
	SourceAddress          string              `json:"sourceAddress,omitempty"`
}

// EngagementErrorEvent is ENGAGEMENT_ERROR.
type EngagementErrorEvent struct {
	EventHeader
	Type              string `json:"type"`
	Title             string `json:"title"`
	Detail            string `json:"detail,omitempty"`
	EngagementID      string `json:"engagementId,omitempty"`
	DialogID          string `json:"dialogId,omitempty"`
	SessionID         string `json:"sessionId,omitempty"`
	ProviderDialogID  string `json:"providerDialogId,omitempty"`
	ChannelProviderID string `json:"channelProviderId"`
	AccountID         string `json:"accountId,omitempty"`
	ChannelID         string `json:"channelId,omitempty"`
}

// DialogStateEvent is EventDialogState: the dialog as GetEngagement
// answered it.
type DialogStateEvent struct {
	EventHeader
	EngagementID string `json:"engagementId"`
	Dialog       Dialog `json:"dialog"`
}

// NewDialogStateEvent encodes the state of dialogID of eng as an
// EventDialogState body, or nil when eng has no such dialog.
func NewDialogStateEvent(eng *Engagement, dialogID string, at Time) []byte {
	d := eng.Dialog(dialogID)
	if d == nil {
		return nil
	}
	b, _ := json.Marshal(DialogStateEvent{ // plain structs: always encodes
		EventHeader:  EventHeader{EventType: EventDialogState, EventDate: at},
		EngagementID: eng.EngagementID,
		Dialog:       *d,
	})
	return b
}

// ProviderDialogID returns the providerDialogId the event carries: the id
// the proxy gave the dialog when it made it, which is its conversation id.
func (e *Event) ProviderDialogID() string {
	switch {
	case e.Message != nil:
		return e.Message.ProviderDialogID
	case e.Participant != nil:
		return e.Participant.ProviderDialogID
	case e.EngagementCreated != nil:
		return e.EngagementCreated.ProviderDialogID
	case e.EngagementError != nil:
		return e.EngagementError.ProviderDialogID
	case e.DialogState != nil:
		return e.DialogState.Dialog.ProviderDialogID
	}
	return ""
}

// DialogID returns the dialog the event concerns, "" when it names none.
func (e *Event) DialogID() string {
	switch {
	case e.Message != nil:
		return e.Message.DialogID
	case e.Participant != nil:
		return e.Participant.DialogID
	case e.EngagementCreated != nil:
		return e.EngagementCreated.DialogID
	case e.EngagementError != nil:
		return e.EngagementError.DialogID
	case e.DialogState != nil:
		return e.DialogState.Dialog.DialogID
	}
	return ""
}

// DedupeKey identifies the event across AXP's re-sends: the messageId for
// messages, engagement, dialog, connection and type for participant events.
// It is "" for events that carry nothing stable to dedupe on.
func (e *Event) DedupeKey() string {
	switch {
	case e.Message != nil && e.Message.MessageID != "":
		return "msg:" + e.Message.MessageID
	case e.Participant != nil:
		p := e.Participant
		return "part:" + p.EngagementID + ":" + p.DialogID + ":" + p.ConnectionID + ":" + e.EventType
	case e.EngagementCreated != nil:
		return "created:" + e.EngagementCreated.EngagementID + ":" + e.EngagementCreated.DialogID
	case e.EngagementError != nil:
		return "error:" + e.EngagementError.CorrelationID + ":" + e.EngagementError.DialogID
	}
	return ""
}

// Sink receives decoded AXP events. The receiver answers AXP 200 only when
// HandleEvent returns nil, so an implementation returns nil only once the
// event is durable (or deliberately dropped); an error makes AXP re-send.
type Sink interface {
	HandleEvent(ctx context.Context, ev *Event) error
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(ctx context.Context, ev *Event) error

// HandleEvent calls f.
func (f SinkFunc) HandleEvent(ctx context.Context, ev *Event) error { return f(ctx, ev) }

var _ Sink = SinkFunc(nil)
