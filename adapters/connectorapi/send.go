package connectorapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/envelope"
	"github.com/connector-proxy/connector-proxy/mapping"
)

// Close reasons of cqm.ExConversationChangeNotification.
const (
	closeConsumer = "CONSUMER"
	closeAgent    = "AGENT"
	closeSystem   = "SYSTEM"
)

// serveSend is SEND: one envelope. It returns the type label for metrics.
func (f *Face) serveSend(c context.Context, ctx *fasthttp.RequestCtx, r route) string {
	who, err := f.authenticate(ctx, r.account)
	if err != nil {
		f.writeError(ctx, nil, err)
		return ""
	}
	env, pub, fast := scanSend(ctx.PostBody())
	if !fast {
		e, err := envelope.DecodeRequest(ctx.PostBody())
		if err != nil {
			f.writeError(ctx, nil, err)
			return ""
		}
		env = *e
	}
	owner := ownerOf(r, &who)
	typ := env.Type
	var (
		conv *mapping.Conversation // the one the request acted on, if any
		body any
		done published
	)
	switch env.Type {
	case typePublishEvent:
		var pre *publishEvent
		if fast {
			pre = &pub
		}
		typ, conv, done, err = f.publish(c, owner, &env, pre)
	case typeUpdateField:
		conv, body, err = f.updateField(c, owner, &env)
	case typeSetUserProfile:
		body, err = f.setProfile(c, owner, &env)
	default:
		err = badRequest(env.ID, "type", "unknown request type %q (SEND takes %s, %s or %s)", env.Type, typePublishEvent, typeUpdateField, typeSetUserProfile)
	}
	if err != nil {
		f.writeError(ctx, env.ID, err)
		return typ
	}
	if conv != nil {
		f.keepFeatures(c, conv, ctx.Request.Header.Peek("Client-Properties"))
	}
	if env.Type == typePublishEvent {
		var buf [128]byte
		writeJSON(ctx, 200, done.appendAnswer(buf[:0], env.ID))
		return typ
	}
	out, err := (&envelope.Response{ReqID: env.ID, Code: 200, Body: body}).AppendJSON(nil)
	if err != nil {
		f.writeError(ctx, env.ID, err)
		return typ
	}
	writeJSON(ctx, 200, out)
	return typ
}

// published is what an ms.PublishEvent answers: a ContentEvent's
// sequence, or an empty body.
type published struct {
	sequence int
	content  bool
}

// appendAnswer appends the response envelope, as envelope.Response writes
// it for {"sequence": n} or {}.
func (p published) appendAnswer(dst []byte, reqID json.RawMessage) []byte {
	dst = append(dst, `{"kind":"resp"`...)
	if len(reqID) > 0 {
		dst = append(dst, `,"reqId":`...)
		dst = append(dst, reqID...)
	}
	dst = append(dst, `,"code":"OK","body":{`...)
	if p.content {
		dst = append(dst, `"sequence":`...)
		dst = strconv.AppendInt(dst, int64(p.sequence), 10)
	}
	return append(dst, "}}"...)
}

// keepFeatures records the Client-Properties features a SEND carried on
// the open conversation it acted on (conv, as the request read it) when
// they differ from those kept (LivePerson wants the header on CONVERSATION
// and every SEND; the last one sent wins). A connector repeats the same
// header, so the usual SEND costs no store call, and the header it
// repeats is read once. The features enable nothing the request needs, so
// a failure is logged only.
func (f *Face) keepFeatures(ctx context.Context, conv *mapping.Conversation, header []byte) {
	joined := f.features.of(header)
	if joined == "" || !conv.Open() || conv.Attrs[attrFeatures] == joined {
		return
	}
	_, err := mapping.Update(ctx, f.store, conv.ID, func(c *mapping.Conversation) ([]*mapping.OutboxItem, error) {
		if !c.Open() || c.Attrs[attrFeatures] == joined {
			return nil, mapping.ErrNoChange
		}
		if c.Attrs == nil {
			c.Attrs = map[string]string{}
		}
		c.Attrs[attrFeatures] = joined
		return nil, nil
	})
	if err != nil {
		f.log.Warn("connectorapi: keep client features", "conversation", conv.ID, "err", err)
	}
}

