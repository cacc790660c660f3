package simulator

import (
	"net/http"
	"slices"

	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
)

// AgentJoin is the body of POST /sim/accounts/{a}/engagements/{id}:agentJoin.
type AgentJoin struct {
	DisplayName     string `json:"displayName,omitempty"`     // default "Agent"
	DialogID        string `json:"dialogId,omitempty"`        // default the newest open dialog
	ParticipantType string `json:"participantType,omitempty"` // AGENT (default), SUPERVISOR or BOT
}

// AgentMessage is the body of …:agentMessage.
type AgentMessage struct {
	Text            string                `json:"text"`
	TextFormat      string                `json:"textFormat,omitempty"`      // PLAINTEXT (default), HTML, MARKDOWN
	ParticipantType string                `json:"participantType,omitempty"` // AGENT (default), BOT, SUPERVISOR, SYSTEM
	DisplayName     string                `json:"displayName,omitempty"`     // for BOT/SYSTEM senders that did not join
	CustomData      engagement.Parameters `json:"customData,omitempty"`      // passed through as is, e.g. {"whisper":"true"}
	DialogID        string                `json:"dialogId,omitempty"`
}

// AgentLeave is the optional body of …:agentLeave.
type AgentLeave struct {
	DialogID      string `json:"dialogId,omitempty"`
	ParticipantID string `json:"participantId,omitempty"` // default every contact-center participant
}

// EndDialog is the optional body of …:endDialog.
type EndDialog struct {
	DialogID string `json:"dialogId,omitempty"` // default the newest open dialog
}

// EngagementError is the body of …:engagementError.
type EngagementError struct {
	Type     string `json:"type"` // e.g. ENGAGEMENT_CREATION_FAILED
	Title    string `json:"title"`
	Detail   string `json:"detail,omitempty"`
	DialogID string `json:"dialogId,omitempty"`
}

// serveSim serves the /sim agent API: no token, no faults.
func (s *Simulator) serveSim(ctx *fasthttp.RequestCtx, r route) {
	var m methods
	switch r.kind {
	case routeSimHealth:
		writeJSON(ctx, http.StatusOK, map[string]string{"status": "ok"})
		return
	case routeSimStats:
		m.get = func() *Problem { writeJSON(ctx, http.StatusOK, s.Stats()); return nil }
	case routeSimFaults:
		m = methods{get: func() *Problem { return s.listFaults(ctx) }, post: func() *Problem { return s.addFault(ctx) },
			delete: func() *Problem { return s.clearFaults(ctx) }}
	case routeSimAutoAgent:
		m = methods{get: func() *Problem { return s.getAutoAgent(ctx) }, put: func() *Problem { return s.putAutoAgent(ctx) }}
	case routeSimEngagements:
		m.get = func() *Problem { return s.simListEngagements(ctx, r.account) }
	case routeSimEngagementVerb:
		m.post = func() *Problem { return s.simVerb(ctx, r) }
	}
	if p := m.serve(ctx); p != nil {
		writeProblem(ctx, p)
	}
}

// simVerb serves POST …/engagements/{id}:{verb} of the agent API.
func (s *Simulator) simVerb(ctx *fasthttp.RequestCtx, r route) *Problem {
	var c checker
	if !isAccountID(r.account) {
		c.add("accountId", `must match "^[a-zA-Z]{6}$"`, codePattern)
	}
	c.uuid("engagementId", r.id)
	if p := c.problem(); p != nil {
		return p
	}
	switch r.verb {
	case "agentJoin":
		return agentVerb(ctx, decodeOptional, r.account, r.id, s.agentJoin)
	case "agentMessage":
		return agentVerb(ctx, decodeBody, r.account, r.id, s.agentMessage)
	case "agentLeave":
		return agentVerb(ctx, decodeOptional, r.account, r.id, s.agentLeave)
	case "endDialog":
		return agentVerb(ctx, decodeOptional, r.account, r.id, s.endDialog)
	default: // "engagementError": parseRoute admits no other verb
		return agentVerb(ctx, decodeBody, r.account, r.id, s.engagementError)
	}
}

