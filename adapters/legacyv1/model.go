package legacyv1

// The legacy /api/digital/v1 models: the left column of seeds 000/001, with
// what the reference (§7) adds from real legacy clients (S16, S17c). Field
// names are the legacy ones; timestamps are epoch milliseconds. Optional
// fields are omitted when empty, as the samples do.

// Legacy enumerations that differ from v1beta's.
const (
	// MediaChat is the legacy mediaType (and channelId) of a chat: v1beta
	// writes "Chat".
	MediaChat = "CHAT"
	// DialogCreated is the legacy state of a dialog no agent has taken yet
	// (v1beta PENDING).
	DialogCreated = "CREATED"
	// ConnectionActive and ConnectionInactive are legacy connection states
	// (v1beta has CONNECTED only).
	ConnectionActive   = "ACTIVE"
	ConnectionInactive = "INACTIVE"
	// ModePublic is the participantMode of every connection the proxy
	// reports: v1beta has no participant modes.
	ModePublic = "PUBLIC"
	// MessageQueued is the legacy status of an accepted message (v1beta SENT).
	MessageQueued = "QUEUED"
	// ReasonUserDisconnected is a legacy disconnect reason v1beta lacks.
	ReasonUserDisconnected = "USER_DISCONNECTED"
	// SenderCustomer is the only senderType a legacy client may send.
	SenderCustomer = "CUSTOMER"
)

// Parameters is a flat string map (sessionParameters, contextParameters,
// customData, additionalHeaders).
type Parameters = map[string]string

// CreateSession is the body of POST /v1/sessions. The account is named in
// the body (accountId, or tenantId in older clients); the customer by one
// customerIdentifier and optional contact fields.
type CreateSession struct {
	AccountID          string     `json:"accountId,omitempty"`
	TenantID           string     `json:"tenantId,omitempty"`
	CustomerIdentifier string     `json:"customerIdentifier,omitempty"`
	ChannelProviderID  string     `json:"channelProviderId,omitempty"`
	UserID             string     `json:"userId,omitempty"`
	DisplayName        string     `json:"displayName,omitempty"`
	FirstName          string     `json:"firstName,omitempty"`
	LastName           string     `json:"lastName,omitempty"`
	EmailAddress       string     `json:"emailAddress,omitempty"`
	ContactNumber      string     `json:"contactNumber,omitempty"`
	SessionParameters  Parameters `json:"sessionParameters,omitempty"`
	CorrelationID      string     `json:"correlationId,omitempty"`
}

// Session is the legacy answer of create and get session.
type Session struct {
	SessionID          string     `json:"sessionId"`
	AccountID          string     `json:"accountId"`
	TenantID           string     `json:"tenantId,omitempty"`
	ChannelProviderID  string     `json:"channelProviderId,omitempty"`
	CustomerIdentifier string     `json:"customerIdentifier,omitempty"`
	UserID             string     `json:"userId,omitempty"`
	DisplayName        string     `json:"displayName,omitempty"`
	EmailAddress       string     `json:"emailAddress,omitempty"`
	ContactNumber      string     `json:"contactNumber,omitempty"`
	SessionParameters  Parameters `json:"sessionParameters,omitempty"`
	SessionStatus      string     `json:"sessionStatus"`
	ParticipantID      string     `json:"participantId,omitempty"`
	CorrelationID      string     `json:"correlationId,omitempty"`
	CreateTimeMillis   Millis     `json:"createTimeMillis,omitempty"`
	UpdateTimeMillis   Millis     `json:"updateTimeMillis,omitempty"`
}

// TerminateSession is the body of POST /v1/sessions/{id}:terminate (it may be
// empty; some clients repeat the channel provider).
type TerminateSession struct {
	Reason            string `json:"reason,omitempty"`
	ChannelProviderID string `json:"channelProviderId,omitempty"`
}

// CreateEngagement is the body of POST /v1/engagements.
type CreateEngagement struct {
	CorrelationID      string     `json:"correlationId,omitempty"`
	SessionID          string     `json:"sessionId"`
	AccountID          string     `json:"accountId,omitempty"`
	TenantID           string     `json:"tenantId,omitempty"`
	CustomerIdentifier string     `json:"customerIdentifier,omitempty"`
	Conversation       string     `json:"conversation,omitempty"`
	ChannelProviderID  string     `json:"channelProviderId,omitempty"`
	ProviderDialogID   string     `json:"providerDialogId,omitempty"`
	MediaType          string     `json:"mediaType,omitempty"`
	ContextParameters  Parameters `json:"contextParameters,omitempty"`
}

