package legacyv1

import (
	"maps"
	"slices"
	"strings"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
)

// The translation between the legacy models and v1beta's, both ways: pure
// functions, no I/O. What v1beta derives from the session (the customer
// identifier, the channel provider, the participant) a legacy document
// carries itself, so the v1beta → legacy direction takes a SessionContext.
// The README's table "What is translated" lists every field; doc.go says
// what cannot be translated and why.

// Binding is what the proxy's configuration fixes for every legacy call.
type Binding struct {
	// AccountID is the AXP account every legacy token is bound to.
	AccountID string
	// ChannelProviderID is the AXP channel provider sessions are made for.
	ChannelProviderID string
	// IdentifierKey is the customerIdentifiers key (a name configured in
	// Customer Journey) under which the legacy single customerIdentifier is
	// filed (default DefaultIdentifierKey).
	IdentifierKey string
}

// DefaultIdentifierKey is Binding.IdentifierKey's default.
const DefaultIdentifierKey = "customerIdentifier"

func (b Binding) key() string {
	if b.IdentifierKey == "" {
		return DefaultIdentifierKey
	}
	return b.IdentifierKey
}

// Identifier keys the contact fields of a legacy session go under (the
// names the reference's examples use).
const (
	keyEmails = "emailAddresses"
	keyPhones = "phoneNumbers"
)

// SessionContext is what v1beta derives from the session referenced by
// sessionId and legacy documents repeat.
type SessionContext struct {
	AccountID          string
	SessionID          string
	CustomerIdentifier string
	ChannelProviderID  string
	ParticipantID      string
	// ConversationID is the proxy's conversation of the dialog, which AXP
	// knows as the dialog's providerDialogId; ProviderDialogID is the
	// client's own ("" when it gave none), shown in its place.
	ConversationID   string
	ProviderDialogID string
}

// clientDialogID is what the client sees of a providerDialogId AXP reports.
func (sc SessionContext) clientDialogID(id string) string {
	if sc.ConversationID != "" && id == sc.ConversationID {
		return sc.ProviderDialogID
	}
	return id
}

// SessionContextOf reads the context of a v1beta session; participantID
// is the customer participant (the create answer has it, a GET has not).
func SessionContextOf(s *engagement.Session, b Binding, participantID string) SessionContext {
	return SessionContext{
		AccountID:          s.AccountID,
		SessionID:          s.SessionID,
		CustomerIdentifier: customerIdentifier(s.CustomerIdentifiers, b.key()),
		ChannelProviderID:  s.ChannelProviderID,
		ParticipantID:      participantID,
	}
}