// The metric labels of ms.PublishEvent's events.
const (
	typeContentEvent      = typePublishEvent + ".ContentEvent"
	typeChatStateEvent    = typePublishEvent + ".ChatStateEvent"
	typeAcceptStatusEvent = typePublishEvent + ".AcceptStatusEvent"
)

// publish handles ms.PublishEvent: a text ContentEvent becomes an AXP
// message; ChatStateEvent and AcceptStatusEvent have no v1beta call and are
// accepted after the ownership check. pre is the body when the request was
// read in one pass (scanSend), nil when it is still to be decoded. It
// returns the type label for metrics and the conversation, once it is
// known to be the caller's.
func (f *Face) publish(ctx context.Context, owner mapping.ConsumerKey, env *envelope.Envelope, pre *publishEvent) (string, *mapping.Conversation, published, error) {
	typ := typePublishEvent
	var ev publishEvent
	if pre != nil {
		ev = *pre
	} else {
		var err error
		if ev, err = decodePublish(env); err != nil {
			return typ, nil, published{}, err
		}
	}
	if ev.id == "" {
		return typ, nil, published{}, missing(env.ID, "body.dialogId")
	}
	if !ev.hasEvent {
		return typ, nil, published{}, missing(env.ID, "body.event")
	}
	switch ev.typ {
	case "ContentEvent":
		typ = typeContentEvent
		if ae := checkText(env.ID, ev.ctype, ev.text, ev.kind); ae != nil {
			return typ, nil, published{}, ae
		}
	case "ChatStateEvent":
		typ = typeChatStateEvent
		switch ev.state {
		case "ACTIVE", "INACTIVE", "GONE", "COMPOSING", "PAUSE":
		case "":
			return typ, nil, published{}, missing(env.ID, "body.event.chatState")
		default:
			return typ, nil, published{}, badRequest(env.ID, "body.event.chatState", "chatState %q is not ACTIVE, INACTIVE, GONE, COMPOSING or PAUSE", ev.state)
		}
	case "AcceptStatusEvent":
		typ = typeAcceptStatusEvent
		switch ev.status {
		case "ACCEPT", "READ", "ACCESS", "NACK", "ACTION":
		case "":
			return typ, nil, published{}, missing(env.ID, "body.event.status")
		default:
			return typ, nil, published{}, badRequest(env.ID, "body.event.status", "status %q is not ACCEPT, READ, ACCESS, NACK or ACTION", ev.status)
		}
	case "":
		return typ, nil, published{}, missing(env.ID, "body.event.type")
	default:
		return typ, nil, published{}, badRequest(env.ID, "body.event.type", "event type %q is not supported (ContentEvent, ChatStateEvent, AcceptStatusEvent)", ev.typ)
	}
	// The request only reads the conversation: the cache's own copy does.
	conv, err := f.ownedConversation(ctx, ev.id, owner, env.ID, true)
	if err != nil {
		return typ, nil, published{}, err
	}
	if ev.typ != "ContentEvent" {
		return typ, conv, published{}, nil
	}
	seq, err := f.sendText(ctx, conv, ev.text, env.ID, f.names(env))
	if err != nil {
		return typ, nil, published{}, err
	}
	return typ, conv, published{sequence: seq, content: true}, nil
}

// checkText validates a ContentEvent: text/plain, a non-empty string of at
// most MaxTextLength characters.
func checkText(reqID json.RawMessage, contentType, text string, kind messageKind) *apiError {
	if contentType != "" && contentType != "text/plain" {
		return badRequest(reqID, "body.event.contentType", "content type %q is not supported; only text/plain is", contentType)
	}
	switch kind {
	case messageNone:
		return missing(reqID, "body.event.message")
	case messageOther:
		return badRequest(reqID, "body.event.message", "message must be a string for text/plain")
	}
	if strings.TrimSpace(text) == "" {
		return missing(reqID, "body.event.message")
	}
	if n := utf8.RuneCountInString(text); n > MaxTextLength {
		return badRequest(reqID, "body.event.message", "message has %d characters, at most %d are allowed", n, MaxTextLength)
	}
	return nil
}

