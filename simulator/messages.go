package simulator

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
)

// sendRequest is SendMessage with body as a pointer, so that a missing body
// is told apart from an empty one.
type sendRequest struct {
	engagement.SendMessage
	Body *engagement.Body `json:"body"`
}

func checkBody(c *checker, b *engagement.Body) {
	if !c.notNull("body", b != nil) {
		return
	}
	c.requiredSize("body.elementType", b.ElementType, 1, 50)
	if b.ElementType == "text" {
		c.notNull("body.elementText", b.ElementText != nil)
	}
	if b.ElementText != nil {
		c.requiredSize("body.elementText.text", b.ElementText.Text, 1, 4096)
		c.enum("body.elementText.textFormat", b.ElementText.TextFormat, engagement.TextPlain, engagement.TextHTML, engagement.TextMarkdown)
	}
	c.size("body.payload", b.Payload, 0, 4096)
}

func checkHeaders(c *checker, h *engagement.MessageHeaders) {
	if h == nil {
		return
	}
	for _, f := range []struct {
		name string
		v    string
		max  int
	}{
		{"headers.priority", h.Priority, 256}, {"headers.sensitivity", h.Sensitivity, 256},
		{"headers.encoding", h.Encoding, 32}, {"headers.subject", h.Subject, 256},
		{"headers.from", h.From, 256}, {"headers.replyTo", h.ReplyTo, 256},
		{"headers.clientDeviceTag", h.ClientDeviceTag, 256}, {"headers.messageSourceServerTag", h.MessageSourceServerTag, 256},
	} {
		c.size(f.name, f.v, 0, f.max)
	}
	for _, l := range []struct {
		name string
		v    []string
	}{{"headers.to", h.To}, {"headers.cc", h.Cc}, {"headers.bcc", h.Bcc}} {
		if len(l.v) > 20 {
			c.add(l.name, "size must be between 0 and 20", codeSize)
		}
		for i, v := range l.v {
			c.size(l.name+"["+strconv.Itoa(i)+"]", v, 0, 256)
		}
	}
	c.params("headers.additionalHeaders", h.AdditionalHeaders, 10, 64, 256)
}

// sendMessage is POST /engagements/{id}/messages: a customer message.
func (s *Simulator) sendMessage(ctx *fasthttp.RequestCtx, account, id string) *Problem {
	var req sendRequest
	if p := decodeBody(ctx, &req); p != nil {
		return p
	}
	var c checker
	c.dialogIDs(id, req.SessionID, req.DialogID)
	checkBody(&c, req.Body)
	c.size("fallbackText", req.FallbackText, 0, 256)
	checkHeaders(&c, req.Headers)
	c.params("customData", req.CustomData, 20, 64, 256)
	c.size("senderParticipantName", req.SenderParticipantName, 0, 70)
	c.size("parentMessageId", req.ParentMessageID, 0, 256)
	c.size("providerSenderId", req.ProviderSenderID, 0, 256)
	c.size("providerMessageId", req.ProviderMessageID, 0, 256)
	c.size("providerParentMessageId", req.ProviderParentMessageID, 0, 256)
	c.size("correlationId", req.CorrelationID, 0, 256)
	if p := c.problem(); p != nil {
		return p
	}
	body := *req.Body
	if body.ElementText != nil && body.ElementText.TextFormat == "" {
		et := *body.ElementText
		et.TextFormat = engagement.TextPlain
		body.ElementText = &et
	}

	s.mu.Lock()
	e, d, ss, p := s.dialogTarget(account, id, req.DialogID, req.SessionID)
	var cc *engagement.Connection
	if p == nil {
		cc = customerConn(d, ss.sess.SessionID)
	}
	switch {
	case p != nil:
	case cc == nil:
		p = stateProblem("sessionId", "session is not a participant of the dialog")
	case ss.sess.SessionStatus == engagement.SessionTerminated:
		p = stateProblem("sessionId", "session is TERMINATED")
	case d.d.DialogStatus == engagement.DialogTerminated:
		p = stateProblem("dialogId", "dialog is TERMINATED")
	case cc.ConnectionState != engagement.Connected:
		p = stateProblem("sessionId", "session is DISCONNECTED from the dialog")
	case d.messageCount() >= s.cfg.MaxMessages:
		p = quota("too many messages in dialog " + d.d.DialogID)
	}
	if p != nil {
		s.mu.Unlock()
		return p
	}
	name := req.SenderParticipantName
	if name == "" {
		name = ss.sess.DisplayName
	}
	senderID := req.ProviderSenderID
	if senderID == "" {
		senderID = ss.sess.ProviderCustomerID
	}
	m := engagement.Message{
		SessionID:               ss.sess.SessionID,
		SenderParticipantID:     cc.ParticipantID,
		SenderParticipantName:   name,
		SenderParticipantType:   engagement.ParticipantCustomer,
		Body:                    body,
		FallbackText:            req.FallbackText,
		Headers:                 req.Headers,
		CustomData:              req.CustomData,
		ParentMessageID:         req.ParentMessageID,
		ProviderSenderID:        senderID,
		ProviderMessageID:       req.ProviderMessageID,
		ProviderParentMessageID: req.ProviderParentMessageID,
		CorrelationID:           orNewID(req.CorrelationID),
	}
	if p := s.appendMessageLocked(e, d, &m); p != nil {
		s.mu.Unlock()
		return p
	}
	s.mu.Unlock()

	if s.autoAgent.Load() {
		s.scheduleReply(account, e.id, d.d.DialogID, m.Text())
	}
	writeJSON(ctx, http.StatusAccepted, m)
	return nil
}

