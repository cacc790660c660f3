package engagement

import "context"

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
