package simulator

import (
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
)

// engagementState is an engagement and its dialogs.
type engagementState struct {
	id, account       string
	conversation      string
	channelProviderID string // from the creating session
	sessionID         string // the creating session
	dialogs           []*dialogState
}

// dialogState is a dialog with its messages. Messages are never changed once
// appended, so they can be read outside the lock.
type dialogState struct {
	d engagement.Dialog
	// The stored messages, each as its JSON, one after the other in
	// stored; ends[i] is where message i ends. A load test leaves hundreds
	// of thousands: as structs (a dozen strings, a body, recipients,
	// times), and still as a []byte each, every GC cycle marked them all,
	// a core for a hundred milliseconds and more, which the simulator's
	// answers then waited for. Two arrays of no pointers are two objects.
	stored []byte
	ends   []int
}

// messageCount is how many messages the dialog holds.
func (d *dialogState) messageCount() int { return len(d.ends) }

// storeMessage appends a message's JSON.
func (d *dialogState) storeMessage(raw []byte) {
	d.stored = append(d.stored, raw...)
	d.ends = append(d.ends, len(d.stored))
}

// message is message i's JSON. Its bytes are never written again (an
// append writes past them), so it may be read after the lock.
func (d *dialogState) message(i int) []byte {
	from := 0
	if i > 0 {
		from = d.ends[i-1]
	}
	return d.stored[from:d.ends[i]:d.ends[i]]
}

func engagementURL(account, id string) string { return channelBase + account + "/engagements/" + id }

// snapshot copies the engagement for encoding outside the lock. With first
// set, that dialog is put first (the create answer: clients read dialogs[0]).
func (e *engagementState) snapshot(first string) engagement.Engagement {
	out := engagement.Engagement{
		EngagementID: e.id,
		AccountID:    e.account,
		Conversation: e.conversation,
		URL:          engagementURL(e.account, e.id),
		Dialogs:      make([]engagement.Dialog, 0, len(e.dialogs)),
	}
	for _, d := range e.dialogs {
		if d.d.DialogID == first {
			out.Dialogs = append(out.Dialogs, d.copy())
		}
	}
	for _, d := range e.dialogs {
		if d.d.DialogID != first {
			out.Dialogs = append(out.Dialogs, d.copy())
		}
	}
	return out
}

func (d *dialogState) copy() engagement.Dialog {
	c := d.d
	c.Connections = slices.Clone(d.d.Connections)
	return c
}

func (e *engagementState) dialog(id string) *dialogState {
	for _, d := range e.dialogs {
		if d.d.DialogID == id {
			return d
		}
	}
	return nil
}

// newestOpen is the most recent dialog that is not TERMINATED.
func (e *engagementState) newestOpen() *dialogState {
	for i := len(e.dialogs) - 1; i >= 0; i-- {
		if e.dialogs[i].d.DialogStatus != engagement.DialogTerminated {
			return e.dialogs[i]
		}
	}
	return nil
}

func (s *Simulator) lookupEngagement(account, id string) *engagementState {
	e := s.engagements[id]
	if e == nil || e.account != account {
		return nil
	}
	return e
}

func (s *Simulator) createEngagement(ctx *fasthttp.RequestCtx, account string) *Problem {
	var req engagement.CreateEngagement
	if p := decodeBody(ctx, &req); p != nil {
		return p
	}
	var c checker
	c.uuid("sessionId", req.SessionID)
	if c.notNull("channelId", req.ChannelID != "") {
		c.size("channelId", req.ChannelID, 3, 50)
		// Real clients send "Chat" and "chat": matched without case.
		if !strings.EqualFold(req.ChannelID, engagement.ChannelChat) {
			c.add("channelId", "Only valid Contact Center Channel Id's are accepted", codeEnum)
		}
	}
	c.size("conversation", req.Conversation, 0, 256)
	c.size("providerDialogId", req.ProviderDialogID, 0, 256)
	c.params("engagementParameters", req.EngagementParameters, 20, 64, 256)
	c.size("correlationId", req.CorrelationID, 0, 256)
	if p := c.problem(); p != nil {
		return p
	}
	corr := orNewID(req.CorrelationID)

	s.mu.Lock()
	ss := s.lookupSession(account, req.SessionID)
	if ss == nil {
		s.mu.Unlock()
		return notFound("session", req.SessionID)
	}
	if ss.sess.SessionStatus == engagement.SessionTerminated {
		s.mu.Unlock()
		return stateProblem("sessionId", "session is TERMINATED")
	}
	// "If an engagement already exists for the customer then a new dialog
	// will be created for the existing engagement."
	var e *engagementState
	for _, eid := range ss.engagements {
		if e = s.lookupEngagement(account, eid); e != nil {
			break
		}
	}
	if e == nil {
		e = &engagementState{
			id:                timeID(),
			account:           account,
			conversation:      req.Conversation,
			channelProviderID: ss.sess.ChannelProviderID,
			sessionID:         ss.sess.SessionID,
		}
		s.engagements[e.id] = e
		ss.engagements = append(ss.engagements, e.id)
	} else if len(e.dialogs) >= s.cfg.MaxDialogs {
		s.mu.Unlock()
		return quota("too many dialogs in engagement " + e.id)
	}
	now := s.now()
	d := &dialogState{d: engagement.Dialog{
		DialogID:               timeID(),
		ChannelID:              engagement.ChannelChat,
		DialogStatus:           engagement.DialogPending,
		ProviderDialogID:       req.ProviderDialogID,
		InitiatorParticipantID: ss.participantID,
		Connections:            []engagement.Connection{customerConnection(ss)},
		EngagementParameters:   req.EngagementParameters,
		CreatedAt:              now,
		LastUpdatedAt:          now,
	}}
	e.dialogs = append(e.dialogs, d)
	s.emitLocked(account, e.channelProviderID, engagement.EventEngagementCreated, "", engagement.EngagementCreatedEvent{
		EventHeader:            engagement.EventHeader{EventType: engagement.EventEngagementCreated, CorrelationID: corr, EventDate: now},
		EngagementID:           e.id,
		DialogID:               d.d.DialogID,
		AccountID:              account,
		Conversation:           e.conversation,
		ChannelProviderID:      e.channelProviderID,
		InitiatorParticipantID: ss.participantID,
		SessionID:              ss.sess.SessionID,
		CustomerIdentifiers:    ss.sess.CustomerIdentifiers,
		EngagementParameters:   req.EngagementParameters,
		ProviderDialogID:       req.ProviderDialogID,
	})
	out := e.snapshot(d.d.DialogID)
	s.mu.Unlock()

	if s.autoAgent.Load() {
		s.scheduleJoin(account, e.id, d.d.DialogID)
	}
	out.CorrelationID = corr
	writeJSON(ctx, http.StatusCreated, out)
	return nil
}