// EngagementCreated is the legacy create answer: flat, one dialog.
type EngagementCreated struct {
	EngagementID       string `json:"engagementId"`
	AccountID          string `json:"accountId,omitempty"`
	CustomerIdentifier string `json:"customerIdentifier,omitempty"`
	DialogID           string `json:"dialogId"`
	SessionID          string `json:"sessionId"`
	Conversation       string `json:"conversation,omitempty"`
	ProviderDialogID   string `json:"providerDialogId,omitempty"`
	MediaType          string `json:"mediaType"`
	CreateTimeMillis   Millis `json:"createTimeMillis,omitempty"`
	CorrelationID      string `json:"correlationId,omitempty"`
}

// Engagement is the legacy get and list answer.
type Engagement struct {
	EngagementID       string   `json:"engagementId"`
	AccountID          string   `json:"accountId,omitempty"`
	CorrelationID      string   `json:"correlationId,omitempty"`
	CustomerIdentifier string   `json:"customerIdentifier,omitempty"`
	Conversation       string   `json:"conversation,omitempty"`
	Dialogs            []Dialog `json:"dialogs"`
	EngagementStatus   string   `json:"engagementStatus,omitempty"`
	CreateTimeMillis   Millis   `json:"createTimeMillis,omitempty"`
	UpdateTimeMillis   Millis   `json:"updateTimeMillis,omitempty"`
	URI                string   `json:"uri,omitempty"`
}

// Dialog is a legacy dialog: no timestamps of its own, sourceParticipantId
// for v1beta's initiatorParticipantId.
type Dialog struct {
	DialogID            string        `json:"dialogId"`
	MediaType           string        `json:"mediaType"`
	DialogStatus        string        `json:"dialogStatus"`
	ProviderDialogID    string        `json:"providerDialogId,omitempty"`
	SourceParticipantID string        `json:"sourceParticipantId,omitempty"`
	Connections         []Participant `json:"connections"`
	ContextParameters   Parameters    `json:"contextParameters,omitempty"`
}

// Participant is the legacy connection model ("/v1 Participant Model").
type Participant struct {
	ConnectionID    string         `json:"connectionId"`
	ParticipantID   string         `json:"participantId"`
	DisplayName     string         `json:"displayName,omitempty"`
	SessionIDs      []string       `json:"sessionIds,omitempty"`
	ParticipantType string         `json:"participantType,omitempty"`
	ParticipantMode string         `json:"participantMode,omitempty"`
	ConnectionState string         `json:"connectionState,omitempty"`
	Metadata        map[string]any `json:"metadata"`
}

// JoinEngagement is the body of POST /v1/engagements/{id}:join.
type JoinEngagement struct {
	SessionID          string `json:"sessionId"`
	DialogID           string `json:"dialogId"`
	CustomerIdentifier string `json:"customerIdentifier,omitempty"`
}

// DisconnectEngagement is the body of POST /v1/engagements/{id}:disconnect.
type DisconnectEngagement struct {
	SessionID     string `json:"sessionId"`
	DialogID      string `json:"dialogId"`
	ParticipantID string `json:"participantId,omitempty"`
	Reason        string `json:"reason,omitempty"`
}

// ElementText is the text of a body element (unchanged from v1beta).
type ElementText struct {
	Text       string `json:"text"`
	TextFormat string `json:"textFormat,omitempty"`
}

// Body is a legacy body element. Legacy clients wrote elementType "Text".
type Body struct {
	ElementType string       `json:"elementType"`
	ElementText *ElementText `json:"elementText,omitempty"`
	Payload     string       `json:"payload,omitempty"`
}

// MessageHeaders are the legacy message headers: v1beta's, with
// providerTimestamp in epoch milliseconds.
type MessageHeaders struct {
	Priority               string     `json:"priority,omitempty"`
	Sensitivity            string     `json:"sensitivity,omitempty"`
	Encoding               string     `json:"encoding,omitempty"`
	Subject                string     `json:"subject,omitempty"`
	From                   string     `json:"from,omitempty"`
	To                     []string   `json:"to,omitempty"`
	Cc                     []string   `json:"cc,omitempty"`
	Bcc                    []string   `json:"bcc,omitempty"`
	ReplyTo                string     `json:"replyTo,omitempty"`
	ClientDeviceTag        string     `json:"clientDeviceTag,omitempty"`
	MessageSourceServerTag string     `json:"messageSourceServerTag,omitempty"`
	ProviderTimestamp      Millis     `json:"providerTimestamp,omitempty"`
	AdditionalHeaders      Parameters `json:"additionalHeaders,omitempty"`
}

