package simulator

import (
	"net/http"
	"slices"

	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
)

// sessionState is a session. Its maps are replaced, never mutated, so a copy
// of sess can be encoded outside the lock.
type sessionState struct {
	sess          engagement.Session // without participantId and correlationId (create-only fields)
	participantID string
	engagements   []string // engagements this session created or joined
}

func sessionURL(account, id string) string { return channelBase + account + "/sessions/" + id }

// lookupSession finds an account's session; the caller holds s.mu.
func (s *Simulator) lookupSession(account, id string) *sessionState {
	ss := s.sessions[id]
	if ss == nil || ss.sess.AccountID != account {
		return nil
	}
	return ss
}

func (s *Simulator) createSession(ctx *fasthttp.RequestCtx, account string) *Problem {
	var req engagement.CreateSession
	if p := decodeBody(ctx, &req); p != nil {
		return p
	}
	var c checker
	c.requiredSize("channelProviderId", req.ChannelProviderID, 3, 256)
	if c.notNull("customerIdentifiers", req.CustomerIdentifiers != nil) {
		c.identifiers("customerIdentifiers", req.CustomerIdentifiers)
	}
	c.size("displayName", req.DisplayName, 0, 70)
	c.params("sessionParameters", req.SessionParameters, 20, 64, 256)
	c.size("providerCustomerId", req.ProviderCustomerID, 0, 256)
	c.size("correlationId", req.CorrelationID, 0, 256)
	if p := c.problem(); p != nil {
		return p
	}
	now := s.now()
	id := timeID()
	ss := &sessionState{
		sess: engagement.Session{
			SessionID:           id,
			AccountID:           account,
			ChannelProviderID:   req.ChannelProviderID,
			DisplayName:         req.DisplayName,
			CustomerIdentifiers: req.CustomerIdentifiers,
			SessionParameters:   req.SessionParameters,
			SessionStatus:       engagement.SessionActive,
			ProviderCustomerID:  req.ProviderCustomerID,
			CreatedAt:           now,
			LastUpdatedAt:       now,
			URL:                 sessionURL(account, id),
		},
		participantID: uuid.NewString(),
	}
	s.mu.Lock()
	if len(s.sessions) >= s.cfg.MaxSessions && !s.evictEndedLocked() {
		s.mu.Unlock()
		return quota("too many active sessions")
	}
	s.sessions[id] = ss
	out := ss.sess
	s.mu.Unlock()

	out.ParticipantID = ss.participantID
	out.CorrelationID = orNewID(req.CorrelationID)
	writeJSON(ctx, http.StatusCreated, out)
	return nil
}

// evictEndedLocked forgets the oldest ended session and the engagements it
// started, making room for a new one.
func (s *Simulator) evictEndedLocked() bool {
	for len(s.ended) > 0 {
		id := s.ended[0]
		s.ended = s.ended[1:]
		ss := s.sessions[id]
		if ss == nil {
			continue
		}
		delete(s.sessions, id)
		for _, eid := range ss.engagements {
			if e := s.engagements[eid]; e != nil && e.sessionID == id {
				delete(s.engagements, eid)
			}
		}
		return true
	}
	return false
}

func (s *Simulator) getSession(ctx *fasthttp.RequestCtx, account, id string) *Problem {
	var c checker
	if !c.uuid("sessionId", id) {
		return c.problem()
	}
	s.mu.Lock()
	ss := s.lookupSession(account, id)
	var out engagement.Session
	if ss != nil {
		out = ss.sess
	}
	s.mu.Unlock()
	if ss == nil {
		return notFound("session", id)
	}
	writeJSON(ctx, http.StatusOK, out)
	return nil
}

