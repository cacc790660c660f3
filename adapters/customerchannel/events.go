package customerchannel

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/mapping"
	"github.com/connector-proxy/connector-proxy/pipeline"
	"github.com/connector-proxy/connector-proxy/telemetry"
)

// maxTextRunes is AXP's limit on elementText.text.
const maxTextRunes = 4096

// ackFunc answers an event the client sent with an ack id; nil when it
// asked none.
type ackFunc func(args ...any) error

// eventError is an event's failure as the client is told it.
type eventError struct {
	code, msg string
	conv      string
	// field names the payload field at fault, when one is.
	field string
	// retryable and retryAfter (seconds) tell the client whether and when
	// the same event may succeed (failures.go).
	retryable  bool
	retryAfter int
	err        error
}

func (e *eventError) Error() string {
	if e.err != nil {
		return e.code + ": " + e.msg + ": " + e.err.Error()
	}
	return e.code + ": " + e.msg
}

func (e *eventError) Unwrap() error { return e.err }

func fail(code, conv, format string, args ...any) *eventError {
	return &eventError{code: code, conv: conv, msg: fmt.Sprintf(format, args...)}
}

// backendFail turns an AXP or store error into what the client is told, by
// the classification every face shares (failures.go).
func backendFail(conv, what string, err error) *eventError {
	return eventFailure(conv, what, err)
}

// handleEvent runs one client event and answers it: on failure with an
// error event and an error ack, on success with an ok ack.
func (f *Face) handleEvent(ctx context.Context, s socket, event string, args []json.RawMessage, ack ackFunc) {
	if ctx == f.sock.Context() {
		// The socket server's context ends when the face closes, as the
		// clock's do: a context with no timer of its own serves.
		ctx = f.events.After(f.cfg.Timeout)
	} else {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.cfg.Timeout)
		defer cancel()
	}
	var (
		id  string
		err *eventError
	)
	var payload json.RawMessage
	if len(args) > 0 {
		payload = args[0]
	}
	switch event {
	case EventJoinConversation:
		err = f.onJoin(ctx, s, payload)
	case EventSendMessage:
		id, err = f.onSend(ctx, s, payload)
	case EventEndConversation:
		err = f.onEnd(ctx, s, payload)
	case EventRegisterConnector:
		err = f.onRegister(ctx, s, payload)
	default:
		err = fail(CodeUnknownEvent, "", "unknown event %q", event)
		event = "unknown" // client input: keep the metric's label set bounded
	}
	if err != nil {
		code := strings.ToLower(err.code)
		f.m.eventDone(event, code)
		telemetry.Fail(ctx, code)
		if err.err != nil {
			f.log.WarnContext(ctx, "customerchannel: event failed", "event", event, "conversation", err.conv, "error", err)
		}
		p := &ErrorPayload{Code: err.code, Message: err.msg, Event: event, ConversationID: err.conv,
			Field: err.field, Retryable: err.retryable, RetryAfter: err.retryAfter}
		if event == "unknown" {
			p.Event = ""
		}
		if eerr := s.Emit(EventError, p); eerr != nil {
			f.log.DebugContext(ctx, "customerchannel: emit error event", "error", eerr)
		}
		if ack != nil {
			_ = ack(Ack{Status: "error", Error: p}) // the socket may be gone; nothing to do then
		}
		return
	}
	f.m.eventDone(event, "ok")
	if ack != nil {
		if id == "" {
			_ = ack(f.okAck) // boxed once
		} else {
			_ = ack(Ack{Status: "ok", ID: id})
		}
	}
}

// decode reads an event's object payload.
func decode(payload json.RawMessage, v any) *eventError {
	if len(payload) == 0 || payload[0] != '{' {
		return fail(CodeBadPayload, "", "the payload must be a JSON object")
	}
	return checkPayload(payload, v)
}

// conversation loads one of this face's conversations; with view, the
// cache's own (shared: the caller only reads it), not a copy.
func (f *Face) conversation(ctx context.Context, id string, view bool) (*mapping.Conversation, *eventError) {
	var conv *mapping.Conversation
	var err error
	if view && f.views != nil {
		conv, err = f.views.ConversationView(ctx, id)
	} else {
		conv, err = f.store.Conversation(ctx, id)
	}
	if errors.Is(err, mapping.ErrNotFound) || (err == nil && conv.Owner.Face != mapping.FaceCustomerChannel) {
		return nil, fail(CodeNotFound, id, "no conversation %q", id)
	}
	if err != nil {
		return nil, backendFail(id, "load conversation", err)
	}
	return conv, nil
}