// keyHasher makes idempotency keys, pooled in the face: SHA-256's state and
// the names' bytes are kept between requests.
type keyHasher struct {
	h     hash.Hash
	sep   [1]byte
	sum   [sha256.Size]byte
	names [2*sha256.Size + engagement.MessageIDLen]byte // the key's hex, an id
}

// sendNames name a SEND: its idempotency key, and the providerMessageId it
// goes to AXP with if it is the first attempt (a retry takes its record's).
type sendNames struct{ key, providerID string }

// names returns a SEND's names, both in one string's allocation. The key
// names the SEND by what the connector sent, its request id and body: a
// retry of the same request has the same key.
func (f *Face) names(env *envelope.Envelope) sendNames {
	k, _ := f.hashers.Get().(*keyHasher)
	if k == nil {
		k = &keyHasher{h: sha256.New()}
	}
	k.h.Reset()
	k.h.Write(env.ID)
	k.h.Write(k.sep[:])
	k.h.Write(env.Body)
	n := hex.Encode(k.names[:], k.h.Sum(k.sum[:0]))
	s := string(f.ids.Append(k.names[:n:len(k.names)]))
	f.hashers.Put(k)
	return sendNames{key: s[:n], providerID: s[n:]}
}

// sendText posts a consumer's text to its conversation and returns its
// sequence: AXP's messageIndex − 1, so that the consumer's and the agent's
// messages share one numbering that starts at 0.
//
// A SEND is stored once however often it is retried. Before the message
// goes to AXP, a pending record under the request's idempotency key names
// the providerMessageId it is sent with, durably; once AXP stored it and
// before the connector is answered, the record says so (not waited for:
// see sent). A retry that meets a pending record (the first attempt is
// under way, its answer was lost, the proxy died, AXP did not answer)
// looks for the message at AXP by that id instead of sending it again, and
// answers what it finds. A retry after the answer (it was lost on its way)
// gets the same answer from the sent record, for SendWindow.
func (f *Face) sendText(ctx context.Context, conv *mapping.Conversation, text string, reqID json.RawMessage, names sendNames) (int, error) {
	key := names.key
	if !conv.Open() {
		return 0, closedError(reqID, conv.ID)
	}
	// The same request under way in this process: its outcome is this
	// one's (the key names the conversation too: the body holds its id).
	fl, first := f.flights.join(key)
	if !first {
		seq, ok, err := fl.wait(ctx)
		if ok || err != nil {
			return seq, err
		}
		// It ended without an answer to share: the store says what to do.
	} else {
		var out flightOutcome
		defer func() { f.flights.leave(key, out) }()
		seq, err := f.sendTextOnce(ctx, conv, text, reqID, names)
		out = flightOutcome{seq: seq, ok: err == nil}
		return seq, err
	}
	return f.sendTextOnce(ctx, conv, text, reqID, names)
}

// sendTextOnce is sendText's work, under the send record.
func (f *Face) sendTextOnce(ctx context.Context, conv *mapping.Conversation, text string, reqID json.RawMessage, names sendNames) (int, error) {
	key := names.key
	rec := mapping.SendRecord{ProviderMessageID: names.providerID, State: mapping.SendPending, Holder: f.cfg.ReplicaID, At: f.now()}
	cur, won, err := f.store.BeginSend(ctx, conv.ID, key, rec, f.cfg.SendWindow)
	if err != nil {
		return 0, fmt.Errorf("connectorapi: record send: %w", err)
	}
	if !won {
		seq, done, err := f.resumeSend(ctx, conv, key, cur)
		if done || err != nil {
			return seq, err
		}
		rec = cur // not at AXP: send it again under the same id
	}
	msg, err := f.backend.SendText(ctx, conv.EngagementID, engagement.TextMessage{
		SessionID:         conv.SessionID,
		DialogID:          conv.DialogID,
		Text:              text,
		ProviderMessageID: rec.ProviderMessageID,
	})
	if errors.Is(err, engagement.ErrOutcomeUnknown) {
		msg, err = f.settleSend(ctx, conv, rec.ProviderMessageID, err)
	}
	switch {
	case err == nil:
		return f.sent(ctx, conv, key, rec, msg)
	case errors.Is(err, engagement.ErrOutcomeUnknown):
		return 0, unconfirmed("the message", err) // the record stays pending
	}
	bg := context.WithoutCancel(ctx)
	if dialogGone(err) {
		_ = f.store.DropSend(bg, conv.ID, key)
		f.closeGone(bg, conv)
		return 0, closedError(reqID, conv.ID)
	}
	_ = f.store.DropSend(bg, conv.ID, key) // AXP refused it: not stored
	return 0, fmt.Errorf("connectorapi: send message: %w", err)
}

