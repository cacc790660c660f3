package customerchannel

import (
	"encoding/json"
	"time"

	"github.com/connector-proxy/connector-proxy/adapters/customerchannel/socketio"
	"github.com/connector-proxy/connector-proxy/adapters/engagement"
)

// The payloads of the face. The seed names fields but gives no shapes, so
// these are this project's contract (PAYLOADS.md); golden files under
// testdata/ pin them.

// Message types (the "type" discriminator of messageArrived and sendMessage).
const (
	TypeChatMessage     = "ChatMessage"
	TypeActivityMessage = "ActivityMessage"
)

// Activity types.
const (
	ActivityGreetings         = "greetings"
	ActivityTyping            = "typing"
	ActivityParticipantJoined = "participantJoined"
	ActivityParticipantLeft   = "participantLeft"
	ActivityHandOff           = "handOff"
	ActivityNoAgentAvailable  = "noAgentAvailable"
	ActivityEndOfConversation = "endOfConversation"
)

// Participant types, capitalised as Hybrid Chat's stored messages have them.
const (
	RoleCustomer   = "Customer"
	RoleAgent      = "Agent"
	RoleBot        = "Bot"
	RoleSupervisor = "Supervisor"
	RoleSystem     = "System"
	RoleConnector  = "Connector"
)

// Socket event names.
const (
	EventJoinConversation  = "joinConversation"
	EventSendMessage       = "sendMessage"
	EventEndConversation   = "endConversation"
	EventRegisterConnector = "registerConnector"
	EventMessageArrived    = "messageArrived"
	EventConversationInfo  = "conversationInfo"
	EventError             = "error"
	EventConnectorReplaced = "connectorReplaced"
	EventConnectorAccepted = "connectorRegistered"
)

// Participant is a bot or user of a conversation.
type Participant struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type,omitempty"`
}

// Attachment is a file of a message, by URL.
type Attachment struct {
	Type         string `json:"type"`
	Name         string `json:"name,omitempty"`
	ContentURL   string `json:"contentUrl"`
	ThumbnailURL string `json:"thumbnailUrl,omitempty"`
}

// ChatMessage is a text message. To is empty for a broadcast to the
// conversation; RefID is set on what a channel connector receives (the
// customer's address on that channel) and on what it sends.
type ChatMessage struct {
	Type           string        `json:"type"`
	ConversationID string        `json:"conversationId"`
	ID             string        `json:"id,omitempty"`
	From           Participant   `json:"from"`
	To             []Participant `json:"to"`
	Text           string        `json:"text"`
	RefID          string        `json:"refId,omitempty"`
	Tag            string        `json:"tag,omitempty"`
	Attachments    []Attachment  `json:"attachments"`
	Timestamp      string        `json:"timestamp"`
}

// ActivityMessage tells of something that happened in a conversation; Info's
// keys depend on ActivityType (PAYLOADS.md lists them).
type ActivityMessage struct {
	Type           string        `json:"type"`
	ConversationID string        `json:"conversationId"`
	ID             string        `json:"id,omitempty"`
	From           Participant   `json:"from"`
	To             []Participant `json:"to"`
	ActivityType   string        `json:"activityType"`
	RefID          string        `json:"refId,omitempty"`
	Info           ActivityInfo  `json:"info"`
	Timestamp      string        `json:"timestamp"`
}

// ActivityInfo is the info object of an ActivityMessage.
type ActivityInfo struct {
	Text        string       `json:"text,omitempty"`
	Participant *Participant `json:"participant,omitempty"`
	Reason      string       `json:"reason,omitempty"`
	Detail      string       `json:"detail,omitempty"`
	// Transcript, on endOfConversation, holds the signed links of the
	// conversation's transcript.
	Transcript *TranscriptLinks `json:"transcript,omitempty"`
}

// ConversationInfo is the conversationInfo event sent after a join.
type ConversationInfo struct {
	Conversation ConversationSummary `json:"conversation"`
	// Messages are the conversation's ChatMessages so far, oldest first.
	Messages []ChatMessage `json:"messages"`
	// Participant lists everyone in the conversation (the seed's name).
	Participant []Participant `json:"participant"`
	// Role is the joiner's role.
	Role string `json:"role"`
}

// ConversationSummary is the conversation object of conversationInfo.
type ConversationSummary struct {
	ID        string `json:"id"`
	Channel   string `json:"channel"`
	RefID     string `json:"refId,omitempty"`
	Subject   string `json:"subject,omitempty"`
	State     string `json:"state"`
	CreatedAt string `json:"createdAt"`
	ClosedAt  string `json:"closedAt,omitempty"`
	// Transcript holds the signed transcript links once the conversation
	// has ended.
	Transcript *TranscriptLinks `json:"transcript,omitempty"`
}