func (f *Face) onJoin(ctx context.Context, s socket, payload json.RawMessage) *eventError {
	var req JoinRequest
	if err := decode(payload, &req); err != nil {
		return err
	}
	if req.ConversationID == "" || req.ID == "" {
		return fail(CodeBadPayload, req.ConversationID, "conversationId and id are required")
	}
	conv, ferr := f.conversation(ctx, req.ConversationID, false)
	if ferr != nil {
		return ferr
	}
	if subtle.ConstantTimeCompare([]byte(conv.Attrs[attrParticipant]), []byte(req.ID)) != 1 {
		return fail(CodeWrongParticipant, req.ConversationID, "participant id does not match the conversation")
	}
	f.hub.join(s, conv.ID)
	customer := customerOf(conv)
	if req.Name != "" {
		customer.Name = req.Name
	}
	if conv.Open() {
		greet := f.activity(conv, ActivityGreetings, systemParticipant, ActivityInfo{Text: f.cfg.Greeting}, f.now())
		greet.To = []Participant{customer}
		f.emit(ctx, s, EventMessageArrived, greet)
	}
	info, err := f.conversationInfo(ctx, conv)
	f.emit(ctx, s, EventConversationInfo, info)
	if err != nil {
		return backendFail(conv.ID, "list the conversation's messages", err)
	}
	return nil
}

// conversationInfo builds the conversationInfo event; on an AXP failure it
// still returns what it knows, with the error.
func (f *Face) conversationInfo(ctx context.Context, conv *mapping.Conversation) (*ConversationInfo, error) {
	customer := customerOf(conv)
	info := &ConversationInfo{
		Conversation: summary(conv),
		Messages:     []ChatMessage{},
		Participant:  []Participant{customer},
		Role:         RoleCustomer,
	}
	if !conv.Open() {
		info.Conversation.Transcript = f.transcriptLinks(conv)
	}
	seen := map[string]bool{customer.ID: true}
	var failed error
	for m, err := range f.history(ctx, conv, useConversationInfo) {
		if err != nil {
			failed = fmt.Errorf("list messages of %s: %w", conv.EngagementID, err)
			break
		}
		if whisper(m) {
			continue
		}
		cm := f.chatMessage(conv, m)
		info.Messages = append(info.Messages, *cm)
		if !seen[cm.From.ID] {
			seen[cm.From.ID] = true
			info.Participant = append(info.Participant, cm.From)
		}
	}
	if eng, err := f.backend.GetEngagement(ctx, conv.EngagementID); err == nil {
		if d := eng.Dialog(conv.DialogID); d != nil {
			for _, c := range d.Connections {
				if c.ParticipantType == engagement.ParticipantCustomer || seen[c.ParticipantID] || c.ConnectionState != engagement.Connected {
					continue
				}
				seen[c.ParticipantID] = true
				info.Participant = append(info.Participant, Participant{ID: c.ParticipantID, Name: c.DisplayName, Type: role(c.ParticipantType)})
			}
		}
	} else if failed == nil {
		failed = fmt.Errorf("get engagement %s: %w", conv.EngagementID, err)
	}
	return info, failed
}

// target resolves the conversation an event names: a customer's must be one
// it joined, a connector's one of its channel (by conversationId or refId).
// Its callers only read it.
func (f *Face) target(ctx context.Context, s socket, convID, refID string) (*mapping.Conversation, *eventError) {
	if channel := f.hub.connectorOf(s); channel != "" {
		if err := f.stillConnector(ctx, s, channel); err != nil {
			return nil, err
		}
		if convID == "" {
			if refID == "" {
				return nil, fail(CodeBadPayload, "", "conversationId or refId is required")
			}
			return f.openConversationOf(ctx, channel, refID)
		}
		conv, err := f.conversation(ctx, convID, true)
		if err != nil {
			return nil, err
		}
		if conv.Channel != channel {
			return nil, fail(CodeNotFound, convID, "no conversation %q on channel %q", convID, channel)
		}
		return conv, nil
	}
	if convID == "" {
		return nil, fail(CodeBadPayload, "", "conversationId is required")
	}
	if !f.hub.joined(s, convID) {
		return nil, fail(CodeNotJoined, convID, "join the conversation first")
	}
	return f.conversation(ctx, convID, true)
}