// appendMessageLocked completes a message whose sender, body and
// correlationId the caller has filled in: the ids of its dialog, a new
// messageId, the next messageIndex, the connected participants on the other
// side as recipients and the time. It stores the message and fires MESSAGES.
// The stored copy reads DELIVERED (AXP's lists show that); m, the 202 and the
// webhook carry SENT. It changes nothing when the message cannot be stored.
func (s *Simulator) appendMessageLocked(e *engagementState, d *dialogState, m *engagement.Message) *Problem {
	now := s.now()
	m.MessageID = timeID()
	m.AccountID = e.account
	m.EngagementID = e.id
	m.DialogID = d.d.DialogID
	m.ChannelProviderID = e.channelProviderID
	m.ChannelID = d.d.ChannelID
	m.ProviderDialogID = d.d.ProviderDialogID
	m.Status = engagement.MessageSent
	m.MessageIndex = d.messageCount() + 1
	m.RecipientParticipants = s.recipientsLocked(d, e.channelProviderID, m.SenderParticipantType != engagement.ParticipantCustomer)
	m.ReceivedAt, m.LastUpdatedAt = &now, &now
	stored := *m
	stored.Status = engagement.MessageDelivered
	raw, err := json.Marshal(&stored)
	if err != nil {
		return newProblem(http.StatusInternalServerError, "")
	}
	d.storeMessage(raw)
	s.emitLocked(e.account, e.channelProviderID, engagement.EventMessages, m.SenderParticipantType, messageEvent{
		EventType: engagement.EventMessages,
		EventDate: *m.LastUpdatedAt,
		Message:   *m,
	})
	return nil
}

// recipientsLocked lists the connected participants a message reaches: the
// customers for a contact-center message, the contact center for a customer's.
func (s *Simulator) recipientsLocked(d *dialogState, cpid string, toCustomers bool) []engagement.Participant {
	var out []engagement.Participant
	for _, c := range d.d.Connections {
		if c.ConnectionState != engagement.Connected {
			continue
		}
		isCustomer := c.ParticipantType == engagement.ParticipantCustomer
		if isCustomer != toCustomers {
			continue
		}
		p := engagement.Participant{
			ParticipantID:     c.ParticipantID,
			ParticipantType:   c.ParticipantType,
			DisplayName:       c.DisplayName,
			ConnectionID:      c.ConnectionID,
			ChannelProviderID: cpid,
		}
		if isCustomer && len(c.SessionIDs) > 0 {
			if ss := s.sessions[c.SessionIDs[0]]; ss != nil {
				p.ProviderParticipantID = ss.sess.ProviderCustomerID
			}
		}
		out = append(out, p)
	}
	return out
}

// listMessages is GET /engagements/{id}/messages?dialogId=&sessionId=&pageSize=&pageNumber=.
func (s *Simulator) listMessages(ctx *fasthttp.RequestCtx, account, id string) *Problem {
	q := ctx.QueryArgs()
	dialogID, sessionID := string(q.Peek("dialogId")), string(q.Peek("sessionId"))
	var c checker
	c.uuid("engagementId", id)
	c.uuid("dialogId", dialogID)
	c.uuid("sessionId", sessionID)
	pageSize := intArg(&c, "pageSize", string(q.Peek("pageSize")), 10, 1, 50)
	pageNumber := intArg(&c, "pageNumber", string(q.Peek("pageNumber")), 1, 1, 1<<31-1)
	if p := c.problem(); p != nil {
		return p
	}
	s.mu.Lock()
	_, d, ss, p := s.dialogTarget(account, id, dialogID, sessionID)
	if p == nil && customerConn(d, ss.sess.SessionID) == nil {
		p = stateProblem("sessionId", "session is not a participant of the dialog")
	}
	if p != nil {
		s.mu.Unlock()
		return p
	}
	total := d.messageCount()
	start := min((pageNumber-1)*pageSize, total)
	if pageNumber-1 > total/pageSize { // guards the multiplication above against overflow
		start = total
	}
	end := min(start+pageSize, total)
	stored := make([][]byte, end-start)
	for i := range stored {
		stored[i] = d.message(start + i)
	}
	s.mu.Unlock()
	page := make([]engagement.Message, len(stored))
	for i, raw := range stored {
		if err := json.Unmarshal(raw, &page[i]); err != nil {
			return newProblem(http.StatusInternalServerError, "")
		}
	}

	link := func(n int) string {
		return engagementURL(account, id) + "/messages?sessionId=" + sessionID + "&dialogId=" + dialogID +
			"&pageSize=" + strconv.Itoa(pageSize) + "&pageNumber=" + strconv.Itoa(n)
	}
	out := engagement.Messages{
		Pagination: engagement.Pagination{PageNumber: pageNumber, PageSize: pageSize, Total: total},
		Messages:   page,
	}
	if pageNumber > 1 {
		out.Links.Prev = link(pageNumber - 1)
	}
	if end < total {
		out.Links.Next = link(pageNumber + 1)
	}
	writeJSON(ctx, http.StatusOK, out)
	return nil
}

// intArg parses an optional integer query parameter within [lo, hi].
func intArg(c *checker, field, v string, def, lo, hi int) int {
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		c.add(field, "must be an integer between "+strconv.Itoa(lo)+" and "+strconv.Itoa(hi), codeSize)
		return def
	}
	return n
}