// SendMessage is the body of POST /v1/engagements/{id}/messages.
type SendMessage struct {
	CorrelationID           string          `json:"correlationId,omitempty"`
	ParentMessageID         string          `json:"parentMessageId,omitempty"`
	ProviderMessageID       string          `json:"providerMessageId,omitempty"`
	ProviderParentMessageID string          `json:"providerParentMessageId,omitempty"`
	SessionID               string          `json:"sessionId"`
	DialogID                string          `json:"dialogId"`
	Body                    Body            `json:"body"`
	SenderName              string          `json:"senderName,omitempty"`
	FallbackText            string          `json:"fallbackText,omitempty"`
	Headers                 *MessageHeaders `json:"headers,omitempty"`
	CustomData              Parameters      `json:"customData,omitempty"`
	// ProviderSenderID, ProviderDialogID and SenderType are what v1beta
	// derives from the session; they are read, checked and not sent on.
	ProviderSenderID string `json:"providerSenderId,omitempty"`
	ProviderDialogID string `json:"providerDialogId,omitempty"`
	SenderType       string `json:"senderType,omitempty"`
}

// Attachment is a legacy attachment: id for v1beta's attachmentId, no contentId.
type Attachment struct {
	ID                   string     `json:"id,omitempty"`
	Name                 string     `json:"name,omitempty"`
	Size                 int64      `json:"size,omitempty"`
	ContentType          string     `json:"contentType,omitempty"`
	URL                  string     `json:"url,omitempty"`
	CaptionText          string     `json:"captionText,omitempty"`
	ThumbnailURL         string     `json:"thumbnailUrl,omitempty"`
	AdditionalProperties Parameters `json:"additionalProperties,omitempty"`
}

// Recipient is a recipient of a legacy message event: participantAddress
// for v1beta's providerParticipantId.
type Recipient struct {
	ParticipantID      string `json:"participantId"`
	ParticipantAddress string `json:"participantAddress,omitempty"`
	DisplayName        string `json:"displayName,omitempty"`
	ParticipantType    string `json:"participantType,omitempty"`
	ConnectionID       string `json:"connectionId,omitempty"`
}

// Message is the legacy message ("MessageEvent"): the send answer, an item of
// the message list (a bare JSON array), and the body of a MESSAGES webhook.
type Message struct {
	MessageID               string          `json:"messageId,omitempty"`
	AccountID               string          `json:"accountId,omitempty"`
	DialogID                string          `json:"dialogId"`
	EngagementID            string          `json:"engagementId"`
	Status                  string          `json:"status"`
	SessionID               string          `json:"sessionId,omitempty"`
	BusinessAccountName     string          `json:"businessAccountName,omitempty"`
	ChannelProviderID       string          `json:"channelProviderId,omitempty"`
	ChannelID               string          `json:"channelId,omitempty"`
	SenderID                string          `json:"senderId,omitempty"`
	SenderName              string          `json:"senderName,omitempty"`
	SenderType              string          `json:"senderType,omitempty"`
	Body                    *Body           `json:"body,omitempty"`
	Attachments             []Attachment    `json:"attachments,omitempty"`
	CustomData              Parameters      `json:"customData,omitempty"`
	ParentMessageID         string          `json:"parentMessageId,omitempty"`
	FallbackText            string          `json:"fallbackText,omitempty"`
	Headers                 *MessageHeaders `json:"headers,omitempty"`
	ProviderDialogID        string          `json:"providerDialogId,omitempty"`
	ProviderSenderID        string          `json:"providerSenderId,omitempty"`
	ProviderMessageID       string          `json:"providerMessageId,omitempty"`
	ProviderParentMessageID string          `json:"providerParentMessageId,omitempty"`
	ContextParameters       Parameters      `json:"contextParameters,omitempty"`
	ReceivedTimestamp       Millis          `json:"receivedTimestamp,omitempty"`
	LastUpdatedTimestamp    Millis          `json:"lastUpdatedTimestamp,omitempty"`
	CorrelationID           string          `json:"correlationId,omitempty"`
}
