package legacyv1

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The decoders of the legacy request bodies. Each checks what the legacy
// API and the translation need and answers a 400 naming the legacy field,
// so that bad input reaches neither AXP nor the store. Unknown fields are
// accepted (legacy clients send fields of their own, such as userId or a
// null payload); limits AXP enforces (sizes, id formats) are left to AXP,
// whose violations come back renamed (fromBackend).

// errTimestamp marks a timestamp that is neither a number nor ISO-8601;
// the one timestamp a request carries is headers.providerTimestamp.
var errTimestamp = errors.New("legacyv1: bad timestamp")

// decodeBody decodes a JSON object into v. An empty body is an error
// unless empty is allowed (v then keeps its zero value).
func decodeBody(body []byte, v any, emptyOK bool, timestampField string) *Error {
	if len(bytes.TrimSpace(body)) == 0 {
		if emptyOK {
			return nil
		}
		return newError(400, "the request body is empty; a JSON object is expected")
	}
	err := json.Unmarshal(body, v)
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		if te.Field == "" {
			return newError(400, "the request body must be a JSON object, not "+te.Value)
		}
		return badField(te.Field, "must be "+jsonType(te.Type.Kind().String())+", not "+te.Value, codeType)
	case errors.As(err, &se):
		return newError(400, fmt.Sprintf("the request body is not valid JSON (at byte %d): %v", se.Offset, se))
	case errors.Is(err, errTimestamp):
		return badField(timestampField, "must be epoch milliseconds or an ISO-8601 timestamp", codeType)
	}
	return newError(400, "the request body could not be read: "+err.Error())
}

// jsonType names a Go kind as the JSON type a client sees.
func jsonType(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "map", "struct":
		return "an object"
	case "slice", "array":
		return "an array"
	case "bool":
		return "true or false"
	}
	return "a number"
}

// UnmarshalJSON also takes a plain string, the body type the legacy
// SendMessage table gives: it is a text element.
func (b *Body) UnmarshalJSON(data []byte) error {
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '"' {
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			return err
		}
		*b = Body{ElementType: "text", ElementText: &ElementText{Text: s}}
		return nil
	}
	type plain Body // without this method
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*b = Body(p)
	return nil
}

// checks collects violations.
type checks struct{ v []Violation }

func (c *checks) required(field, value string) {
	if value == "" {
		c.v = append(c.v, Violation{Field: field, Message: "must not be empty", Code: codeNotNull})
	}
}

func (c *checks) oneOf(field, value string, allowed ...string) {
	if value == "" {
		return
	}
	for _, a := range allowed {
		if value == a {
			return
		}
	}
	c.v = append(c.v, Violation{Field: field, Message: "must be one of " + strings.Join(allowed, ", "), Code: codeEnum})
}

// maxProviderID is AXP's bound on providerDialogId and providerMessageId.
const maxProviderID = 256

func (c *checks) size(field, value string, maxLen int) {
	if utf8.RuneCountInString(value) > maxLen {
		c.v = append(c.v, Violation{Field: field, Message: "must be at most " + strconv.Itoa(maxLen) + " characters", Code: codeSize})
	}
}

func (c *checks) add(field, msg string, code int) {
	c.v = append(c.v, Violation{Field: field, Message: msg, Code: code})
}

func (c *checks) err() *Error {
	if len(c.v) == 0 {
		return nil
	}
	return violations(c.v)
}

// account checks the body's accountId and tenantId against the binding:
// either may name the account, both must agree, and it must be the one the
// token is bound to (403 otherwise).
func account(c *checks, accountID, tenantID string, b Binding) *Error {
	if accountID != "" && tenantID != "" && accountID != tenantID {
		c.add("tenantId", "must equal accountId when both are sent", codeState)
		return nil
	}
	switch {
	case accountID != "" && accountID != b.AccountID:
		return forbiddenField("accountId", accountID, b.AccountID)
	case tenantID != "" && tenantID != b.AccountID:
		return forbiddenField("tenantId", tenantID, b.AccountID)
	}
	return nil
}

// channelProvider checks a channelProviderId the client repeats.
func channelProvider(c *checks, id string, b Binding) {
	if id != "" && id != b.ChannelProviderID {
		c.add("channelProviderId", fmt.Sprintf("must be %q, the channel provider this proxy serves", b.ChannelProviderID), codeState)
	}
}

// reasons are the legacy disconnect and terminate reasons (seed 000).
func reasons() []string {
	return []string{"UNKNOWN", ReasonUserDisconnected, "USER_CLOSED", "USER_INACTIVE", "SYSTEM_CLOSED"}
}