// openConversationOf finds the customer's newest open conversation on a
// channel.
func (f *Face) openConversationOf(ctx context.Context, channel, refID string) (*mapping.Conversation, *eventError) {
	convs, err := f.store.Conversations(ctx, consumerKey(channel, refID))
	if err != nil && !errors.Is(err, mapping.ErrNotFound) {
		return nil, backendFail("", "look up the customer's conversations", err)
	}
	for i := len(convs) - 1; i >= 0; i-- {
		if convs[i].Open() {
			return convs[i], nil
		}
	}
	return nil, fail(CodeNotFound, "", "no open conversation for %q on channel %q", refID, channel)
}

func (f *Face) onSend(ctx context.Context, s socket, payload json.RawMessage) (string, *eventError) {
	var req SendRequest
	if err := decodeSend(payload, &req); err != nil {
		return "", err
	}
	conv, ferr := f.target(ctx, s, req.ConversationID, req.RefID)
	if ferr != nil {
		return "", ferr
	}
	if !conv.Open() {
		return "", fail(CodeEnded, conv.ID, "the conversation has ended")
	}
	switch req.Type {
	case TypeChatMessage, "":
	case TypeActivityMessage:
		// v1beta has no call for typing or other activities from the
		// customer: accepted and counted, nothing sent.
		return "", nil
	default:
		return "", fail(CodeBadPayload, conv.ID, "type must be %s or %s", TypeChatMessage, TypeActivityMessage)
	}
	if strings.TrimSpace(req.Text) == "" {
		return "", fail(CodeBadPayload, conv.ID, "text is required")
	}
	if n := utf8.RuneCountInString(req.Text); n > maxTextRunes {
		return "", fail(CodeBadPayload, conv.ID, "text has %d characters, over %d", n, maxTextRunes)
	}
	name := conv.Attrs[attrName]
	if req.From != nil && req.From.Name != "" && f.hub.connectorOf(s) == "" {
		name = req.From.Name
	}
	return f.sendText(ctx, conv, req.ID, req.Text, truncate(name, 70))
}

// sendText sends a customer's text to AXP and returns AXP's message id.
// With a message id from the client it is stored once however often the
// client sends it again (a retry after a lost ack): a pending record under
// the id names the providerMessageId it went with, and a retry that meets
// it looks for the message at AXP instead of sending it twice. When AXP
// does not answer, the face looks for the message before it acks, and
// says truthfully when it could not tell.
func (f *Face) sendText(ctx context.Context, conv *mapping.Conversation, clientID, text, name string) (string, *eventError) {
	rec := mapping.SendRecord{ProviderMessageID: f.ids.New(), State: mapping.SendPending, Holder: f.cfg.ReplicaID, At: f.now()}
	key := ""
	if clientID != "" {
		key = "cc:" + clientID
		cur, won, err := f.store.BeginSend(ctx, conv.ID, key, rec, f.cfg.SendWindow)
		if err != nil {
			return "", backendFail(conv.ID, "record the message", err)
		}
		if !won {
			id, done, ferr := f.resumeSend(ctx, conv, key, cur)
			if done || ferr != nil {
				return id, ferr
			}
			rec = cur
		}
	}
	msg, err := f.backend.SendText(ctx, conv.EngagementID, engagement.TextMessage{
		SessionID:             conv.SessionID,
		DialogID:              conv.DialogID,
		Text:                  text,
		SenderParticipantName: name,
		ProviderMessageID:     rec.ProviderMessageID,
	})
	if errors.Is(err, engagement.ErrOutcomeUnknown) {
		var found *engagement.Message
		ok, ferr := engagement.Await(ctx, f.cfg.SettleTimeout, func(ctx context.Context) (bool, error) {
			m, err := f.backend.FindMessage(ctx, conv.EngagementID, conv.SessionID, conv.DialogID, rec.ProviderMessageID)
			found = m
			return m != nil, err
		})
		switch {
		case ok:
			msg, err = engagement.SentMessage{MessageID: found.MessageID, MessageIndex: found.MessageIndex}, nil
			if found.ReceivedAt != nil {
				msg.ReceivedAt = found.ReceivedAt.Time
			}
		case ferr != nil && dialogGone(ferr):
			err = ferr
		}
	}
	bg := context.WithoutCancel(ctx)
	switch {
	case err == nil:
		sent := &engagement.Message{MessageID: msg.MessageID, MessageIndex: msg.MessageIndex}
		if !msg.ReceivedAt.IsZero() {
			at := engagement.Time{Time: msg.ReceivedAt}
			sent.ReceivedAt = &at
		}
		f.recordSent(bg, conv, sent, rec.ProviderMessageID, text, name)
		if key != "" {
			// Not waited for: lost in a crash, the record stays pending and
			// a retry finds the message at AXP.
			rec.State, rec.MessageID, rec.MessageIndex = mapping.SendSent, msg.MessageID, msg.MessageIndex
			if perr := f.store.MarkSent(bg, conv.ID, key, rec, f.cfg.SendWindow); perr != nil {
				f.log.WarnContext(ctx, "customerchannel: record sent message", "conversation", conv.ID, "error", perr)
			}
		}
		return msg.MessageID, nil
	case errors.Is(err, engagement.ErrOutcomeUnknown):
		f.recordUnsure(bg, conv, rec.ProviderMessageID)
		return "", &eventError{code: CodeUnconfirmed, conv: conv.ID, err: err, retryable: true,
			msg: "the contact center did not confirm the message and it is not there yet; send it again with the same id: it will not be stored twice"}
	}
	if key != "" {
		_ = f.store.DropSend(bg, conv.ID, key)
	}
	if dialogGone(err) {
		f.closeGone(bg, conv)
		return "", fail(CodeEnded, conv.ID, "the conversation has ended")
	}
	return "", backendFail(conv.ID, "send the message", err)
}

