package engagement

// The v1beta models, with the field names AXP uses on the wire. Optional
// fields are omitted when empty so that a decoded sample encodes back to the
// same document (the golden tests hold that).

// Session status values.
const (
	SessionActive      = "ACTIVE"
	SessionTerminating = "TERMINATING"
	SessionTerminated  = "TERMINATED"
)

// Dialog status values.
const (
	DialogPending     = "PENDING"
	DialogActive      = "ACTIVE"
	DialogTerminating = "TERMINATING"
	DialogTerminated  = "TERMINATED"
)

// Connection states.
const (
	Connected    = "CONNECTED"
	Disconnected = "DISCONNECTED"
)

// Participant types.
const (
	ParticipantCustomer   = "CUSTOMER"
	ParticipantAgent      = "AGENT"
	ParticipantSupervisor = "SUPERVISOR"
	ParticipantSystem     = "SYSTEM"
	ParticipantBot        = "BOT"
)

// Reasons for ending a session or leaving a dialog.
const (
	ReasonUserClosed   = "USER_CLOSED"
	ReasonUserInactive = "USER_INACTIVE"
	ReasonSystemClosed = "SYSTEM_CLOSED"
	ReasonUnknown      = "UNKNOWN"
)

// Message status values (there is no QUEUED in v1beta).
const (
	MessageNone      = "NONE"
	MessageSent      = "SENT"
	MessageDelivered = "DELIVERED"
	MessageRead      = "READ"
	MessageFailed    = "FAILED"
	MessageDeleted   = "DELETED"
)

// Text formats of an elementText.
const (
	TextPlain    = "PLAINTEXT"
	TextHTML     = "HTML"
	TextMarkdown = "MARKDOWN"
)

// ChannelChat is the only channelId Custom Chat accepts.
const ChannelChat = "Chat"

// CustomerIdentifiers maps an identifier name configured in Customer Journey
// (emailAddresses, phoneNumbers, …) to up to five values.
type CustomerIdentifiers map[string][]string

// Parameters is a flat string map (sessionParameters, engagementParameters,
// customData): at most 20 keys of up to 64 characters, values up to 256.
type Parameters map[string]string

// CreateSession is the body of POST /sessions.
type CreateSession struct {
	AccountID           string              `json:"accountId,omitempty"`
	ChannelProviderID   string              `json:"channelProviderId"`
	CustomerIdentifiers CustomerIdentifiers `json:"customerIdentifiers"`
	DisplayName         string              `json:"displayName,omitempty"`
	SessionParameters   Parameters          `json:"sessionParameters,omitempty"`
	ProviderCustomerID  string              `json:"providerCustomerId,omitempty"`
	CorrelationID       string              `json:"correlationId,omitempty"`
}

// Session is a customer's session; the create answer adds ParticipantID and
// CorrelationID.
type Session struct {
	SessionID           string              `json:"sessionId"`
	AccountID           string              `json:"accountId"`
	ChannelProviderID   string              `json:"channelProviderId"`
	DisplayName         string              `json:"displayName,omitempty"`
	CustomerIdentifiers CustomerIdentifiers `json:"customerIdentifiers,omitempty"`
	SessionParameters   Parameters          `json:"sessionParameters,omitempty"`
	SessionStatus       string              `json:"sessionStatus"`
	ProviderCustomerID  string              `json:"providerCustomerId,omitempty"`
	ParticipantID       string              `json:"participantId,omitempty"`
	CorrelationID       string              `json:"correlationId,omitempty"`
	CreatedAt           Time                `json:"createdAt"`
	LastUpdatedAt       Time                `json:"lastUpdatedAt"`
	URL                 string              `json:"url"`
}

// CreateEngagement is the body of POST /engagements.
type CreateEngagement struct {
	SessionID            string     `json:"sessionId"`
	ChannelID            string     `json:"channelId"`
	Conversation         string     `json:"conversation,omitempty"`
	ProviderDialogID     string     `json:"providerDialogId,omitempty"`
	EngagementParameters Parameters `json:"engagementParameters,omitempty"`
	CorrelationID        string     `json:"correlationId,omitempty"`
}

// Engagement holds the dialogs of one customer conversation.
type Engagement struct {
	EngagementID  string   `json:"engagementId"`
	AccountID     string   `json:"accountId"`
	Conversation  string   `json:"conversation,omitempty"`
	Dialogs       []Dialog `json:"dialogs"`
	URL           string   `json:"url"`
	CorrelationID string   `json:"correlationId,omitempty"`
}

// Dialog returns the dialog with the given id, or nil.
func (e *Engagement) Dialog(id string) *Dialog {
	for i := range e.Dialogs {
		if e.Dialogs[i].DialogID == id {
			return &e.Dialogs[i]
		}
	}
	return nil
}