func customerConnection(ss *sessionState) engagement.Connection {
	return engagement.Connection{
		ConnectionID:    uuid.NewString(),
		ParticipantID:   ss.participantID,
		ParticipantType: engagement.ParticipantCustomer,
		DisplayName:     ss.sess.DisplayName,
		SessionIDs:      []string{ss.sess.SessionID},
		ConnectionState: engagement.Connected,
	}
}

// listEngagements is GET /engagements?sessionId= (sessionId is required).
func (s *Simulator) listEngagements(ctx *fasthttp.RequestCtx, account string) *Problem {
	sid := string(ctx.QueryArgs().Peek("sessionId"))
	var c checker
	if !c.uuid("sessionId", sid) {
		return c.problem()
	}
	s.mu.Lock()
	ss := s.lookupSession(account, sid)
	if ss == nil {
		s.mu.Unlock()
		return notFound("session", sid)
	}
	out := make([]engagement.Engagement, 0, len(ss.engagements))
	for _, eid := range ss.engagements {
		if e := s.lookupEngagement(account, eid); e != nil {
			out = append(out, e.snapshot(""))
		}
	}
	s.mu.Unlock()
	writeJSON(ctx, http.StatusOK, out)
	return nil
}

func (s *Simulator) getEngagement(ctx *fasthttp.RequestCtx, account, id string) *Problem {
	var c checker
	if !c.uuid("engagementId", id) {
		return c.problem()
	}
	s.mu.Lock()
	e := s.lookupEngagement(account, id)
	var out engagement.Engagement
	if e != nil {
		out = e.snapshot("")
	}
	s.mu.Unlock()
	if e == nil {
		return notFound("engagement", id)
	}
	writeJSON(ctx, http.StatusOK, out)
	return nil
}

// dialogTarget resolves engagement, dialog and session of a request; the
// caller holds s.mu.
func (s *Simulator) dialogTarget(account, engID, dialogID, sessionID string) (*engagementState, *dialogState, *sessionState, *Problem) {
	e := s.lookupEngagement(account, engID)
	if e == nil {
		return nil, nil, nil, notFound("engagement", engID)
	}
	d := e.dialog(dialogID)
	if d == nil {
		return nil, nil, nil, notFound("dialog", dialogID)
	}
	ss := s.lookupSession(account, sessionID)
	if ss == nil {
		return nil, nil, nil, notFound("session", sessionID)
	}
	return e, d, ss, nil
}

// customerConn is the session's connection to the dialog, or nil.
func customerConn(d *dialogState, sessionID string) *engagement.Connection {
	for i := range d.d.Connections {
		c := &d.d.Connections[i]
		if c.ParticipantType == engagement.ParticipantCustomer && slices.Contains(c.SessionIDs, sessionID) {
			return c
		}
	}
	return nil
}