// deleteSession ends a session (DELETE …/sessions/{id}?reason=). reason is
// declared required with a default of USER_CLOSED; a missing one takes the
// default because real clients omit it. Ending an ended session is a no-op 204.
func (s *Simulator) deleteSession(ctx *fasthttp.RequestCtx, account, id string) *Problem {
	var c checker
	c.uuid("sessionId", id)
	reason := string(ctx.QueryArgs().Peek("reason"))
	c.enum("reason", reason, reasons()...)
	if p := c.problem(); p != nil {
		return p
	}
	if reason == "" {
		reason = engagement.ReasonUserClosed
	}
	s.mu.Lock()
	ss := s.lookupSession(account, id)
	if ss == nil {
		s.mu.Unlock()
		return notFound("session", id)
	}
	if ss.sess.SessionStatus != engagement.SessionTerminated {
		s.endSessionLocked(ss)
	}
	s.mu.Unlock()
	ctx.SetStatusCode(http.StatusNoContent)
	return nil
}

// reasons are the values of a session end or disconnect reason.
func reasons() []string {
	return []string{engagement.ReasonUserClosed, engagement.ReasonUserInactive, engagement.ReasonSystemClosed, engagement.ReasonUnknown}
}

// endSessionLocked terminates the session and disconnects it from every open
// dialog, ending the dialogs it leaves without a customer.
func (s *Simulator) endSessionLocked(ss *sessionState) {
	now := s.now()
	ss.sess.SessionStatus = engagement.SessionTerminated
	ss.sess.LastUpdatedAt = now
	s.ended = append(s.ended, ss.sess.SessionID)
	for _, eid := range ss.engagements {
		e := s.engagements[eid]
		if e == nil {
			continue
		}
		for _, d := range e.dialogs {
			if d.d.DialogStatus != engagement.DialogTerminated {
				s.disconnectCustomerLocked(e, d, ss)
			}
		}
	}
}

func (s *Simulator) sessionVerb(ctx *fasthttp.RequestCtx, account, id, verb string) *Problem {
	var c checker
	if !c.uuid("sessionId", id) {
		return c.problem()
	}
	var ids engagement.CustomerIdentifiers
	var params engagement.Parameters
	if verb == "appendIdentifiers" {
		if p := decodeBody(ctx, &ids); p != nil {
			return p
		}
		c.identifiers("customerIdentifiers", ids)
	} else {
		if p := decodeBody(ctx, &params); p != nil {
			return p
		}
		c.params("sessionParameters", params, 20, 64, 256)
	}
	if p := c.problem(); p != nil {
		return p
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.lookupSession(account, id)
	if ss == nil {
		return notFound("session", id)
	}
	if ss.sess.SessionStatus == engagement.SessionTerminated {
		return stateProblem("sessionId", "session is TERMINATED")
	}
	if verb == "appendIdentifiers" {
		merged := make(engagement.CustomerIdentifiers, len(ss.sess.CustomerIdentifiers)+len(ids))
		for k, v := range ss.sess.CustomerIdentifiers {
			merged[k] = v
		}
		for k, vals := range ids {
			cur := slices.Clone(merged[k])
			for _, v := range vals {
				if !slices.Contains(cur, v) {
					cur = append(cur, v)
				}
			}
			merged[k] = cur
		}
		c.identifiers("customerIdentifiers", merged)
		if p := c.problem(); p != nil {
			return p
		}
		ss.sess.CustomerIdentifiers = merged
	} else {
		merged := make(engagement.Parameters, len(ss.sess.SessionParameters)+len(params))
		for k, v := range ss.sess.SessionParameters {
			merged[k] = v
		}
		for k, v := range params {
			merged[k] = v
		}
		c.params("sessionParameters", merged, 20, 64, 256)
		if p := c.problem(); p != nil {
			return p
		}
		ss.sess.SessionParameters = merged
	}
	ss.sess.LastUpdatedAt = s.now()
	writeJSON(ctx, http.StatusOK, ss.sess)
	return nil
}

// orNewID returns id, or a fresh UUID when the client sent none (AXP
// generates correlationIds the same way).
func orNewID(id string) string {
	if id == "" {
		return uuid.NewString()
	}
	return id
}