// agentVerb serves one agent-side verb: decode the request, act, answer the
// result.
func agentVerb[Req, Out any](ctx *fasthttp.RequestCtx, decode func(*fasthttp.RequestCtx, any) *Problem, account, id string, act func(account, id string, req Req) (Out, *Problem)) *Problem {
	var req Req
	if p := decode(ctx, &req); p != nil {
		return p
	}
	out, p := act(account, id, req)
	if p != nil {
		return p
	}
	writeJSON(ctx, http.StatusOK, out)
	return nil
}

// decodeOptional decodes a body that may be absent.
func decodeOptional(ctx *fasthttp.RequestCtx, v any) *Problem {
	if len(ctx.PostBody()) == 0 {
		return nil
	}
	return decodeBody(ctx, v)
}

func (s *Simulator) simListEngagements(ctx *fasthttp.RequestCtx, account string) *Problem {
	if !isAccountID(account) {
		return violationProblem([]Violation{{Field: "accountId", Message: `must match "^[a-zA-Z]{6}$"`, Code: codePattern}})
	}
	s.mu.Lock()
	var list []*engagementState
	for _, e := range s.engagements {
		if e.account == account {
			list = append(list, e)
		}
	}
	slices.SortFunc(list, func(a, b *engagementState) int {
		return a.dialogs[0].d.CreatedAt.Compare(b.dialogs[0].d.CreatedAt.Time)
	})
	out := make([]engagement.Engagement, 0, len(list))
	for _, e := range list {
		out = append(out, e.snapshot(""))
	}
	s.mu.Unlock()
	writeJSON(ctx, http.StatusOK, out)
	return nil
}

// simDialog picks the dialog an agent action targets; the caller holds s.mu.
func (s *Simulator) simDialog(account, engID, dialogID string) (*engagementState, *dialogState, *Problem) {
	e := s.lookupEngagement(account, engID)
	if e == nil {
		return nil, nil, notFound("engagement", engID)
	}
	if dialogID != "" {
		d := e.dialog(dialogID)
		if d == nil {
			return nil, nil, notFound("dialog", dialogID)
		}
		if d.d.DialogStatus == engagement.DialogTerminated {
			return nil, nil, newProblem(http.StatusConflict, "dialog "+dialogID+" is TERMINATED")
		}
		return e, d, nil
	}
	d := e.newestOpen()
	if d == nil {
		return nil, nil, newProblem(http.StatusConflict, "engagement "+engID+" has no open dialog")
	}
	return e, d, nil
}