// DecodeCreateSession reads and checks POST /v1/sessions.
func DecodeCreateSession(body []byte, b Binding) (*CreateSession, *Error) {
	var r CreateSession
	if e := decodeBody(body, &r, false, ""); e != nil {
		return nil, e
	}
	var c checks
	if e := account(&c, r.AccountID, r.TenantID, b); e != nil {
		return nil, e
	}
	channelProvider(&c, r.ChannelProviderID, b)
	if r.CustomerIdentifier == "" && r.EmailAddress == "" && r.ContactNumber == "" {
		c.add("customerIdentifier", "must not be empty (or give emailAddress or contactNumber)", codeNotNull)
	}
	if e := c.err(); e != nil {
		return nil, e
	}
	return &r, nil
}

// DecodeTerminateSession reads and checks POST /v1/sessions/{id}:terminate;
// an empty body is USER_CLOSED.
func DecodeTerminateSession(body []byte, b Binding) (*TerminateSession, *Error) {
	var r TerminateSession
	if e := decodeBody(body, &r, true, ""); e != nil {
		return nil, e
	}
	var c checks
	c.oneOf("reason", r.Reason, reasons()...)
	channelProvider(&c, r.ChannelProviderID, b)
	if e := c.err(); e != nil {
		return nil, e
	}
	return &r, nil
}

// DecodeCreateEngagement reads and checks POST /v1/engagements.
func DecodeCreateEngagement(body []byte, b Binding) (*CreateEngagement, *Error) {
	var r CreateEngagement
	if e := decodeBody(body, &r, false, ""); e != nil {
		return nil, e
	}
	var c checks
	if e := account(&c, r.AccountID, r.TenantID, b); e != nil {
		return nil, e
	}
	c.required("sessionId", r.SessionID)
	// The face keeps providerDialogId itself (AXP is given the
	// conversation's id): AXP's bound is checked here.
	c.size("providerDialogId", r.ProviderDialogID, maxProviderID)
	if r.MediaType != "" && !strings.EqualFold(r.MediaType, MediaChat) {
		c.add("mediaType", "must be CHAT: Custom Chat has no other channel", codeEnum)
	}
	channelProvider(&c, r.ChannelProviderID, b)
	if e := c.err(); e != nil {
		return nil, e
	}
	return &r, nil
}

// DecodeJoinEngagement reads and checks POST /v1/engagements/{id}:join.
func DecodeJoinEngagement(body []byte) (*JoinEngagement, *Error) {
	var r JoinEngagement
	if e := decodeBody(body, &r, false, ""); e != nil {
		return nil, e
	}
	var c checks
	c.required("sessionId", r.SessionID)
	c.required("dialogId", r.DialogID)
	if e := c.err(); e != nil {
		return nil, e
	}
	return &r, nil
}

// DecodeDisconnectEngagement reads and checks POST /v1/engagements/{id}:disconnect.
func DecodeDisconnectEngagement(body []byte) (*DisconnectEngagement, *Error) {
	var r DisconnectEngagement
	if e := decodeBody(body, &r, false, ""); e != nil {
		return nil, e
	}
	var c checks
	c.required("sessionId", r.SessionID)
	c.required("dialogId", r.DialogID)
	c.oneOf("reason", r.Reason, reasons()...)
	if e := c.err(); e != nil {
		return nil, e
	}
	return &r, nil
}

// DecodeSendMessage reads and checks POST /v1/engagements/{id}/messages.
func DecodeSendMessage(body []byte) (*SendMessage, *Error) {
	var r SendMessage
	if e := decodeBody(body, &r, false, "headers.providerTimestamp"); e != nil {
		return nil, e
	}
	var c checks
	c.required("sessionId", r.SessionID)
	c.required("dialogId", r.DialogID)
	c.required("body.elementType", r.Body.ElementType)
	if strings.EqualFold(r.Body.ElementType, "text") && (r.Body.ElementText == nil || r.Body.ElementText.Text == "") {
		c.add("body.elementText.text", "must not be empty", codeNotNull)
	}
	// providerMessageId is also the key a retry is known by.
	c.size("providerMessageId", r.ProviderMessageID, maxProviderID)
	if r.SenderType != "" && r.SenderType != SenderCustomer {
		c.add("senderType", "must be CUSTOMER: a legacy client sends for its customer only", codeEnum)
	}
	if e := c.err(); e != nil {
		return nil, e
	}
	return &r, nil
}