// customerIdentifier is the legacy single identifier of a v1beta map: the
// first value under key, else the first email, phone, or value of the
// alphabetically first key.
func customerIdentifier(ids engagement.CustomerIdentifiers, key string) string {
	for _, k := range []string{key, keyEmails, keyPhones} {
		if v := ids[k]; len(v) > 0 {
			return v[0]
		}
	}
	for _, k := range slices.Sorted(maps.Keys(ids)) {
		if v := ids[k]; len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// ---- enumerations ----

// ChannelOf is the v1beta channelId of a legacy mediaType: CHAT (any case)
// is "Chat", the only channel Custom Chat has; "" is Chat too.
func ChannelOf(mediaType string) string {
	if mediaType == "" || strings.EqualFold(mediaType, MediaChat) {
		return engagement.ChannelChat
	}
	return mediaType
}

// MediaTypeOf is the legacy mediaType of a v1beta channelId.
func MediaTypeOf(channelID string) string {
	if channelID == "" || strings.EqualFold(channelID, engagement.ChannelChat) {
		return MediaChat
	}
	return strings.ToUpper(channelID)
}

// DialogStatusOf maps a v1beta dialog status to the legacy one.
func DialogStatusOf(s string) string {
	if s == engagement.DialogPending {
		return DialogCreated
	}
	return s
}

// V1BetaDialogStatus maps a legacy dialog status to v1beta's.
func V1BetaDialogStatus(s string) string {
	if s == DialogCreated {
		return engagement.DialogPending
	}
	return s
}

// ConnectionStateOf maps a v1beta connection state to the legacy one.
func ConnectionStateOf(s string) string {
	if s == engagement.Connected {
		return ConnectionActive
	}
	return s
}

// V1BetaConnectionState maps a legacy connection state to v1beta's: ACTIVE
// and INACTIVE (idle, but still in the dialog) are both CONNECTED.
func V1BetaConnectionState(s string) string {
	if s == ConnectionActive || s == ConnectionInactive {
		return engagement.Connected
	}
	return s
}

// MessageStatusOf maps a v1beta message status to the legacy one: an
// accepted message is SENT in v1beta and QUEUED in legacy (seed 001's send
// samples); v1beta has no QUEUED.
func MessageStatusOf(s string) string {
	if s == engagement.MessageSent {
		return MessageQueued
	}
	return s
}

// V1BetaMessageStatus maps a legacy message status to v1beta's.
func V1BetaMessageStatus(s string) string {
	if s == MessageQueued {
		return engagement.MessageSent
	}
	return s
}

// V1BetaReason maps a legacy disconnect or terminate reason to v1beta's:
// USER_DISCONNECTED, which v1beta dropped, is USER_CLOSED; "" stays "".
func V1BetaReason(r string) string {
	if r == ReasonUserDisconnected {
		return engagement.ReasonUserClosed
	}
	return r
}

// engagementStatus is the legacy engagement-level status v1beta moved onto
// the dialogs: ACTIVE while a dialog is open, else TERMINATED.
func engagementStatus(ds []engagement.Dialog) string {
	if len(ds) == 0 {
		return ""
	}
	for _, d := range ds {
		if d.DialogStatus != engagement.DialogTerminated {
			return engagement.DialogActive
		}
	}
	return engagement.DialogTerminated
}

// EngagementURI is the legacy uri of an engagement, in the form the legacy
// samples show.
func EngagementURI(id string) string { return "/v1/digital/engagements/" + id }

// ---- requests: legacy → v1beta (what the face sends AXP) ----

// V1Beta is the v1beta session create: the single customerIdentifier goes
// under the binding's identifier key, emailAddress and contactNumber under
// emailAddresses and phoneNumbers; first and last name make the display name
// when there is none; userId is the providerCustomerId. The account moves to
// the path and the channel provider is the binding's.
func (r *CreateSession) V1Beta(b Binding) *engagement.CreateSession {
	ids := engagement.CustomerIdentifiers{}
	add := func(key, v string) {
		if v != "" && !slices.Contains(ids[key], v) {
			ids[key] = append(ids[key], v)
		}
	}
	add(b.key(), r.CustomerIdentifier)
	add(keyEmails, r.EmailAddress)
	add(keyPhones, r.ContactNumber)
	display := r.DisplayName
	if display == "" {
		display = strings.TrimSpace(r.FirstName + " " + r.LastName)
	}
	return &engagement.CreateSession{
		ChannelProviderID:   b.ChannelProviderID,
		CustomerIdentifiers: ids,
		DisplayName:         display,
		SessionParameters:   cloneParams(r.SessionParameters),
		ProviderCustomerID:  r.UserID,
		CorrelationID:       r.CorrelationID,
	}
}

// V1Beta is the reason of the DELETE that ends the session.
func (r *TerminateSession) V1Beta() string { return V1BetaReason(r.Reason) }

// V1Beta is the v1beta engagement create: mediaType → channelId,
// contextParameters → engagementParameters; accountId moves to the path and
// customerIdentifier and channelProviderId are derived from the session.
func (r *CreateEngagement) V1Beta() *engagement.CreateEngagement {
	return &engagement.CreateEngagement{
		SessionID:            r.SessionID,
		ChannelID:            ChannelOf(r.MediaType),
		Conversation:         r.Conversation,
		ProviderDialogID:     r.ProviderDialogID,
		EngagementParameters: cloneParams(r.ContextParameters),
		CorrelationID:        r.CorrelationID,
	}
}

// V1Beta is the v1beta join: customerIdentifier is derived from the session.
func (r *JoinEngagement) V1Beta() *engagement.JoinEngagement {
	return &engagement.JoinEngagement{SessionID: r.SessionID, DialogID: r.DialogID}
}

// V1Beta is the v1beta disconnect: participantId is derived from the
// session, USER_DISCONNECTED is USER_CLOSED.
func (r *DisconnectEngagement) V1Beta() *engagement.DisconnectEngagement {
	return &engagement.DisconnectEngagement{SessionID: r.SessionID, DialogID: r.DialogID, Reason: V1BetaReason(r.Reason)}
}

// V1Beta is the v1beta send: senderName → senderParticipantName; senderType
// (always CUSTOMER), providerSenderId and providerDialogId are derived from
// the session and dropped; elementType is lower-cased ("Text" → "text").
func (r *SendMessage) V1Beta() *engagement.SendMessage {
	return &engagement.SendMessage{
		SessionID:               r.SessionID,
		DialogID:                r.DialogID,
		Body:                    r.Body.v1beta(),
		FallbackText:            r.FallbackText,
		Headers:                 r.Headers.v1beta(),
		CustomData:              cloneParams(r.CustomData),
		SenderParticipantName:   r.SenderName,
		ParentMessageID:         r.ParentMessageID,
		ProviderMessageID:       r.ProviderMessageID,
		ProviderParentMessageID: r.ProviderParentMessageID,
		CorrelationID:           r.CorrelationID,
	}
}

func (b Body) v1beta() engagement.Body {
	out := engagement.Body{ElementType: strings.ToLower(b.ElementType), Payload: b.Payload}
	if b.ElementText != nil {
		out.ElementText = &engagement.ElementText{Text: b.ElementText.Text, TextFormat: b.ElementText.TextFormat}
	}
	return out
}

func bodyOf(b engagement.Body) Body {
	out := Body{ElementType: b.ElementType, Payload: b.Payload}
	if b.ElementText != nil {
		out.ElementText = &ElementText{Text: b.ElementText.Text, TextFormat: b.ElementText.TextFormat}
	}
	return out
}

func (h *MessageHeaders) v1beta() *engagement.MessageHeaders {
	if h == nil {
		return nil
	}
	return &engagement.MessageHeaders{
		Priority: h.Priority, Sensitivity: h.Sensitivity, Encoding: h.Encoding, Subject: h.Subject, From: h.From,
		To: slices.Clone(h.To), Cc: slices.Clone(h.Cc), Bcc: slices.Clone(h.Bcc), ReplyTo: h.ReplyTo,
		ClientDeviceTag: h.ClientDeviceTag, MessageSourceServerTag: h.MessageSourceServerTag,
		ProviderTimestamp: h.ProviderTimestamp.timePtr(), AdditionalHeaders: cloneParams(h.AdditionalHeaders),
	}
}

func headersOf(h *engagement.MessageHeaders) *MessageHeaders {
	if h == nil {
		return nil
	}
	return &MessageHeaders{
		Priority: h.Priority, Sensitivity: h.Sensitivity, Encoding: h.Encoding, Subject: h.Subject, From: h.From,
		To: slices.Clone(h.To), Cc: slices.Clone(h.Cc), Bcc: slices.Clone(h.Bcc), ReplyTo: h.ReplyTo,
		ClientDeviceTag: h.ClientDeviceTag, MessageSourceServerTag: h.MessageSourceServerTag,
		ProviderTimestamp: millisOfPtr(h.ProviderTimestamp), AdditionalHeaders: cloneParams(h.AdditionalHeaders),
	}
}

// ---- requests: v1beta → legacy (the way back, with the session's context) ----

// CreateSessionOf is the legacy create of a v1beta one in account acct:
// the binding's identifier key gives customerIdentifier, the first email and
// phone emailAddress and contactNumber.
func CreateSessionOf(in *engagement.CreateSession, b Binding, acct string) CreateSession {
	first := func(k string) string {
		if v := in.CustomerIdentifiers[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	return CreateSession{
		AccountID:          acct,
		CustomerIdentifier: first(b.key()),
		ChannelProviderID:  in.ChannelProviderID,
		UserID:             in.ProviderCustomerID,
		DisplayName:        in.DisplayName,
		EmailAddress:       first(keyEmails),
		ContactNumber:      first(keyPhones),
		SessionParameters:  cloneParams(in.SessionParameters),
		CorrelationID:      in.CorrelationID,
	}
}

// CreateEngagementOf is the legacy create of a v1beta one.
func CreateEngagementOf(in *engagement.CreateEngagement, sc SessionContext) CreateEngagement {
	return CreateEngagement{
		CorrelationID:      in.CorrelationID,
		SessionID:          in.SessionID,
		AccountID:          sc.AccountID,
		CustomerIdentifier: sc.CustomerIdentifier,
		Conversation:       in.Conversation,
		ChannelProviderID:  sc.ChannelProviderID,
		ProviderDialogID:   in.ProviderDialogID,
		MediaType:          MediaTypeOf(in.ChannelID),
		ContextParameters:  cloneParams(in.EngagementParameters),
	}
}

// JoinEngagementOf is the legacy join of a v1beta one (its correlationId has
// no legacy field).
func JoinEngagementOf(in *engagement.JoinEngagement, sc SessionContext) JoinEngagement {
	return JoinEngagement{SessionID: in.SessionID, DialogID: in.DialogID, CustomerIdentifier: sc.CustomerIdentifier}
}

// DisconnectEngagementOf is the legacy disconnect of a v1beta one (its
// correlationId has no legacy field).
func DisconnectEngagementOf(in *engagement.DisconnectEngagement, sc SessionContext) DisconnectEngagement {
	return DisconnectEngagement{SessionID: in.SessionID, DialogID: in.DialogID, ParticipantID: sc.ParticipantID, Reason: in.Reason}
}

// SendMessageOf is the legacy send of a v1beta one.
func SendMessageOf(in *engagement.SendMessage) SendMessage {
	return SendMessage{
		CorrelationID:           in.CorrelationID,
		ParentMessageID:         in.ParentMessageID,
		ProviderMessageID:       in.ProviderMessageID,
		ProviderParentMessageID: in.ProviderParentMessageID,
		SessionID:               in.SessionID,
		DialogID:                in.DialogID,
		Body:                    bodyOf(in.Body),
		SenderName:              in.SenderParticipantName,
		FallbackText:            in.FallbackText,
		Headers:                 headersOf(in.Headers),
		CustomData:              cloneParams(in.CustomData),
		ProviderSenderID:        in.ProviderSenderID,
		SenderType:              SenderCustomer,
	}
}

// ---- answers: v1beta → legacy (what the face answers) ----

// SessionOf is the legacy session of a v1beta one.
func SessionOf(s *engagement.Session, b Binding) Session {
	first := func(k string) string {
		if v := s.CustomerIdentifiers[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	return Session{
		SessionID:          s.SessionID,
		AccountID:          s.AccountID,
		ChannelProviderID:  s.ChannelProviderID,
		CustomerIdentifier: customerIdentifier(s.CustomerIdentifiers, b.key()),
		UserID:             s.ProviderCustomerID,
		DisplayName:        s.DisplayName,
		EmailAddress:       first(keyEmails),
		ContactNumber:      first(keyPhones),
		SessionParameters:  cloneParams(s.SessionParameters),
		SessionStatus:      s.SessionStatus,
		ParticipantID:      s.ParticipantID,
		CorrelationID:      s.CorrelationID,
		CreateTimeMillis:   MillisOf(s.CreatedAt),
		UpdateTimeMillis:   MillisOf(s.LastUpdatedAt),
	}
}

// EngagementCreatedOf is the flat legacy create answer of a v1beta
// engagement: the first dialog (the new one) gives dialogId, mediaType,
// providerDialogId and createTimeMillis, its customer connection the
// sessionId.
func EngagementCreatedOf(e *engagement.Engagement, sc SessionContext) EngagementCreated {
	out := EngagementCreated{
		EngagementID:       e.EngagementID,
		AccountID:          e.AccountID,
		CustomerIdentifier: sc.CustomerIdentifier,
		SessionID:          sc.SessionID,
		Conversation:       e.Conversation,
		MediaType:          MediaChat,
		CorrelationID:      e.CorrelationID,
	}
	if len(e.Dialogs) > 0 {
		d := &e.Dialogs[0]
		out.DialogID = d.DialogID
		out.MediaType = MediaTypeOf(d.ChannelID)
		out.ProviderDialogID = sc.clientDialogID(d.ProviderDialogID)
		out.CreateTimeMillis = MillisOf(d.CreatedAt)
		if s := customerSession(d); s != "" {
			out.SessionID = s
		}
	}
	return out
}

// customerSession is the first session of the dialog's customer connections.
func customerSession(d *engagement.Dialog) string {
	for _, c := range d.Connections {
		if c.ParticipantType == engagement.ParticipantCustomer && len(c.SessionIDs) > 0 {
			return c.SessionIDs[0]
		}
	}
	return ""
}

// EngagementOf is the legacy engagement of a v1beta one: the engagement's
// times are those of its dialogs (the earliest creation, the latest update)
// and its status ACTIVE while a dialog is open.
func EngagementOf(e *engagement.Engagement, sc SessionContext) Engagement {
	out := Engagement{
		EngagementID:       e.EngagementID,
		AccountID:          e.AccountID,
		CorrelationID:      e.CorrelationID,
		CustomerIdentifier: sc.CustomerIdentifier,
		Conversation:       e.Conversation,
		Dialogs:            make([]Dialog, 0, len(e.Dialogs)),
		EngagementStatus:   engagementStatus(e.Dialogs),
		URI:                EngagementURI(e.EngagementID),
	}
	var created, updated engagement.Time
	for i := range e.Dialogs {
		d := &e.Dialogs[i]
		out.Dialogs = append(out.Dialogs, dialogOf(d))
		if !d.CreatedAt.IsZero() && (created.IsZero() || d.CreatedAt.Before(created.Time)) {
			created = d.CreatedAt
		}
		if d.LastUpdatedAt.After(updated.Time) {
			updated = d.LastUpdatedAt
		}
	}
	out.CreateTimeMillis, out.UpdateTimeMillis = MillisOf(created), MillisOf(updated)
	return out
}

func dialogOf(d *engagement.Dialog) Dialog {
	out := Dialog{
		DialogID:            d.DialogID,
		MediaType:           MediaTypeOf(d.ChannelID),
		DialogStatus:        DialogStatusOf(d.DialogStatus),
		ProviderDialogID:    d.ProviderDialogID,
		SourceParticipantID: d.InitiatorParticipantID,
		Connections:         make([]Participant, 0, len(d.Connections)),
		ContextParameters:   cloneParams(d.EngagementParameters),
	}
	for _, c := range d.Connections {
		out.Connections = append(out.Connections, Participant{
			ConnectionID:    c.ConnectionID,
			ParticipantID:   c.ParticipantID,
			DisplayName:     c.DisplayName,
			SessionIDs:      slices.Clone(c.SessionIDs),
			ParticipantType: c.ParticipantType,
			ParticipantMode: ModePublic,
			ConnectionState: ConnectionStateOf(c.ConnectionState),
			Metadata:        map[string]any{},
		})
	}
	return out
}

// MessageOf is the legacy message of a v1beta one; messageIndex and the
// recipients have no place in it (the webhook encoding keeps recipients).
func MessageOf(m *engagement.Message) Message {
	out := Message{
		MessageID:               m.MessageID,
		AccountID:               m.AccountID,
		DialogID:                m.DialogID,
		EngagementID:            m.EngagementID,
		Status:                  MessageStatusOf(m.Status),
		SessionID:               m.SessionID,
		BusinessAccountName:     m.BusinessAccountName,
		ChannelProviderID:       m.ChannelProviderID,
		SenderID:                m.SenderParticipantID,
		SenderName:              m.SenderParticipantName,
		SenderType:              m.SenderParticipantType,
		CustomData:              cloneParams(m.CustomData),
		ParentMessageID:         m.ParentMessageID,
		FallbackText:            m.FallbackText,
		Headers:                 headersOf(m.Headers),
		ProviderDialogID:        m.ProviderDialogID,
		ProviderSenderID:        m.ProviderSenderID,
		ProviderMessageID:       m.ProviderMessageID,
		ProviderParentMessageID: m.ProviderParentMessageID,
		ContextParameters:       cloneParams(m.EngagementParameters),
		ReceivedTimestamp:       millisOfPtr(m.ReceivedAt),
		LastUpdatedTimestamp:    millisOfPtr(m.LastUpdatedAt),
		CorrelationID:           m.CorrelationID,
	}
	if m.ChannelID != "" {
		out.ChannelID = MediaTypeOf(m.ChannelID)
	}
	if m.Body.ElementType != "" || m.Body.ElementText != nil || m.Body.Payload != "" {
		b := bodyOf(m.Body)
		out.Body = &b
	}
	for _, a := range m.Attachments {
		out.Attachments = append(out.Attachments, Attachment{
			ID: a.AttachmentID, Name: a.Name, Size: a.Size, ContentType: a.ContentType, URL: a.URL,
			CaptionText: a.CaptionText, ThumbnailURL: a.ThumbnailURL, AdditionalProperties: cloneParams(a.AdditionalProperties),
		})
	}
	return out
}

// MessagesOf is the legacy message list: a bare array (never null).
func MessagesOf(ms []engagement.Message) []Message {
	out := make([]Message, 0, len(ms))
	for i := range ms {
		out = append(out, MessageOf(&ms[i]))
	}
	return out
}

// ---- answers: legacy → v1beta (the way back) ----

// V1Beta is the v1beta session of a legacy one; the customerIdentifier and
// contact fields go back under their identifier keys.
func (s *Session) V1Beta(b Binding) engagement.Session {
	ids := engagement.CustomerIdentifiers{}
	if s.CustomerIdentifier != "" {
		ids[b.key()] = []string{s.CustomerIdentifier}
	}
	if s.EmailAddress != "" {
		ids[keyEmails] = []string{s.EmailAddress}
	}
	if s.ContactNumber != "" {
		ids[keyPhones] = []string{s.ContactNumber}
	}
	if len(ids) == 0 {
		ids = nil
	}
	return engagement.Session{
		SessionID:           s.SessionID,
		AccountID:           s.AccountID,
		ChannelProviderID:   s.ChannelProviderID,
		DisplayName:         s.DisplayName,
		CustomerIdentifiers: ids,
		SessionParameters:   cloneParams(s.SessionParameters),
		SessionStatus:       s.SessionStatus,
		ProviderCustomerID:  s.UserID,
		ParticipantID:       s.ParticipantID,
		CorrelationID:       s.CorrelationID,
		CreatedAt:           s.CreateTimeMillis.Time(),
		LastUpdatedAt:       s.UpdateTimeMillis.Time(),
	}
}

// V1Beta is the nested v1beta engagement of a flat legacy create answer:
// one dialog with dialogId, channelId, providerDialogId and createdAt, and
// the customer's session on a connection. What v1beta adds (the dialog's
// status, initiator, connection ids, url) a legacy answer does not carry.
func (e *EngagementCreated) V1Beta() engagement.Engagement {
	d := engagement.Dialog{
		DialogID:         e.DialogID,
		ChannelID:        ChannelOf(e.MediaType),
		ProviderDialogID: e.ProviderDialogID,
		CreatedAt:        e.CreateTimeMillis.Time(),
	}
	if e.SessionID != "" {
		d.Connections = []engagement.Connection{{ParticipantType: engagement.ParticipantCustomer, SessionIDs: []string{e.SessionID}}}
	}
	return engagement.Engagement{
		EngagementID:  e.EngagementID,
		AccountID:     e.AccountID,
		Conversation:  e.Conversation,
		Dialogs:       []engagement.Dialog{d},
		CorrelationID: e.CorrelationID,
	}
}

// V1Beta is the v1beta engagement of a legacy one. The engagement's own
// times and status have no v1beta field (they live on the dialogs), and
// participantMode and metadata none either.
func (e *Engagement) V1Beta() engagement.Engagement {
	out := engagement.Engagement{
		EngagementID:  e.EngagementID,
		AccountID:     e.AccountID,
		Conversation:  e.Conversation,
		Dialogs:       make([]engagement.Dialog, 0, len(e.Dialogs)),
		CorrelationID: e.CorrelationID,
	}
	for _, d := range e.Dialogs {
		vd := engagement.Dialog{
			DialogID:               d.DialogID,
			ChannelID:              ChannelOf(d.MediaType),
			DialogStatus:           V1BetaDialogStatus(d.DialogStatus),
			ProviderDialogID:       d.ProviderDialogID,
			InitiatorParticipantID: d.SourceParticipantID,
			Connections:            make([]engagement.Connection, 0, len(d.Connections)),
			EngagementParameters:   cloneParams(d.ContextParameters),
		}
		for _, c := range d.Connections {
			vd.Connections = append(vd.Connections, engagement.Connection{
				ConnectionID:    c.ConnectionID,
				ParticipantID:   c.ParticipantID,
				ParticipantType: c.ParticipantType,
				DisplayName:     c.DisplayName,
				SessionIDs:      slices.Clone(c.SessionIDs),
				ConnectionState: V1BetaConnectionState(c.ConnectionState),
			})
		}
		out.Dialogs = append(out.Dialogs, vd)
	}
	return out
}

// V1Beta is the v1beta message of a legacy one.
func (m *Message) V1Beta() engagement.Message {
	out := engagement.Message{
		MessageID:               m.MessageID,
		AccountID:               m.AccountID,
		DialogID:                m.DialogID,
		EngagementID:            m.EngagementID,
		Status:                  V1BetaMessageStatus(m.Status),
		SessionID:               m.SessionID,
		BusinessAccountName:     m.BusinessAccountName,
		ChannelProviderID:       m.ChannelProviderID,
		SenderParticipantID:     m.SenderID,
		SenderParticipantName:   m.SenderName,
		SenderParticipantType:   m.SenderType,
		FallbackText:            m.FallbackText,
		Headers:                 m.Headers.v1beta(),
		CustomData:              cloneParams(m.CustomData),
		ParentMessageID:         m.ParentMessageID,
		ProviderDialogID:        m.ProviderDialogID,
		ProviderSenderID:        m.ProviderSenderID,
		ProviderMessageID:       m.ProviderMessageID,
		ProviderParentMessageID: m.ProviderParentMessageID,
		EngagementParameters:    cloneParams(m.ContextParameters),
		ReceivedAt:              m.ReceivedTimestamp.timePtr(),
		LastUpdatedAt:           m.LastUpdatedTimestamp.timePtr(),
		CorrelationID:           m.CorrelationID,
	}
	if m.ChannelID != "" {
		out.ChannelID = ChannelOf(m.ChannelID)
	}
	if m.Body != nil {
		out.Body = m.Body.v1beta()
	}
	for _, a := range m.Attachments {
		out.Attachments = append(out.Attachments, engagement.Attachment{
			AttachmentID: a.ID, Name: a.Name, Size: a.Size, ContentType: a.ContentType, URL: a.URL,
			CaptionText: a.CaptionText, ThumbnailURL: a.ThumbnailURL, AdditionalProperties: cloneParams(a.AdditionalProperties),
		})
	}
	return out
}

// cloneParams copies a parameter map so that a translated document shares
// nothing with its source; nil stays nil.
func cloneParams(p map[string]string) map[string]string {
	if p == nil {
		return nil
	}
	return maps.Clone(p)
}
