package legacyv1

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
)

// Legacy webhooks: the registration a legacy client makes
// (POST /v1/channel-providers/{id}/webhooks with an array) and the payloads
// it is sent, made from the AXP events the proxy receives. Both are pure;
// where registrations are kept and how payloads are delivered is the event
// pipeline's (pipeline.go).

// Legacy webhook event types. A registration names some, or ALL.
const (
	EventAll                     = "ALL"
	EventMessages                = engagement.EventMessages
	EventCustomerMessages        = engagement.SubscribeCustomerMessages
	EventCCMessages              = engagement.SubscribeCCMessages
	EventParticipantAdded        = engagement.EventParticipantAdded
	EventParticipantDisconnected = engagement.EventParticipantDisconnected
	EventEngagementCreated       = engagement.EventEngagementCreated
	EventEngagementError         = engagement.EventEngagementError
)

// eventTypes are those a registration may name.
func eventTypes() []string {
	return []string{EventAll, EventMessages, EventCustomerMessages, EventCCMessages,
		EventParticipantAdded, EventParticipantDisconnected, EventEngagementCreated, EventEngagementError}
}

// Limits of a registration (the v1beta subscription's, per element).
const (
	maxRegistrations = 10
	maxCallbackURL   = 2048
	maxEventTypes    = 8
)

// WebhookRegistration is one element of the array a legacy client posts.
type WebhookRegistration struct {
	CallbackURL string   `json:"callbackUrl"`
	EventTypes  []string `json:"eventTypes"`
}

// Wants reports whether the registration asks for an event of eventType
// sent by senderType (MESSAGES only; CUSTOMER_MESSAGES and CC_MESSAGES
// split it by sender, as AXP's subscriptions do).
func (r *WebhookRegistration) Wants(eventType, senderType string) bool {
	for _, t := range r.EventTypes {
		switch {
		case t == EventAll, t == eventType:
			return true
		case eventType == EventMessages && t == EventCustomerMessages && senderType == engagement.ParticipantCustomer:
			return true
		case eventType == EventMessages && t == EventCCMessages && senderType != engagement.ParticipantCustomer:
			return true
		}
	}
	return false
}

// Webhook is a registration as kept and answered: one POST makes one
// webhookId covering the elements of its array (the legacy answer,
// {webhookId, subscriptions[…]}, reference §7).
type Webhook struct {
	WebhookID         string                `json:"webhookId"`
	ChannelProviderID string                `json:"channelProviderId"`
	Subscriptions     []WebhookRegistration `json:"subscriptions"`
}

// DecodeWebhookRegistration reads and checks the array of a webhook
// registration. Callback URLs must be absolute https URLs; plain http is
// accepted for loopback hosts (a client under development), or anywhere
// when allowInsecure is set. Errors name the element ("[1].callbackUrl").
func DecodeWebhookRegistration(body []byte, allowInsecure bool) ([]WebhookRegistration, *Error) {
	t := bytes.TrimSpace(body)
	if len(t) > 0 && t[0] == '{' {
		return nil, newError(400, `the body must be an array of {"callbackUrl","eventTypes"}, not one object`)
	}
	var regs []WebhookRegistration
	if e := decodeBody(body, &regs, false, ""); e != nil {
		return nil, e
	}
	var c checks
	switch {
	case len(regs) == 0:
		return nil, newError(400, "the array names no webhook")
	case len(regs) > maxRegistrations:
		return nil, newError(400, "at most "+strconv.Itoa(maxRegistrations)+" webhooks in one registration")
	}
	for i, r := range regs {
		at := "[" + strconv.Itoa(i) + "]"
		if msg := checkCallback(r.CallbackURL, allowInsecure); msg != "" {
			c.add(at+".callbackUrl", msg, codeState)
		}
		switch {
		case len(r.EventTypes) == 0:
			c.add(at+".eventTypes", "must not be empty", codeNotNull)
		case len(r.EventTypes) > maxEventTypes:
			c.add(at+".eventTypes", "at most "+strconv.Itoa(maxEventTypes)+" event types", codeSize)
		}
		for j, et := range r.EventTypes {
			if !slices.Contains(eventTypes(), et) {
				c.add(fmt.Sprintf("%s.eventTypes[%d]", at, j), "must be one of "+strings.Join(eventTypes(), ", "), codeEnum)
			}
		}
	}
	if e := c.err(); e != nil {
		return nil, e
	}
	return regs, nil
}