// Dialog is one conversation thread of an engagement.
type Dialog struct {
	DialogID               string       `json:"dialogId"`
	ChannelID              string       `json:"channelId"`
	DialogStatus           string       `json:"dialogStatus"`
	ProviderDialogID       string       `json:"providerDialogId,omitempty"`
	InitiatorParticipantID string       `json:"initiatorParticipantId"`
	Connections            []Connection `json:"connections"`
	EngagementParameters   Parameters   `json:"engagementParameters,omitempty"`
	CreatedAt              Time         `json:"createdAt"`
	LastUpdatedAt          Time         `json:"lastUpdatedAt"`
}

// Connection is a participant's presence in a dialog.
type Connection struct {
	ConnectionID    string   `json:"connectionId"`
	ParticipantID   string   `json:"participantId"`
	ParticipantType string   `json:"participantType"`
	DisplayName     string   `json:"displayName,omitempty"`
	SessionIDs      []string `json:"sessionIds,omitempty"`
	ConnectionState string   `json:"connectionState"`
}

// JoinEngagement is the body of POST /engagements/{id}:join.
type JoinEngagement struct {
	SessionID     string `json:"sessionId"`
	DialogID      string `json:"dialogId"`
	CorrelationID string `json:"correlationId,omitempty"`
}

// DisconnectEngagement is the body, and the echoed answer, of
// POST /engagements/{id}:disconnect.
type DisconnectEngagement struct {
	SessionID     string `json:"sessionId"`
	DialogID      string `json:"dialogId"`
	Reason        string `json:"reason,omitempty"`
	CorrelationID string `json:"correlationId,omitempty"`
}

// ElementText is the text of a body element.
type ElementText struct {
	Text       string `json:"text"`
	TextFormat string `json:"textFormat,omitempty"`
}

// Body is a message body element.
type Body struct {
	ElementType      string          `json:"elementType"`
	ElementText      *ElementText    `json:"elementText,omitempty"`
	Payload          string          `json:"payload,omitempty"`
	RichMediaPayload *RichMedia      `json:"richMediaPayload,omitempty"`
	SelectedAction   *SelectedAction `json:"selectedAction,omitempty"`
}

// RichMedia is the notification spec's rich content of an agent message.
type RichMedia struct {
	Actions     []Action     `json:"actions,omitempty"`
	Items       []RichItem   `json:"items,omitempty"`
	Coordinates *Coordinates `json:"coordinates,omitempty"`
	Location    *Location    `json:"location,omitempty"`
}

// Action is a button of a rich message.
type Action struct {
	Type    string `json:"type"`
	Text    string `json:"text,omitempty"`
	Payload string `json:"payload,omitempty"`
	URI     string `json:"uri,omitempty"`
	IconURL string `json:"iconUrl,omitempty"`
}

// RichItem is a card of a carousel or list.
type RichItem struct {
	Title       string   `json:"title"`
	MediaURL    string   `json:"mediaUrl,omitempty"`
	Description string   `json:"description,omitempty"`
	Actions     []Action `json:"actions,omitempty"`
}

// Coordinates is a location pin.
type Coordinates struct {
	Lat  float64 `json:"lat"`
	Long float64 `json:"long"`
}

// Location names a place.
type Location struct {
	Address string `json:"address,omitempty"`
	Name    string `json:"name,omitempty"`
}

// SelectedAction is a customer's answer to a rich message.
type SelectedAction struct {
	Type    string `json:"type,omitempty"`
	Text    string `json:"text,omitempty"`
	Payload string `json:"payload,omitempty"`
}

// MessageHeaders are the optional headers of a message.
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
	ProviderTimestamp      *Time      `json:"providerTimestamp,omitempty"`
	AdditionalHeaders      Parameters `json:"additionalHeaders,omitempty"`
	SourceAddress          string     `json:"sourceAddress,omitempty"`
	SourceType             string     `json:"sourceType,omitempty"`
}

// SendMessage is the body of POST /engagements/{id}/messages.
type SendMessage struct {
	SessionID               string          `json:"sessionId"`
	DialogID                string          `json:"dialogId"`
	Body                    Body            `json:"body"`
	FallbackText            string          `json:"fallbackText,omitempty"`
	Headers                 *MessageHeaders `json:"headers,omitempty"`
	CustomData              Parameters      `json:"customData,omitempty"`
	SenderParticipantName   string          `json:"senderParticipantName,omitempty"`
	ParentMessageID         string          `json:"parentMessageId,omitempty"`
	ProviderSenderID        string          `json:"providerSenderId,omitempty"`
	ProviderMessageID       string          `json:"providerMessageId,omitempty"`
	ProviderParentMessageID string          `json:"providerParentMessageId,omitempty"`
	CorrelationID           string          `json:"correlationId,omitempty"`
}