// sent records that AXP stored the message, then answers its sequence.
// The record is not waited for (Sends.MarkSent): the answer's truth does
// not depend on it. Were the process to die before it is durable, the
// record would stay pending, and a retry meeting it would find the
// message at AXP by its providerMessageId and answer it, without sending
// it again.
func (f *Face) sent(ctx context.Context, conv *mapping.Conversation, key string, rec mapping.SendRecord, msg engagement.SentMessage) (int, error) {
	if ctx.Err() != nil { // the request's time is up, not the record's
		ctx = context.WithoutCancel(ctx)
	}
	rec.State, rec.MessageID, rec.MessageIndex = mapping.SendSent, msg.MessageID, msg.MessageIndex
	if err := f.store.MarkSent(ctx, conv.ID, key, rec, f.cfg.SendWindow); err != nil {
		// The message is stored; a retry of this request would find it at
		// AXP by its id, so the answer is still the truth.
		f.log.Warn("connectorapi: record sent message", "conversation", conv.ID, "err", err)
	}
	return max(msg.MessageIndex-1, 0), nil
}

// resumeSend deals with a pending record met by a retry: done when it
// answered (the message was found at AXP, or the first attempt finished
// meanwhile). While the first attempt's request may be under way it waits
// for it; once nobody waits for it, the answer is "not confirmed" until
// the unconfirmed window has passed (AXP may still store it); after that
// the caller sends it again, under the same providerMessageId.
func (f *Face) resumeSend(ctx context.Context, conv *mapping.Conversation, key string, cur mapping.SendRecord) (int, bool, error) {
	gone := false // the record went: the first attempt failed and said so
	for pause := 50 * time.Millisecond; ; pause = min(2*pause, time.Second) {
		deadline := cur.At.Add(f.cfg.RequestTimeout) // the attempt's own request gives up then
		if cur.State == mapping.SendSent {
			return max(cur.MessageIndex-1, 0), true, nil
		}
		m, err := f.backend.FindMessage(ctx, conv.EngagementID, conv.SessionID, conv.DialogID, cur.ProviderMessageID)
		switch {
		case err != nil && dialogGone(err):
			f.closeGone(context.WithoutCancel(ctx), conv)
			return 0, true, closedError(nil, conv.ID)
		case err != nil:
			return 0, true, fmt.Errorf("connectorapi: look for the message: %w", err)
		case m != nil:
			f.m.unknown.WithLabelValues("send_message", "landed").Inc()
			seq, err := f.sent(ctx, conv, key, cur, engagement.SentMessage{MessageID: m.MessageID, MessageIndex: m.MessageIndex})
			return seq, true, err
		case gone:
			return 0, false, nil // it failed, and said so by dropping the record
		}
		alive := cur.Holder == f.cfg.ReplicaID
		if !alive && cur.Holder != "" {
			if alive, err = f.store.Alive(ctx, cur.Holder); err != nil {
				return 0, true, fmt.Errorf("connectorapi: is the sender alive: %w", err)
			}
		}
		if !f.now().Before(cur.At.Add(f.cfg.UnconfirmedWindow)) {
			// The first attempt can land no more: send it again, unless
			// another retry took it over first.
			next := cur
			next.Holder, next.At = f.cfg.ReplicaID, f.now()
			took, err := f.store.TakeSend(ctx, conv.ID, key, cur, next, f.cfg.SendWindow)
			if err != nil {
				return 0, true, fmt.Errorf("connectorapi: record send: %w", err)
			}
			if took {
				return 0, false, nil
			}
		} else if !alive || !f.now().Before(deadline) {
			// Nobody waits for the first attempt's answer, and AXP may
			// still store it.
			return 0, true, unconfirmed("the message", errors.New("an earlier attempt may still land"))
		} else if err := sleepCtx(ctx, pause); err != nil {
			return 0, true, unconfirmed("the message", err)
		}
		rec, ok, err := f.store.Send(ctx, conv.ID, key)
		if err != nil {
			return 0, true, fmt.Errorf("connectorapi: read send record: %w", err)
		}
		if !ok {
			// The first attempt was refused and dropped its record: one
			// more look at AXP, then this one sends it.
			gone = true
			continue
		}
		cur = rec
	}
}

