package legacyv1

import (
	"context"
	"net/http"

	"github.com/google/uuid"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/mapping"
)

// sendMessage is POST /v1/engagements/{id}/messages → 200 (the legacy
// status; v1beta's is 202) with the legacy message, status QUEUED.
//
// A message with a providerMessageId is stored once however often it is
// sent: it is recorded under that id before it goes to AXP (with it as
// its providerMessageId), and a retry finds the record or the message at
// AXP instead of sending it again (retries.go). A message without one is
// given an id of the proxy's, so that one AXP did not answer can still be
// looked for; a retry of it cannot be told from a new message.
func (f *Face) sendMessage(ctx context.Context, id string, body []byte) (int, any, *Error) {
	r, e := DecodeSendMessage(body)
	if e != nil {
		return 0, nil, e
	}
	if _, e := f.owned(ctx, "sessionId", r.SessionID); e != nil {
		return 0, nil, e
	}
	conv, e := f.dialogOf(ctx, id, r.DialogID)
	if e != nil {
		return 0, nil, e
	}
	in := r.V1Beta()
	key := r.ProviderMessageID
	if key == "" {
		in.ProviderMessageID = uuid.NewString()
		m, e := f.send(ctx, conv, in, "a retry may store it twice (give a providerMessageId to make retries safe)")
		if e != nil {
			return 0, nil, e
		}
		return http.StatusOK, f.messageOf(conv, m), nil
	}
	var m *engagement.Message
	find := func(ctx context.Context) (bool, error) {
		got, err := f.backend.FindMessage(ctx, conv.EngagementID, conv.SessionID, conv.DialogID, key)
		m = got
		return got != nil, err
	}
	rec, ok, err := f.store.Send(ctx, conv.ID, key)
	if err != nil {
		return 0, nil, fromBackend(err, f.b)
	}
	if ok && rec.State == mapping.SendSent {
		// Sent before: the answer is the message as AXP has it among the
		// newest, else as the request and the record tell it.
		if _, err := find(ctx); err != nil {
			return 0, nil, fromBackend(err, f.b)
		}
		if m == nil {
			m = sentBefore(conv, in, rec)
		}
		return http.StatusOK, f.messageOf(conv, m), nil
	}
	found, err := f.beginAttempt(ctx, conv.ID, key, find)
	if err == nil && !found && ok {
		// A record was there a moment ago: an attempt may have stored the
		// message since.
		found, err = find(ctx)
	}
	if err != nil {
		return 0, nil, fromBackend(err, f.b)
	}
	if !found {
		var e *Error
		m, e = f.send(ctx, conv, in, "send the same request again (same providerMessageId): it will not be stored twice")
		if e != nil {
			if e.Status != http.StatusServiceUnavailable {
				_ = f.store.DropSend(context.WithoutCancel(ctx), conv.ID, key) // refused: not stored
			}
			return 0, nil, e
		}
	}
	done := mapping.SendRecord{ProviderMessageID: key, State: mapping.SendSent, MessageID: m.MessageID, MessageIndex: m.MessageIndex,
		Holder: f.cfg.ReplicaID, At: f.now()}
	if m.ReceivedAt != nil && !m.ReceivedAt.IsZero() {
		done.At = m.ReceivedAt.Time
	}
	if err := f.store.PutSend(context.WithoutCancel(ctx), conv.ID, key, done, f.cfg.SendWindow); err != nil {
		// The message is stored; a retry finds it at AXP by its id.
		f.log.WarnContext(ctx, "legacyv1: record a sent message", "conversation", conv.ID, "err", err)
	}
	return http.StatusOK, f.messageOf(conv, m), nil
}

// sentBefore is a message stored before, as its request and its record
// tell it.
func sentBefore(conv *mapping.Conversation, in *engagement.SendMessage, rec mapping.SendRecord) *engagement.Message {
	at := engagement.NewTime(rec.At)
	return &engagement.Message{
		MessageID: rec.MessageID, MessageIndex: rec.MessageIndex, AccountID: conv.Owner.Account, DialogID: conv.DialogID,
		EngagementID: conv.EngagementID, Status: engagement.MessageSent, SessionID: conv.SessionID,
		ChannelProviderID: conv.Attrs[attrChannelProvider], ChannelID: engagement.ChannelChat,
		SenderParticipantID: conv.ParticipantID, SenderParticipantName: in.SenderParticipantName,
		SenderParticipantType: engagement.ParticipantCustomer, Body: in.Body, FallbackText: in.FallbackText,
		Headers: in.Headers, CustomData: in.CustomData, ParentMessageID: in.ParentMessageID, ProviderDialogID: conv.ID,
		ProviderSenderID: in.ProviderSenderID, ProviderMessageID: in.ProviderMessageID,
		ProviderParentMessageID: in.ProviderParentMessageID, ReceivedAt: &at, CorrelationID: in.CorrelationID,
	}
}

// send posts a message. When AXP does not answer, it looks for it by its
// providerMessageId for SettleTimeout, then answers that the outcome is
// unknown, saying what a retry does (then). A dialog AXP says is over
// closes its conversation.
func (f *Face) send(ctx context.Context, conv *mapping.Conversation, in *engagement.SendMessage, then string) (*engagement.Message, *Error) {
	m, err := f.backend.SendMessage(ctx, conv.EngagementID, in)
	if unknown(err) && f.settle(ctx, func(ctx context.Context) (bool, error) {
		got, err := f.backend.FindMessage(ctx, conv.EngagementID, conv.SessionID, conv.DialogID, in.ProviderMessageID)
		m = got
		return got != nil, err
	}) {
		err = nil
	}
	switch {
	case unknown(err):
		return nil, unconfirmed("the message", then)
	case err != nil:
		if dialogGone(err) {
			_ = f.closeConversation(context.WithoutCancel(ctx), conv.ID, closedByAXP)
		}
		return nil, fromBackend(err, f.b)
	}
	return m, nil
}

// messageOf is the legacy message of one of conv's, the client's
// providerDialogId in place of AXP's.
func (f *Face) messageOf(conv *mapping.Conversation, m *engagement.Message) Message {
	out := MessageOf(m)
	out.ProviderDialogID = ContextOf(conv).clientDialogID(out.ProviderDialogID)
	return out
}

// listMessages is GET /v1/engagements/{id}/messages?dialogId=&sessionId=:
// every message of the dialog, read page by page from AXP, as one bare JSON
// array with epoch times (the legacy list has no pages).
func (f *Face) listMessages(ctx context.Context, id, sessionID, dialogID string) (int, any, *Error) {
	var c checks
	c.required("dialogId", dialogID)
	c.required("sessionId", sessionID)
	if e := c.err(); e != nil {
		return 0, nil, e
	}
	if _, e := f.owned(ctx, "sessionId", sessionID); e != nil {
		return 0, nil, e
	}
	conv, e := f.dialogOf(ctx, id, dialogID)
	if e != nil {
		return 0, nil, e
	}
	out := make([]Message, 0, 16)
	for m, err := range f.backend.AllMessages(ctx, id, sessionID, dialogID) {
		if err != nil {
			return 0, nil, fromBackend(err, f.b)
		}
		out = append(out, f.messageOf(conv, m))
	}
	return http.StatusOK, out, nil
}