// agentJoin adds a contact-center participant to a dialog, makes the dialog
// ACTIVE and fires PARTICIPANT_ADDED.
func (s *Simulator) agentJoin(account, engID string, req AgentJoin) (engagement.Engagement, *Problem) {
	var c checker
	c.size("displayName", req.DisplayName, 0, 70)
	c.enum("participantType", req.ParticipantType, engagement.ParticipantAgent, engagement.ParticipantSupervisor, engagement.ParticipantBot)
	if req.DialogID != "" {
		c.uuid("dialogId", req.DialogID)
	}
	if p := c.problem(); p != nil {
		return engagement.Engagement{}, p
	}
	if req.DisplayName == "" {
		req.DisplayName = "Agent"
	}
	if req.ParticipantType == "" {
		req.ParticipantType = engagement.ParticipantAgent
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, d, p := s.simDialog(account, engID, req.DialogID)
	if p != nil {
		return engagement.Engagement{}, p
	}
	conn := engagement.Connection{
		ConnectionID:    uuid.NewString(),
		ParticipantID:   uuid.NewString(),
		ParticipantType: req.ParticipantType,
		DisplayName:     req.DisplayName,
		ConnectionState: engagement.Connected,
	}
	d.d.Connections = append(d.d.Connections, conn)
	d.d.DialogStatus = engagement.DialogActive
	d.d.LastUpdatedAt = s.now()
	s.emitParticipantLocked(engagement.EventParticipantAdded, uuid.NewString(), e, d, &conn, e.sessionID)
	return e.snapshot(""), nil
}

// agentMessage sends a contact-center message into a dialog and fires
// MESSAGES. AGENT and SUPERVISOR messages need a joined participant of that
// type; BOT and SYSTEM may speak without joining.
func (s *Simulator) agentMessage(account, engID string, req AgentMessage) (engagement.Message, *Problem) {
	var c checker
	c.requiredSize("text", req.Text, 1, 4096)
	c.enum("textFormat", req.TextFormat, engagement.TextPlain, engagement.TextHTML, engagement.TextMarkdown)
	c.enum("participantType", req.ParticipantType,
		engagement.ParticipantAgent, engagement.ParticipantBot, engagement.ParticipantSupervisor, engagement.ParticipantSystem)
	c.size("displayName", req.DisplayName, 0, 70)
	c.params("customData", req.CustomData, 20, 64, 256)
	if req.DialogID != "" {
		c.uuid("dialogId", req.DialogID)
	}
	if p := c.problem(); p != nil {
		return engagement.Message{}, p
	}
	if req.ParticipantType == "" {
		req.ParticipantType = engagement.ParticipantAgent
	}
	if req.TextFormat == "" {
		req.TextFormat = engagement.TextPlain
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, d, p := s.simDialog(account, engID, req.DialogID)
	if p != nil {
		return engagement.Message{}, p
	}
	if d.messageCount() >= s.cfg.MaxMessages {
		return engagement.Message{}, quota("too many messages in dialog " + d.d.DialogID)
	}
	var sender *engagement.Connection
	for i := len(d.d.Connections) - 1; i >= 0; i-- {
		cn := &d.d.Connections[i]
		if cn.ParticipantType == req.ParticipantType && cn.ConnectionState == engagement.Connected {
			sender = cn
			break
		}
	}
	senderID, name := "", req.DisplayName
	switch {
	case sender != nil:
		senderID = sender.ParticipantID
		if name == "" {
			name = sender.DisplayName
		}
	case req.ParticipantType == engagement.ParticipantBot || req.ParticipantType == engagement.ParticipantSystem:
		senderID = uuid.NewString()
		if name == "" {
			name = "Bot"
			if req.ParticipantType == engagement.ParticipantSystem {
				name = "System"
			}
		}
	default:
		return engagement.Message{}, newProblem(http.StatusConflict, "no "+req.ParticipantType+" has joined the dialog: call :agentJoin first")
	}
	m := engagement.Message{
		SessionID:             e.sessionID,
		SenderParticipantID:   senderID,
		SenderParticipantName: name,
		SenderParticipantType: req.ParticipantType,
		Body: engagement.Body{
			ElementType: "text",
			ElementText: &engagement.ElementText{Text: req.Text, TextFormat: req.TextFormat},
		},
		CustomData:    req.CustomData,
		CorrelationID: uuid.NewString(),
	}
	if p := s.appendMessageLocked(e, d, &m); p != nil {
		return engagement.Message{}, p
	}
	return m, nil
}

// agentLeave disconnects contact-center participants (each fires
// PARTICIPANT_DISCONNECTED) and ends the dialog.
func (s *Simulator) agentLeave(account, engID string, req AgentLeave) (engagement.Engagement, *Problem) {
	var c checker
	if req.DialogID != "" {
		c.uuid("dialogId", req.DialogID)
	}
	if p := c.problem(); p != nil {
		return engagement.Engagement{}, p
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, d, p := s.simDialog(account, engID, req.DialogID)
	if p != nil {
		return engagement.Engagement{}, p
	}
	var leaving []engagement.Connection
	for i := range d.d.Connections {
		cn := &d.d.Connections[i]
		if cn.ParticipantType == engagement.ParticipantCustomer || cn.ConnectionState != engagement.Connected ||
			req.ParticipantID != "" && cn.ParticipantID != req.ParticipantID {
			continue
		}
		cn.ConnectionState = engagement.Disconnected
		leaving = append(leaving, *cn)
	}
	if len(leaving) == 0 {
		return engagement.Engagement{}, newProblem(http.StatusConflict, "no contact-center participant is connected to dialog "+d.d.DialogID)
	}
	corr := uuid.NewString()
	for i := range leaving {
		s.emitParticipantLocked(engagement.EventParticipantDisconnected, corr, e, d, &leaving[i], e.sessionID)
	}
	s.terminateDialogLocked(d)
	return e.snapshot(""), nil
}

// endDialog ends a dialog the way AXP sometimes does on its own (an
// inactivity timer, an end on its side) and sends no event at all: a
// client learns it only from its next call on the dialog.
func (s *Simulator) endDialog(account, engID string, req EndDialog) (engagement.Engagement, *Problem) {
	var c checker
	if req.DialogID != "" {
		c.uuid("dialogId", req.DialogID)
	}
	if p := c.problem(); p != nil {
		return engagement.Engagement{}, p
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, d, p := s.simDialog(account, engID, req.DialogID)
	if p != nil {
		return engagement.Engagement{}, p
	}
	s.terminateDialogLocked(d)
	return e.snapshot(""), nil
}

// engagementError fires ENGAGEMENT_ERROR for a dialog (so that faces can test
// the no-agent path). The dialog's state is left as it is: the client is
// expected to disconnect, as it would on AXP.
func (s *Simulator) engagementError(account, engID string, req EngagementError) (engagement.EngagementErrorEvent, *Problem) {
	var c checker
	c.requiredSize("type", req.Type, 1, 256)
	c.requiredSize("title", req.Title, 1, 256)
	c.size("detail", req.Detail, 0, 1024)
	if req.DialogID != "" {
		c.uuid("dialogId", req.DialogID)
	}
	if p := c.problem(); p != nil {
		return engagement.EngagementErrorEvent{}, p
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, d, p := s.simDialog(account, engID, req.DialogID)
	if p != nil {
		return engagement.EngagementErrorEvent{}, p
	}
	ev := engagement.EngagementErrorEvent{
		EventHeader:       engagement.EventHeader{EventType: engagement.EventEngagementError, CorrelationID: uuid.NewString(), EventDate: s.now()},
		Type:              req.Type,
		Title:             req.Title,
		Detail:            req.Detail,
		EngagementID:      e.id,
		DialogID:          d.d.DialogID,
		SessionID:         e.sessionID,
		ProviderDialogID:  d.d.ProviderDialogID,
		ChannelProviderID: e.channelProviderID,
		AccountID:         account,
		ChannelID:         d.d.ChannelID,
	}
	s.emitLocked(account, e.channelProviderID, engagement.EventEngagementError, "", ev)
	return ev, nil
}

// AgentJoin is the Go form of …:agentJoin; an error is a *Problem.
func (s *Simulator) AgentJoin(account, engagementID string, req AgentJoin) (engagement.Engagement, error) {
	out, p := s.agentJoin(account, engagementID, req)
	return out, asError(p)
}

// AgentMessage is the Go form of …:agentMessage; an error is a *Problem.
func (s *Simulator) AgentMessage(account, engagementID string, req AgentMessage) (engagement.Message, error) {
	out, p := s.agentMessage(account, engagementID, req)
	return out, asError(p)
}

// EndDialog is the Go form of …:endDialog; an error is a *Problem.
func (s *Simulator) EndDialog(account, engagementID string, req EndDialog) (engagement.Engagement, error) {
	out, p := s.endDialog(account, engagementID, req)
	return out, asError(p)
}

// AgentLeave is the Go form of …:agentLeave; an error is a *Problem.
func (s *Simulator) AgentLeave(account, engagementID string, req AgentLeave) (engagement.Engagement, error) {
	out, p := s.agentLeave(account, engagementID, req)
	return out, asError(p)
}

// EngagementError is the Go form of …:engagementError; an error is a *Problem.
func (s *Simulator) EngagementError(account, engagementID string, req EngagementError) (engagement.EngagementErrorEvent, error) {
	out, p := s.engagementError(account, engagementID, req)
	return out, asError(p)
}

// asError returns p as an error: nil stays an untyped nil, so that callers'
// err != nil checks hold.
func asError(p *Problem) error {
	if p == nil {
		return nil
	}
	return p
}