// settleSend looks for a message AXP did not answer for, for up to
// SettleTimeout. It returns the message, or the send's error when it was
// not found.
func (f *Face) settleSend(ctx context.Context, conv *mapping.Conversation, providerMessageID string, sendErr error) (engagement.SentMessage, error) {
	var msg *engagement.Message
	ok, err := engagement.Await(ctx, f.cfg.SettleTimeout, func(ctx context.Context) (bool, error) {
		m, err := f.backend.FindMessage(ctx, conv.EngagementID, conv.SessionID, conv.DialogID, providerMessageID)
		msg = m
		return m != nil, err
	})
	switch {
	case ok:
		f.m.unknown.WithLabelValues("send_message", "landed").Inc()
		return engagement.SentMessage{MessageID: msg.MessageID, MessageIndex: msg.MessageIndex}, nil
	case err != nil && dialogGone(err):
		return engagement.SentMessage{}, err
	case err != nil:
		f.m.unknown.WithLabelValues("send_message", "unresolved").Inc()
	default:
		f.m.unknown.WithLabelValues("send_message", "not_found").Inc()
	}
	return engagement.SentMessage{}, sendErr
}

// closeGone closes a conversation whose dialog AXP says is over, though it
// sent no event for it (an inactivity timer, an end on its side): the
// connector gets the CLOSE a close would bring, and the consumer's next
// CONVERSATION opens a new one.
func (f *Face) closeGone(ctx context.Context, conv *mapping.Conversation) {
	app, ok := f.tokens.App(conv.Owner.Account, conv.Owner.App)
	if !ok {
		return
	}
	now := f.now()
	_, err := mapping.Update(ctx, f.store, conv.ID, func(c *mapping.Conversation) ([]*mapping.OutboxItem, error) {
		if !c.Open() {
			return nil, mapping.ErrNoChange
		}
		return f.traced(ctx, f.closeItems(app, c, closeSystem, "the contact center ended the dialog", now, now)), nil
	})
	if err != nil {
		f.log.Warn("connectorapi: close a conversation AXP ended", "conversation", conv.ID, "err", err)
		return
	}
	f.cfg.Changed(conv.ID)
}

func closedError(reqID json.RawMessage, id string) *apiError {
	return &apiError{Status: 400, ErrorCode: 40000, Title: "Conversation closed", Field: "body.dialogId", ReqID: reqID,
		Details: fmt.Sprintf("conversation %s is closed; open a new one with CONVERSATION", id)}
}

// conversationField is one change of cm.UpdateConversationField.
type conversationField struct {
	Field                      string `json:"field"`
	ConversationState          string `json:"conversationState"`
	CSATRate                   *int   `json:"csatRate"`
	CSATResolutionConfirmation *bool  `json:"csatResolutionConfirmation"`
	Status                     string `json:"status"`
}