// resumeSend deals with a pending record met by a retry: done when it
// answered (the message was found at AXP, or the first attempt finished
// meanwhile); otherwise the caller sends it under the same
// providerMessageId.
func (f *Face) resumeSend(ctx context.Context, conv *mapping.Conversation, key string, cur mapping.SendRecord) (string, bool, *eventError) {
	for pause := 50 * time.Millisecond; ; pause = min(2*pause, time.Second) {
		deadline := cur.At.Add(f.cfg.Timeout) // the attempt's own request gives up then
		if cur.State == mapping.SendSent {
			return cur.MessageID, true, nil
		}
		m, err := f.backend.FindMessage(ctx, conv.EngagementID, conv.SessionID, conv.DialogID, cur.ProviderMessageID)
		switch {
		case err != nil && dialogGone(err):
			f.closeGone(context.WithoutCancel(ctx), conv)
			return "", true, fail(CodeEnded, conv.ID, "the conversation has ended")
		case err != nil:
			return "", true, backendFail(conv.ID, "look for the message", err)
		case m != nil:
			// The attempt that sent it may not have recorded it (a second
			// record is served once).
			f.recordSent(context.WithoutCancel(ctx), conv, m, cur.ProviderMessageID, m.Text(), m.SenderParticipantName)
			cur.State, cur.MessageID, cur.MessageIndex = mapping.SendSent, m.MessageID, m.MessageIndex
			_ = f.store.PutSend(context.WithoutCancel(ctx), conv.ID, key, cur, f.cfg.SendWindow)
			return m.MessageID, true, nil
		}
		alive := cur.Holder == f.cfg.ReplicaID
		if !alive && cur.Holder != "" {
			if alive, err = f.store.Alive(ctx, cur.Holder); err != nil {
				return "", true, backendFail(conv.ID, "look for the message", err)
			}
		}
		if !f.now().Before(cur.At.Add(f.cfg.UnconfirmedWindow)) {
			// The first attempt can land no more: send it again, unless
			// another retry took it over first.
			next := cur
			next.Holder, next.At = f.cfg.ReplicaID, f.now()
			took, err := f.store.TakeSend(ctx, conv.ID, key, cur, next, f.cfg.SendWindow)
			if err != nil {
				return "", true, backendFail(conv.ID, "record the message", err)
			}
			if took {
				return "", false, nil
			}
		} else if !alive || !f.now().Before(deadline) {
			// Nobody waits for the first attempt's answer, and AXP may
			// still store it.
			return "", true, &eventError{code: CodeUnconfirmed, conv: conv.ID, err: errors.New("an earlier attempt may still land"), retryable: true,
				msg: "the contact center did not confirm the message and it is not there yet; send it again with the same id: it will not be stored twice"}
		} else if err := sleepCtx(ctx, pause); err != nil {
			return "", true, backendFail(conv.ID, "wait for the message", err)
		}
		rec, ok, err := f.store.Send(ctx, conv.ID, key)
		if err != nil {
			return "", true, backendFail(conv.ID, "look for the message", err)
		}
		if !ok {
			return "", false, nil
		}
		cur = rec
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// dialogGone reports an AXP answer meaning the dialog no longer takes
// messages: 404, or 400 with a violation on the dialog or the session.
func dialogGone(err error) bool {
	var p *engagement.Problem
	if !errors.As(err, &p) {
		return false
	}
	return p.Status == 404 || p.Status == 409 || (p.Status == 400 && (p.Violation("dialogId") != nil || p.Violation("sessionId") != nil))
}

// closeGone closes a conversation whose dialog AXP says is over though it
// sent no event for it, and tells its sockets as a close would; the
// customer's next init opens a new one.
func (f *Face) closeGone(ctx context.Context, conv *mapping.Conversation) {
	var eff pipeline.Effect
	now := f.now()
	_, err := f.update(ctx, conv.ID, func(c *mapping.Conversation) (pipeline.Effect, error) {
		if !c.Open() {
			return pipeline.Effect{}, mapping.ErrNoChange
		}
		eff = f.close(c, engagement.ReasonSystemClosed, now)
		return eff, nil
	})
	if err != nil {
		f.log.WarnContext(ctx, "customerchannel: close a conversation AXP ended", "conversation", conv.ID, "error", err)
		return
	}
	for _, fn := range eff.After {
		fn(ctx)
	}
}

func (f *Face) onEnd(ctx context.Context, s socket, payload json.RawMessage) *eventError {
	var req EndRequest
	if err := decode(payload, &req); err != nil {
		return err
	}
	conv, ferr := f.target(ctx, s, req.ConversationID, req.RefID)
	if ferr != nil {
		return ferr
	}
	if !conv.Open() {
		return fail(CodeEnded, conv.ID, "the conversation has already ended")
	}
	if err := f.endConversation(ctx, conv); err != nil {
		return backendFail(conv.ID, "end the conversation", err)
	}
	return nil
}

// endConversation ends a conversation the customer closes: it is recorded
// closed first (so that AXP's PARTICIPANT_DISCONNECTED for the disconnect
// finds it closed, and the end is told once, as the customer's), then
// disconnected at AXP; the end is told and the session ended when the
// customer has no other open conversation. When AXP does not disconnect
// it, it opens again, so that the customer can try again.
func (f *Face) endConversation(ctx context.Context, conv *mapping.Conversation) error {
	var eff pipeline.Effect
	now := f.now()
	closed, err := f.update(ctx, conv.ID, func(c *mapping.Conversation) (pipeline.Effect, error) {
		if !c.Open() {
			return pipeline.Effect{}, mapping.ErrNoChange
		}
		eff = f.close(c, engagement.ReasonUserClosed, now)
		return eff, nil
	})
	if err != nil {
		return fmt.Errorf("mark %s closed: %w", conv.ID, err)
	}
	if closed.CloseReason != engagement.ReasonUserClosed || !closed.ClosedAt.Equal(now) {
		return nil // ended meanwhile by AXP, and told then
	}
	req := &engagement.DisconnectEngagement{SessionID: conv.SessionID, DialogID: conv.DialogID, Reason: engagement.ReasonUserClosed}
	_, err = f.backend.DisconnectEngagement(ctx, conv.EngagementID, req)
	if errors.Is(err, engagement.ErrOutcomeUnknown) {
		_, err = f.backend.DisconnectEngagement(ctx, conv.EngagementID, req) // it can be repeated
	}
	if err != nil && !dialogGone(err) {
		_, rerr := mapping.Update(context.WithoutCancel(ctx), f.store, conv.ID, func(c *mapping.Conversation) ([]*mapping.OutboxItem, error) {
			if c.Open() || c.CloseReason != engagement.ReasonUserClosed || !c.ClosedAt.Equal(now) {
				return nil, mapping.ErrNoChange // closed since by something else
			}
			c.State, c.CloseReason, c.ClosedAt = mapping.StateOpen, "", time.Time{}
			return nil, nil
		})
		return fmt.Errorf("disconnect %s: %w", conv.EngagementID, errors.Join(err, rerr))
	}
	for _, fn := range eff.After {
		fn(ctx)
	}
	return nil
}

// endSessionIfIdle ends the customer's AXP session once none of its
// conversations is open. Failures are logged: the conversation is over
// either way, and AXP ends idle sessions itself.
func (f *Face) endSessionIfIdle(ctx context.Context, conv *mapping.Conversation) {
	convs, err := f.store.Conversations(ctx, conv.Owner)
	if err != nil {
		f.log.WarnContext(ctx, "customerchannel: list conversations", "conversation", conv.ID, "error", err)
		return
	}
	for _, c := range convs {
		if c.ID != conv.ID && c.Open() && c.SessionID == conv.SessionID {
			return
		}
	}
	if err := f.store.DeleteSession(ctx, conv.Owner); err != nil && !errors.Is(err, mapping.ErrNotFound) {
		f.log.WarnContext(ctx, "customerchannel: forget session", "conversation", conv.ID, "error", err)
	}
	if err := f.backend.DeleteSession(ctx, conv.SessionID, engagement.ReasonUserClosed); err != nil {
		f.log.WarnContext(ctx, "customerchannel: end session", "conversation", conv.ID, "error", err)
	}
}

func (f *Face) onRegister(ctx context.Context, s socket, payload json.RawMessage) *eventError {
	if _, ok := s.Data().(connectorPrincipal); !ok {
		return fail(CodeNotConnector, "", "registerConnector needs the connector secret in the CONNECT auth")
	}
	var req RegisterRequest
	if err := decode(payload, &req); err != nil {
		return err
	}
	if req.Channel == "" {
		req.Channel = req.ID
	}
	if req.ID == "" {
		req.ID = req.Channel
	}
	if req.Channel == "" || req.ID != req.Channel {
		return fail(CodeBadPayload, "", "id and channel are required and must be equal")
	}
	notice := ConnectorNotice(req)
	if f.cfg.Bus != nil {
		// One connector per channel across replicas: the shared record
		// first (so a failure changes nothing), then the other replicas
		// drop theirs.
		if err := f.cfg.Bus.ClaimConnector(ctx, req.Channel, f.owner(s)); err != nil {
			return backendFail("", "record the connector registration", err)
		}
		if raw, err := json.Marshal(notice); err == nil {
			m := &BusMessage{Kind: BusConnector, Origin: f.cfg.ReplicaID, Channel: req.Channel, Owner: f.owner(s), Connector: raw}
			if err := f.cfg.Bus.Publish(ctx, m); err != nil {
				f.log.WarnContext(ctx, "customerchannel: tell the other replicas of a connector", "channel", req.Channel, "error", err)
			}
		}
	}
	if old := f.hub.register(s, req); old != nil {
		_ = old.Emit(EventConnectorReplaced, notice) // it may be gone already
	}
	_ = s.Emit(EventConnectorAccepted, notice)
	return nil
}

// stillConnector checks the shared record of channel's connector, for a
// replacement whose bus message this replica missed; a replaced socket is
// told so and dropped.
func (f *Face) stillConnector(ctx context.Context, s socket, channel string) *eventError {
	if f.cfg.Bus == nil {
		return nil
	}
	owner, err := f.cfg.Bus.ConnectorOwner(ctx, channel)
	if err != nil {
		return backendFail("", "check the connector registration", err)
	}
	if owner == "" || owner == f.owner(s) {
		return nil
	}
	if old := f.hub.unregister(channel, s); old != nil {
		_ = old.Emit(EventConnectorReplaced, ConnectorNotice{ID: channel, Channel: channel})
	}
	return fail(CodeNotConnector, "", "another connector registered for channel %q", channel)
}

// onDisconnect forgets a socket; a connector's shared record goes with it.
func (f *Face) onDisconnect(s socket) {
	channel := f.hub.connectorOf(s)
	f.hub.leave(s)
	if channel == "" || f.cfg.Bus == nil {
		return
	}
	ctx, cancel := context.WithTimeout(f.ctx, f.cfg.Timeout)
	defer cancel()
	if err := f.cfg.Bus.DropConnector(ctx, channel, f.owner(s)); err != nil {
		f.log.WarnContext(ctx, "customerchannel: forget a connector that left", "channel", channel, "error", err)
	}
}

// emit sends one event to one socket; a socket that went away is not an
// error of the sender's.
func (f *Face) emit(ctx context.Context, s socket, event string, payload any) bool {
	if err := s.Emit(event, payload); err != nil {
		f.log.DebugContext(ctx, "customerchannel: emit", "event", event, "socket", s.ID(), "error", err)
		return false
	}
	return true
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