// checkCallback returns why a callback URL is refused, "" when it is fine.
func checkCallback(raw string, allowInsecure bool) string {
	if raw == "" {
		return "must not be empty"
	}
	if len(raw) > maxCallbackURL {
		return "must be at most " + strconv.Itoa(maxCallbackURL) + " characters"
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil {
		return "must be an absolute https URL"
	}
	if u.Scheme == "http" && !allowInsecure && !loopback(u.Hostname()) {
		return "must be https (plain http only to a loopback host)"
	}
	return ""
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ---- payloads ----

// messageEvent is the legacy MESSAGES payload: a legacy message with the
// event's type and tenant and its recipients.
type messageEvent struct {
	EventType string `json:"eventType"`
	TenantID  string `json:"tenantId"`
	Message
	RecipientParticipants []Recipient `json:"recipientParticipants,omitempty"`
}

// participantEvent is the legacy PARTICIPANT_ADDED / _DISCONNECTED payload.
type participantEvent struct {
	EventType             string `json:"eventType"`
	TenantID              string `json:"tenantId"`
	EngagementID          string `json:"engagementId"`
	DialogID              string `json:"dialogId"`
	SessionID             string `json:"sessionId,omitempty"`
	ConnectionID          string `json:"connectionId"`
	ParticipantID         string `json:"participantId,omitempty"`
	DisplayName           string `json:"displayName,omitempty"`
	ParticipantType       string `json:"participantType,omitempty"`
	ProviderDialogID      string `json:"providerDialogId,omitempty"`
	ProviderParticipantID string `json:"providerParticipantId,omitempty"`
	ChannelProviderID     string `json:"channelProviderId,omitempty"`
	ChannelID             string `json:"channelId"`
	CreatedTimestamp      Millis `json:"createdTimestamp,omitempty"`
	CorrelationID         string `json:"correlationId,omitempty"`
}

// engagementCreatedEvent is the legacy ENGAGEMENT_CREATED payload.
type engagementCreatedEvent struct {
	EventType           string     `json:"eventType"`
	TenantID            string     `json:"tenantId"`
	EngagementID        string     `json:"engagementId"`
	DialogID            string     `json:"dialogId"`
	SessionID           string     `json:"sessionId,omitempty"`
	Conversation        string     `json:"conversation,omitempty"`
	ChannelID           string     `json:"channelId"`
	ChannelProviderID   string     `json:"channelProviderId,omitempty"`
	CustomerIdentifier  string     `json:"customerIdentifier,omitempty"`
	SourceParticipantID string     `json:"sourceParticipantId,omitempty"`
	ContextParameters   Parameters `json:"contextParameters,omitempty"`
	ProviderDialogID    string     `json:"providerDialogId,omitempty"`
	CreatedTimestamp    Millis     `json:"createdTimestamp,omitempty"`
	CorrelationID       string     `json:"correlationId,omitempty"`
}

// engagementErrorEvent is the legacy ENGAGEMENT_ERROR payload (no legacy
// sample is known: v1beta's fields, with the legacy conventions).
type engagementErrorEvent struct {
	EventType         string `json:"eventType"`
	TenantID          string `json:"tenantId"`
	Type              string `json:"type"`
	Title             string `json:"title,omitempty"`
	Detail            string `json:"detail,omitempty"`
	EngagementID      string `json:"engagementId,omitempty"`
	DialogID          string `json:"dialogId,omitempty"`
	SessionID         string `json:"sessionId,omitempty"`
	ProviderDialogID  string `json:"providerDialogId,omitempty"`
	ChannelProviderID string `json:"channelProviderId,omitempty"`
	ChannelID         string `json:"channelId"`
	CreatedTimestamp  Millis `json:"createdTimestamp,omitempty"`
	CorrelationID     string `json:"correlationId,omitempty"`
}

// EncodeEvent is the legacy webhook payload of an AXP event of a legacy
// conversation: eventType and tenantId, epoch-millisecond times,
// channelId "CHAT", legacy field names (senderType, senderName,
// contextParameters, participantAddress, …). sc fills what the event leaves
// out (the tenant, the session, the customer identifier). ok is false for
// an event type the legacy API has no payload for (TYPING, future types).
func EncodeEvent(ev *engagement.Event, sc SessionContext) (body []byte, ok bool, err error) {
	tenant := func(acct string) string {
		if acct != "" {
			return acct
		}
		return sc.AccountID
	}
	orSession := func(id string) string {
		if id != "" {
			return id
		}
		return sc.SessionID
	}
	var v any
	switch {
	case ev.Message != nil:
		m := ev.Message
		out := messageEvent{EventType: EventMessages, TenantID: tenant(m.AccountID), Message: MessageOf(m)}
		out.SessionID = orSession(out.SessionID)
		out.ProviderDialogID = sc.clientDialogID(out.ProviderDialogID)
		out.ChannelID = MediaTypeOf(m.ChannelID)
		if m.Status == engagement.MessageSent || m.Status == engagement.MessageNone {
			// The message is being delivered by this very callback; legacy
			// events read DELIVERED (S17c), QUEUED being a send's answer.
			out.Status = engagement.MessageDelivered
		}
		if out.CorrelationID == "" {
			out.CorrelationID = ev.CorrelationID
		}
		for _, r := range m.RecipientParticipants {
			addr := r.ProviderParticipantID
			if addr == "" {
				addr = r.ParticipantID
			}
			out.RecipientParticipants = append(out.RecipientParticipants, Recipient{
				ParticipantID: r.ParticipantID, ParticipantAddress: addr, DisplayName: r.DisplayName,
				ParticipantType: r.ParticipantType, ConnectionID: r.ConnectionID,
			})
		}
		v = out
	case ev.Participant != nil:
		p := ev.Participant
		v = participantEvent{
			EventType: ev.EventType, TenantID: tenant(p.AccountID), EngagementID: p.EngagementID, DialogID: p.DialogID,
			SessionID: orSession(p.SessionID), ConnectionID: p.ConnectionID, ParticipantID: p.ParticipantID,
			DisplayName: p.DisplayName, ParticipantType: p.ParticipantType, ProviderDialogID: sc.clientDialogID(p.ProviderDialogID),
			ProviderParticipantID: p.ProviderParticipantID, ChannelProviderID: p.ChannelProviderID,
			ChannelID: MediaTypeOf(p.ChannelID), CreatedTimestamp: MillisOf(ev.EventDate), CorrelationID: ev.CorrelationID,
		}
	case ev.EngagementCreated != nil:
		c := ev.EngagementCreated
		ident := customerIdentifier(c.CustomerIdentifiers, "")
		if sc.CustomerIdentifier != "" {
			ident = sc.CustomerIdentifier
		}
		v = engagementCreatedEvent{
			EventType: ev.EventType, TenantID: tenant(c.AccountID), EngagementID: c.EngagementID, DialogID: c.DialogID,
			SessionID: orSession(c.SessionID), Conversation: c.Conversation, ChannelID: MediaChat,
			ChannelProviderID: c.ChannelProviderID, CustomerIdentifier: ident, SourceParticipantID: c.InitiatorParticipantID,
			ContextParameters: cloneParams(c.EngagementParameters), ProviderDialogID: sc.clientDialogID(c.ProviderDialogID),
			CreatedTimestamp: MillisOf(ev.EventDate), CorrelationID: ev.CorrelationID,
		}
	case ev.EngagementError != nil:
		x := ev.EngagementError
		v = engagementErrorEvent{
			EventType: ev.EventType, TenantID: tenant(x.AccountID), Type: x.Type, Title: x.Title, Detail: x.Detail,
			EngagementID: x.EngagementID, DialogID: x.DialogID, SessionID: orSession(x.SessionID),
			ProviderDialogID: sc.clientDialogID(x.ProviderDialogID), ChannelProviderID: x.ChannelProviderID, ChannelID: MediaTypeOf(x.ChannelID),
			CreatedTimestamp: MillisOf(ev.EventDate), CorrelationID: ev.CorrelationID,
		}
	default:
		return nil, false, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, false, fmt.Errorf("legacyv1: encode %s: %w", ev.EventType, err)
	}
	return b, true, nil
}