// updateField handles cm.UpdateConversationField: CSATRate (kept with the
// conversation and, while it lives, as session parameters) and
// ConversationStateField CLOSE (the dialog disconnected, the session ended
// when no open conversation is left). It returns the conversation acted
// on.
func (f *Face) updateField(ctx context.Context, owner mapping.ConsumerKey, env *envelope.Envelope) (*mapping.Conversation, any, error) {
	var b struct {
		ConversationID    string          `json:"conversationId"`
		DialogID          string          `json:"dialogId"`
		ConversationField json.RawMessage `json:"conversationField"`
	}
	if err := env.DecodeBody(&b); err != nil {
		return nil, nil, err
	}
	id := b.ConversationID
	if id == "" {
		id = b.DialogID
	}
	if id == "" {
		return nil, nil, missing(env.ID, "body.conversationId")
	}
	var fields []conversationField
	raw := strings.TrimSpace(string(b.ConversationField))
	switch {
	case raw == "" || raw == "null":
		return nil, nil, missing(env.ID, "body.conversationField")
	case raw[0] == '[': // the schema's form
		if err := json.Unmarshal(b.ConversationField, &fields); err != nil {
			return nil, nil, badRequest(env.ID, "body.conversationField", "conversationField: %v", err)
		}
	default: // the Connector API examples' form
		var one conversationField
		if err := json.Unmarshal(b.ConversationField, &one); err != nil {
			return nil, nil, badRequest(env.ID, "body.conversationField", "conversationField: %v", err)
		}
		fields = []conversationField{one}
	}
	if len(fields) == 0 {
		return nil, nil, missing(env.ID, "body.conversationField")
	}
	closing := false
	var csat *conversationField
	for i := range fields {
		fl := &fields[i]
		switch fl.Field {
		case "ConversationStateField":
			if fl.ConversationState != "CLOSE" {
				return nil, nil, badRequest(env.ID, "body.conversationField.conversationState", "conversationState %q: only CLOSE is supported", fl.ConversationState)
			}
			closing = true
		case "CSATRate":
			if fl.CSATRate == nil {
				return nil, nil, missing(env.ID, "body.conversationField.csatRate")
			}
			if *fl.CSATRate < 1 || *fl.CSATRate > 5 {
				return nil, nil, badRequest(env.ID, "body.conversationField.csatRate", "csatRate %d is not 1 to 5", *fl.CSATRate)
			}
			switch fl.Status {
			case "FILLED", "PARTIALLY_FILLED", "SKIPPED":
			default:
				return nil, nil, badRequest(env.ID, "body.conversationField.status", "status %q is not FILLED, PARTIALLY_FILLED or SKIPPED", fl.Status)
			}
			csat = fl
		case "":
			return nil, nil, missing(env.ID, "body.conversationField.field")
		default:
			return nil, nil, badRequest(env.ID, "body.conversationField.field", "field %q is not supported (ConversationStateField, CSATRate)", fl.Field)
		}
	}

	conv, err := f.ownedConversation(ctx, id, owner, env.ID, false)
	if err != nil {
		return nil, nil, err
	}
	if csat != nil {
		if err := f.recordCSAT(ctx, conv, csat); err != nil {
			return nil, nil, err
		}
	}
	if closing {
		if err := f.closeByConsumer(ctx, conv); err != nil {
			return nil, nil, err
		}
	}
	return conv, struct{}{}, nil
}

// recordCSAT keeps the rating with the conversation (durable, even after
// the session ended: connectors often rate after closing) and gives it to
// the live session as parameters.
func (f *Face) recordCSAT(ctx context.Context, conv *mapping.Conversation, c *conversationField) error {
	p := engagement.Parameters{
		"csatRate":           strconv.Itoa(*c.CSATRate),
		"csatStatus":         c.Status,
		"csatConversationId": conv.ID,
	}
	if c.CSATResolutionConfirmation != nil {
		p["csatResolutionConfirmation"] = strconv.FormatBool(*c.CSATResolutionConfirmation)
	}
	b, _ := json.Marshal(p)
	_, err := mapping.Update(ctx, f.store, conv.ID, func(c *mapping.Conversation) ([]*mapping.OutboxItem, error) {
		if c.Attrs == nil {
			c.Attrs = map[string]string{}
		}
		c.Attrs[attrCSAT] = string(b)
		return nil, nil
	})
	if err != nil {
		return fmt.Errorf("connectorapi: record csat: %w", err)
	}
	if _, err := f.backend.UpdateSessionParameters(ctx, conv.SessionID, p); err != nil && !sessionGone(err) {
		return fmt.Errorf("connectorapi: csat to session: %w", err)
	}
	return nil
}