// joinEngagement attaches another customer session (a second device) to an
// open dialog.
func (s *Simulator) joinEngagement(ctx *fasthttp.RequestCtx, account, id string) *Problem {
	var req engagement.JoinEngagement
	if p := decodeBody(ctx, &req); p != nil {
		return p
	}
	var c checker
	c.dialogIDs(id, req.SessionID, req.DialogID)
	c.size("correlationId", req.CorrelationID, 0, 256)
	if p := c.problem(); p != nil {
		return p
	}
	corr := orNewID(req.CorrelationID)
	s.mu.Lock()
	e, d, ss, p := s.dialogTarget(account, id, req.DialogID, req.SessionID)
	switch {
	case p != nil:
	case ss.sess.SessionStatus == engagement.SessionTerminated:
		p = stateProblem("sessionId", "session is TERMINATED")
	case d.d.DialogStatus == engagement.DialogTerminated:
		p = stateProblem("dialogId", "dialog is TERMINATED")
	}
	if p != nil {
		s.mu.Unlock()
		return p
	}
	if cc := customerConn(d, ss.sess.SessionID); cc == nil || cc.ConnectionState != engagement.Connected {
		conn := customerConnection(ss)
		d.d.Connections = append(d.d.Connections, conn)
		d.d.LastUpdatedAt = s.now()
		if !slices.Contains(ss.engagements, e.id) {
			ss.engagements = append(ss.engagements, e.id)
		}
		s.emitParticipantLocked(engagement.EventParticipantAdded, corr, e, d, &conn, ss.sess.SessionID)
	}
	out := e.snapshot("")
	s.mu.Unlock()
	out.CorrelationID = corr
	writeJSON(ctx, http.StatusOK, out)
	return nil
}

// disconnectEngagement disconnects the customer session from a dialog; the
// dialog is TERMINATED once no customer is left. Disconnecting twice is a
// no-op that answers the same echo.
func (s *Simulator) disconnectEngagement(ctx *fasthttp.RequestCtx, account, id string) *Problem {
	var req engagement.DisconnectEngagement
	if p := decodeBody(ctx, &req); p != nil {
		return p
	}
	var c checker
	c.dialogIDs(id, req.SessionID, req.DialogID)
	c.enum("reason", req.Reason, reasons()...)
	c.size("correlationId", req.CorrelationID, 0, 256)
	if p := c.problem(); p != nil {
		return p
	}
	req.CorrelationID = orNewID(req.CorrelationID)
	s.mu.Lock()
	e, d, ss, p := s.dialogTarget(account, id, req.DialogID, req.SessionID)
	if p == nil && customerConn(d, ss.sess.SessionID) == nil {
		p = stateProblem("sessionId", "session is not a participant of the dialog")
	}
	if p != nil {
		s.mu.Unlock()
		return p
	}
	s.disconnectCustomerLocked(e, d, ss)
	s.mu.Unlock()
	writeJSON(ctx, http.StatusOK, req)
	return nil
}

// disconnectCustomerLocked disconnects the session's connection from the
// dialog (PARTICIPANT_DISCONNECTED) and ends the dialog when no customer is
// left in it.
func (s *Simulator) disconnectCustomerLocked(e *engagementState, d *dialogState, ss *sessionState) {
	cc := customerConn(d, ss.sess.SessionID)
	if cc == nil || cc.ConnectionState != engagement.Connected {
		return
	}
	cc.ConnectionState = engagement.Disconnected
	d.d.LastUpdatedAt = s.now()
	conn := *cc
	s.emitParticipantLocked(engagement.EventParticipantDisconnected, uuid.NewString(), e, d, &conn, ss.sess.SessionID)
	for _, c := range d.d.Connections {
		if c.ParticipantType == engagement.ParticipantCustomer && c.ConnectionState == engagement.Connected {
			return
		}
	}
	s.terminateDialogLocked(d)
}

// terminateDialogLocked ends a dialog: every connection is DISCONNECTED.
func (s *Simulator) terminateDialogLocked(d *dialogState) {
	d.d.DialogStatus = engagement.DialogTerminated
	for i := range d.d.Connections {
		d.d.Connections[i].ConnectionState = engagement.Disconnected
	}
	d.d.LastUpdatedAt = s.now()
}

// emitParticipantLocked fires PARTICIPANT_ADDED or PARTICIPANT_DISCONNECTED.
func (s *Simulator) emitParticipantLocked(typ, corr string, e *engagementState, d *dialogState, conn *engagement.Connection, sessionID string) {
	var providerPID string
	if conn.ParticipantType == engagement.ParticipantCustomer {
		if ss := s.sessions[sessionID]; ss != nil {
			providerPID = ss.sess.ProviderCustomerID
		}
	}
	s.emitLocked(e.account, e.channelProviderID, typ, "", engagement.ParticipantEvent{
		EventHeader:           engagement.EventHeader{EventType: typ, CorrelationID: corr, EventDate: s.now()},
		EngagementID:          e.id,
		DialogID:              d.d.DialogID,
		AccountID:             e.account,
		ChannelID:             d.d.ChannelID,
		ChannelProviderID:     e.channelProviderID,
		SessionID:             sessionID,
		ConnectionID:          conn.ConnectionID,
		ParticipantID:         conn.ParticipantID,
		DisplayName:           conn.DisplayName,
		ParticipantType:       conn.ParticipantType,
		ProviderDialogID:      d.d.ProviderDialogID,
		ProviderParticipantID: providerPID,
	})
}