// ErrorPayload is the body of the error event, and of an error ack.
type ErrorPayload struct {
	// Code is stable and machine-readable (the Code* constants).
	Code    string `json:"code"`
	Message string `json:"message"`
	// Event is the event that failed, ConversationID the conversation it named.
	Event          string `json:"event,omitempty"`
	ConversationID string `json:"conversationId,omitempty"`
	// Field names the payload field at fault ("text", "from.name"), when
	// one is.
	Field string `json:"field,omitempty"`
	// Retryable says the same event may succeed later unchanged;
	// RetryAfter, in seconds, how long to wait first when that is known.
	Retryable  bool `json:"retryable"`
	RetryAfter int  `json:"retryAfter,omitempty"`
}

// Error codes of ErrorPayload.
const (
	CodeBadPayload       = "BAD_PAYLOAD"
	CodeUnknownEvent     = "UNKNOWN_EVENT"
	CodeNotFound         = "CONVERSATION_NOT_FOUND"
	CodeWrongParticipant = "WRONG_PARTICIPANT"
	CodeNotJoined        = "NOT_JOINED"
	CodeEnded            = "CONVERSATION_ENDED"
	CodeNotConnector     = "NOT_A_CONNECTOR"
	CodeUnavailable      = "UNAVAILABLE"
	CodeRateLimited      = "RATE_LIMITED"
	CodeBackend          = "BACKEND_ERROR"
	// CodeUnconfirmed: AXP did not answer a send and the message was not
	// found there either; sending it again with the same id is safe.
	CodeUnconfirmed = "UNCONFIRMED"
)

// Ack is what an event's acknowledgement carries when the client asked for
// one: Status "ok" (with the message id for sendMessage) or "error".
type Ack struct {
	Status string        `json:"status"`
	ID     string        `json:"id,omitempty"`
	Error  *ErrorPayload `json:"error,omitempty"`
}

// AppendJSON appends the ack as json.Marshal writes it: by hand for the
// ok ack of every event, by json.Marshal for anything else.
func (a Ack) AppendJSON(dst []byte) []byte {
	if a.Error == nil && plainJSON(a.Status) && plainJSON(a.ID) {
		dst = append(dst, `{"status":"`...)
		dst = append(dst, a.Status...)
		dst = append(dst, '"')
		if a.ID != "" {
			dst = append(dst, `,"id":"`...)
			dst = append(dst, a.ID...)
			dst = append(dst, '"')
		}
		return append(dst, '}')
	}
	b, _ := json.Marshal(a) // an Ack always encodes
	return append(dst, b...)
}

// plainJSON: a string encoding/json writes between quotes unchanged.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

var _ socketio.JSONAppender = Ack{}

// JoinRequest is the joinConversation payload.
type JoinRequest struct {
	ConversationID string `json:"conversationId"`
	ID             string `json:"id"`
	Name           string `json:"name"`
}

// SendRequest is the sendMessage payload: a ChatMessage or an
// ActivityMessage (typing) as the client writes it. A connector names the
// customer by RefID (or ConversationID).
type SendRequest struct {
	Type           string `json:"type"`
	ConversationID string `json:"conversationId"`
	// ID, when the client gives one, names the message: sent again with
	// the same id (a retry), it is not stored twice.
	ID           string       `json:"id"`
	From         *Participant `json:"from"`
	Text         string       `json:"text"`
	Tag          string       `json:"tag"`
	RefID        string       `json:"refId"`
	ActivityType string       `json:"activityType"`
}

// EndRequest is the endConversation payload.
type EndRequest struct {
	ConversationID string `json:"conversationId"`
	// RefID lets a connector end its customer's conversation.
	RefID string `json:"refId"`
}

// RegisterRequest is the registerConnector payload.
type RegisterRequest struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Channel string `json:"channel"`
}

// ConnectorNotice is sent to a connector when its registration is accepted
// (connectorRegistered) or taken over by another (connectorReplaced).
type ConnectorNotice struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Channel string `json:"channel"`
}

// InitRequest is the body of POST /api/customer/init. Key matching is
// case-insensitive, so the seed's "Email", "Channel" … decode too.
type InitRequest struct {
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
	Email     string `json:"email"`
	Phone     string `json:"phone"`
	Channel   string `json:"channel"`
	Language  string `json:"language"`
	RefID     string `json:"refId"`
	URL       string `json:"url"`
	Comment   string `json:"comment"`
	Subject   string `json:"subject"`
	RequestID string `json:"requestId"`
	// ReqestID is the seed's misspelling of requestId, accepted as well.
	ReqestID  string `json:"reqestId"`
	Timestamp string `json:"timestamp"`
}

// InitResponse is the 200 answer of init.
type InitResponse struct {
	ConversationID string      `json:"conversationId"`
	Participant    Participant `json:"participant"`
	RequestID      string      `json:"requestId,omitempty"`
	Timestamp      string      `json:"timestamp"`
}

// HTTPError is the body of every non-200 answer of the HTTP calls.
type HTTPError struct {
	Status  int    `json:"status"`
	Code    string `json:"code"`
	Message string `json:"message"`
	// Field names the request field at fault, when one is.
	Field string `json:"field,omitempty"`
}

// stamp formats a time as the face writes timestamps: ISO 8601, UTC, ms.
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(engagement.TimeLayout)
}