// closeByConsumer disconnects the consumer from the dialog, records the
// close with its CLOSE notification, and ends the session when the
// consumer has no open conversation left. Closing twice is not an error.
// The disconnect comes first: AXP's PARTICIPANT_DISCONNECTED for it, if it
// is applied before this commit, closes the conversation the same way, and
// whichever commits second changes nothing.
func (f *Face) closeByConsumer(ctx context.Context, conv *mapping.Conversation) error {
	if !conv.Open() {
		return nil
	}
	_, err := f.backend.DisconnectEngagement(ctx, conv.EngagementID, &engagement.DisconnectEngagement{
		SessionID: conv.SessionID, DialogID: conv.DialogID, Reason: engagement.ReasonUserClosed,
	})
	if errors.Is(err, engagement.ErrOutcomeUnknown) {
		// A disconnect can be repeated: once more, and the dialog's end is
		// what it answers.
		_, err = f.backend.DisconnectEngagement(ctx, conv.EngagementID, &engagement.DisconnectEngagement{
			SessionID: conv.SessionID, DialogID: conv.DialogID, Reason: engagement.ReasonUserClosed,
		})
	}
	if err != nil && !dialogGone(err) {
		return fmt.Errorf("connectorapi: disconnect: %w", err)
	}
	app, ok := f.tokens.App(conv.Owner.Account, conv.Owner.App)
	now := f.now()
	closed, err := mapping.Update(ctx, f.store, conv.ID, func(c *mapping.Conversation) ([]*mapping.OutboxItem, error) {
		if !c.Open() {
			return nil, mapping.ErrNoChange
		}
		if !ok {
			c.State, c.CloseReason, c.ClosedAt = mapping.StateClosed, closeConsumer, now
			return nil, nil
		}
		return f.traced(ctx, f.closeItems(app, c, closeConsumer, "", now, now)), nil
	})
	if err != nil {
		return fmt.Errorf("connectorapi: record close: %w", err)
	}
	f.cfg.Changed(conv.ID)
	convs, err := f.store.Conversations(ctx, closed.Owner)
	if err != nil {
		f.log.Warn("connectorapi: cannot tell whether the session can end", "conversation", conv.ID, "err", err)
		return nil
	}
	for _, c := range convs {
		if c.Open() && c.SessionID == conv.SessionID {
			return nil
		}
	}
	// The close is done and durable; a session that fails to end now ends on
	// AXP's inactivity timer, so a failure is logged, not answered.
	if err := f.backend.DeleteSession(ctx, conv.SessionID, engagement.ReasonUserClosed); err != nil && !sessionGone(err) {
		f.log.Warn("connectorapi: end session", "session", conv.SessionID, "err", err)
		return nil
	}
	if err := f.store.DeleteSession(ctx, conv.Owner); err != nil {
		f.log.Warn("connectorapi: forget session", "session", conv.SessionID, "err", err)
	}
	return nil
}

// setProfile handles SetUserProfile sent alone: the consumer's session is
// updated, or created so that the next CONVERSATION uses it.
func (f *Face) setProfile(ctx context.Context, owner mapping.ConsumerKey, env *envelope.Envelope) (any, error) {
	prof, ae := parseProfile(env.Body)
	if ae != nil {
		ae.ReqID = env.ID
		return nil, ae
	}
	if err := f.withClaim(ctx, owner, func() error {
		_, _, err := f.ensureSession(ctx, owner, prof)
		return err
	}); err != nil {
		return nil, err
	}
	return map[string]string{"msg": "OK User Profile set successfully"}, nil
}

// withClaim runs fn holding the consumer's claim (waiting while another
// request has it), so that the consumer's session is made once across
// replicas.
func (f *Face) withClaim(ctx context.Context, owner mapping.ConsumerKey, fn func() error) error {
	holder := f.cfg.ReplicaID + "/" + uuid.NewString()
	for {
		_, won, err := f.store.Claim(ctx, owner, holder, mapping.NewConversationID(owner), claimTTL)
		if err != nil {
			return fmt.Errorf("connectorapi: claim consumer: %w", err)
		}
		if won {
			defer func() { _ = f.store.ReleaseClaim(context.WithoutCancel(ctx), owner, holder) }()
			return fn()
		}
		if err := sleepCtx(ctx, claimPoll); err != nil {
			return fmt.Errorf("connectorapi: waiting for the consumer's claim: %w", err)
		}
	}
}