// Attachment is a file of a message; its URL is signed and relative.
type Attachment struct {
	AttachmentID         string     `json:"attachmentId,omitempty"`
	Name                 string     `json:"name,omitempty"`
	Size                 int64      `json:"size,omitempty"`
	ContentType          string     `json:"contentType,omitempty"`
	ContentID            string     `json:"contentId,omitempty"`
	URL                  string     `json:"url,omitempty"`
	CaptionText          string     `json:"captionText,omitempty"`
	ThumbnailURL         string     `json:"thumbnailUrl,omitempty"`
	AdditionalProperties Parameters `json:"additionalProperties,omitempty"`
}

// Participant is a recipient of a message.
type Participant struct {
	ParticipantID         string `json:"participantId"`
	ParticipantType       string `json:"participantType,omitempty"`
	DisplayName           string `json:"displayName,omitempty"`
	ConnectionID          string `json:"connectionId,omitempty"`
	ProviderParticipantID string `json:"providerParticipantId,omitempty"`
	ChannelProviderID     string `json:"channelProviderId,omitempty"`
}

// Message is a message of a dialog: the answer to a send, an item of a list
// and, with the event fields, the MESSAGES webhook.
type Message struct {
	MessageID               string          `json:"messageId,omitempty"`
	AccountID               string          `json:"accountId"`
	DialogID                string          `json:"dialogId,omitempty"`
	EngagementID            string          `json:"engagementId,omitempty"`
	Status                  string          `json:"status"`
	SessionID               string          `json:"sessionId,omitempty"`
	BusinessAccountName     string          `json:"businessAccountName,omitempty"`
	ChannelProviderID       string          `json:"channelProviderId"`
	ChannelID               string          `json:"channelId"`
	SenderParticipantID     string          `json:"senderParticipantId"`
	SenderParticipantName   string          `json:"senderParticipantName"`
	SenderParticipantType   string          `json:"senderParticipantType"`
	Body                    Body            `json:"body"`
	FallbackText            string          `json:"fallbackText,omitempty"`
	Headers                 *MessageHeaders `json:"headers,omitempty"`
	Attachments             []Attachment    `json:"attachments,omitempty"`
	RecipientParticipants   []Participant   `json:"recipientParticipants,omitempty"`
	CustomData              Parameters      `json:"customData,omitempty"`
	MessageIndex            int             `json:"messageIndex,omitempty"`
	ParentMessageID         string          `json:"parentMessageId,omitempty"`
	ProviderDialogID        string          `json:"providerDialogId,omitempty"`
	ProviderSenderID        string          `json:"providerSenderId,omitempty"`
	ProviderMessageID       string          `json:"providerMessageId,omitempty"`
	ProviderParentMessageID string          `json:"providerParentMessageId,omitempty"`
	EngagementParameters    Parameters      `json:"engagementParameters,omitempty"`
	ReceivedAt              *Time           `json:"receivedAt,omitempty"`
	LastUpdatedAt           *Time           `json:"lastUpdatedAt,omitempty"`
	CorrelationID           string          `json:"correlationId,omitempty"`
}

// Text returns the message's text, or "" when it has none.
func (m *Message) Text() string {
	if m.Body.ElementText == nil {
		return ""
	}
	return m.Body.ElementText.Text
}

// Pagination is the page position of a message list.
type Pagination struct {
	PageNumber int `json:"pageNumber"`
	PageSize   int `json:"pageSize"`
	Total      int `json:"total"`
}

// Links are relative URLs of the neighbouring pages, "" when there is none.
type Links struct {
	Prev string `json:"prev"`
	Next string `json:"next"`
}

// Messages is one page of a dialog's messages, in ascending messageIndex.
type Messages struct {
	Pagination Pagination `json:"pagination"`
	Messages   []Message  `json:"messages"`
	Links      Links      `json:"links"`
}

// Subscription routes the webhook events of a channel provider to a URL.
type Subscription struct {
	SubscriptionID    string   `json:"subscriptionId,omitempty"`
	ChannelProviderID string   `json:"channelProviderId"`
	CallbackURL       string   `json:"callbackUrl"`
	EventTypes        []string `json:"eventTypes"`
}

// TokenResponse is the OAuth token endpoint's answer.
type TokenResponse struct {
	AccessToken      string `json:"access_token"`
	ExpiresIn        int    `json:"expires_in"`
	RefreshExpiresIn int    `json:"refresh_expires_in,omitempty"`
	RefreshToken     string `json:"refresh_token,omitempty"`
	TokenType        string `json:"token_type,omitempty"`
	Scope            string `json:"scope,omitempty"`
}
