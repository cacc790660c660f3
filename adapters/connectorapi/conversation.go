package connectorapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/auth"
	"github.com/connector-proxy/connector-proxy/envelope"
	"github.com/connector-proxy/connector-proxy/mapping"
)

// Attrs keys a conversation keeps.
const (
	attrFeatures = "features"
	attrSkillID  = "skillId"
	attrAgents   = "agents" // JSON list of the contact-center participants present
	attrCSAT     = "csat"
)

// defaultDisplayName is the session's name when the profile gives none; the
// external consumer id is not used because it is often a phone number.
const defaultDisplayName = "Consumer"

func ownerOf(r route, who *caller) mapping.ConsumerKey {
	return mapping.ConsumerKey{Face: mapping.FaceConnectorAPI, Account: r.account, App: who.app.ClientID, Consumer: who.consumer.ConsumerID}
}

// serveConversation is CONVERSATION: [SetUserProfile, ConsumerRequestConversation].
func (f *Face) serveConversation(c context.Context, ctx *fasthttp.RequestCtx, r route) {
	who, err := f.authenticate(ctx, r.account)
	if err != nil {
		f.writeError(ctx, nil, err)
		return
	}
	envs, err := envelope.DecodeBatch(ctx.PostBody())
	if err != nil {
		f.writeError(ctx, nil, err)
		return
	}
	for i, e := range envs {
		switch e.Type {
		case typeSetUserProfile, typeRequestConversation:
		default:
			f.writeError(ctx, e.ID, badRequest(e.ID, fmt.Sprintf("[%d].type", i), "unknown request type %q in a CONVERSATION batch", e.Type))
			return
		}
	}
	if len(envs) != 2 || envs[0].Type != typeSetUserProfile || envs[1].Type != typeRequestConversation {
		f.writeError(ctx, envs[0].ID, badRequest(envs[0].ID, "", "a CONVERSATION batch is [%s, %s], in that order", typeSetUserProfile, typeRequestConversation))
		return
	}
	prof, ae := parseProfile(envs[0].Body)
	if ae != nil {
		ae.ReqID, ae.Field = envs[0].ID, "[0]."+ae.Field
		f.writeError(ctx, nil, ae)
		return
	}
	req, ae := parseRequestConversation(r.account, envs[1].Body)
	if ae != nil {
		ae.ReqID, ae.Field = envs[1].ID, "[1]."+ae.Field
		f.writeError(ctx, nil, ae)
		return
	}
	features := clientFeatures(ctx.Request.Header.Peek("Client-Properties"))

	owner := ownerOf(r, who)
	unlock := f.lock("consumer|" + owner.String())
	conv, err := f.openConversation(c, owner, prof, req, features)
	unlock()
	if err != nil {
		f.writeError(ctx, envs[1].ID, err)
		return
	}
	out, err := envelope.AppendBatch(nil, []envelope.Response{
		{ReqID: envs[0].ID, Code: 200, Body: map[string]string{"msg": "OK User Profile set successfully"}},
		{ReqID: envs[1].ID, Code: 200, Body: map[string]string{"conversationId": conv.ID}},
	})
	if err != nil {
		f.writeError(ctx, nil, err)
		return
	}
	writeJSON(ctx, 200, out)
}

// clientFeatures reads the Client-Properties header's features; a header
// that does not parse is ignored, as it only enables optional behaviour.
func clientFeatures(h []byte) []string {
	if len(h) == 0 {
		return nil
	}
	var cp struct {
		Features []string `json:"features"`
	}
	if json.Unmarshal(h, &cp) != nil {
		return nil
	}
	out := make([]string, 0, len(cp.Features))
	for _, s := range cp.Features {
		if s != "" && !strings.Contains(s, ",") && len(out) < 16 {
			out = append(out, s)
		}
	}
	return out
}

// openConversation returns the consumer's open conversation, or makes one:
// the session (reused or created), an engagement, and the mapping written
// before the client hears the id.
//
// A consumer who already has an open conversation gets that conversation's
// id again (LivePerson allows one open conversation per consumer and answers
// a second request with an error; a connector that lost track of its
// conversation recovers instead of being stuck). The profile is applied to
// the session either way.
func (f *Face) openConversation(ctx context.Context, owner mapping.ConsumerKey, prof *profile, req *conversationRequest, features []string) (*mapping.Conversation, error) {
	convs, err := f.store.Conversations(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("connectorapi: conversations of consumer: %w", err)
	}
	for i := len(convs) - 1; i >= 0; i-- {
		if convs[i].Open() {
			if !prof.empty() {
				if err := f.updateSession(ctx, convs[i].SessionID, prof); err != nil && !sessionGone(err) {
					return nil, err
				}
			}
			return convs[i], nil
		}
	}
	ref, fresh, err := f.ensureSession(ctx, owner, prof)
	if err != nil {
		return nil, err
	}
	in := &engagement.CreateEngagement{
		SessionID:            ref.SessionID,
		ChannelID:            engagement.ChannelChat,
		Conversation:         req.Conversation,
		EngagementParameters: nilIfEmpty(req.Params),
	}
	eng, err := f.backend.CreateEngagement(ctx, in)
	if err != nil && !fresh && sessionGone(err) {
		// The session ended on AXP's side (inactivity, an agent closing it):
		// make a new one and try once more.
		if err := f.store.DeleteSession(ctx, owner); err != nil {
			return nil, fmt.Errorf("connectorapi: forget ended session: %w", err)
		}
		if ref, _, err = f.ensureSession(ctx, owner, prof); err != nil {
			return nil, err
		}
		in.SessionID = ref.SessionID
		eng, err = f.backend.CreateEngagement(ctx, in)
	}
	if err != nil {
		return nil, fmt.Errorf("connectorapi: create engagement: %w", err)
	}
	if len(eng.Dialogs) == 0 {
		return nil, fmt.Errorf("connectorapi: engagement %s came back without a dialog", eng.EngagementID)
	}
	conv := &mapping.Conversation{
		ID:            uuid.NewString(),
		Owner:         owner,
		SessionID:     ref.SessionID,
		EngagementID:  eng.EngagementID,
		DialogID:      eng.Dialogs[0].DialogID,
		ParticipantID: ref.ParticipantID,
		State:         mapping.StateOpen,
		CreatedAt:     f.now(),
		Attrs:         map[string]string{},
	}
	if len(features) > 0 {
		conv.Attrs[attrFeatures] = strings.Join(features, ",")
	}
	if req.SkillID != "" {
		conv.Attrs[attrSkillID] = req.SkillID
	}
	if err := f.store.PutConversation(ctx, conv); err != nil {
		// The client never hears of this engagement: end it rather than
		// leave an agent waiting on a conversation nobody can reach.
		_, derr := f.backend.DisconnectEngagement(context.WithoutCancel(ctx), eng.EngagementID,
			&engagement.DisconnectEngagement{SessionID: ref.SessionID, DialogID: conv.DialogID, Reason: engagement.ReasonSystemClosed})
		return nil, errors.Join(fmt.Errorf("connectorapi: record conversation: %w", err), derr)
	}
	return conv, nil
}

// ensureSession returns the consumer's session, creating it when there is
// none; fresh says it was just created.
func (f *Face) ensureSession(ctx context.Context, owner mapping.ConsumerKey, prof *profile) (mapping.SessionRef, bool, error) {
	ref, err := f.store.Session(ctx, owner)
	switch {
	case err == nil:
		f.m.sessions.WithLabelValues("hit").Inc()
		if !prof.empty() {
			err := f.updateSession(ctx, ref.SessionID, prof)
			if err == nil {
				return ref, false, nil
			}
			if !sessionGone(err) {
				return ref, false, err
			}
			if err := f.store.DeleteSession(ctx, owner); err != nil {
				return ref, false, fmt.Errorf("connectorapi: forget ended session: %w", err)
			}
			break // ended: make a new one
		}
		return ref, false, nil
	case !errors.Is(err, mapping.ErrNotFound):
		return ref, false, fmt.Errorf("connectorapi: session of consumer: %w", err)
	}
	f.m.sessions.WithLabelValues("miss").Inc()
	ids := engagement.CustomerIdentifiers{f.cfg.CustomerIdentifier: {owner.Consumer}}
	if len(prof.Emails) > 0 {
		ids["emailAddresses"] = prof.Emails
	}
	if len(prof.Phones) > 0 {
		ids["phoneNumbers"] = prof.Phones
	}
	name := prof.DisplayName
	if name == "" {
		name = defaultDisplayName
	}
	sess, err := f.backend.CreateSession(ctx, &engagement.CreateSession{
		ChannelProviderID:   f.cfg.ChannelProviderID,
		CustomerIdentifiers: ids,
		DisplayName:         name,
		SessionParameters:   nilIfEmpty(prof.Params),
	})
	if err != nil {
		return ref, false, fmt.Errorf("connectorapi: create session: %w", err)
	}
	ref = mapping.SessionRef{SessionID: sess.SessionID, ParticipantID: sess.ParticipantID, DisplayName: name, CreatedAt: f.now()}
	if err := f.store.PutSession(ctx, owner, ref); err != nil {
		return ref, false, fmt.Errorf("connectorapi: record session: %w", err)
	}
	return ref, true, nil
}

// updateSession applies a profile to a live session: parameters replaced,
// emails and phones appended (v1beta cannot rename a session).
func (f *Face) updateSession(ctx context.Context, sessionID string, prof *profile) error {
	if len(prof.Params) > 0 {
		if _, err := f.backend.UpdateSessionParameters(ctx, sessionID, prof.Params); err != nil {
			return fmt.Errorf("connectorapi: update session: %w", err)
		}
	}
	ids := engagement.CustomerIdentifiers{}
	if len(prof.Emails) > 0 {
		ids["emailAddresses"] = prof.Emails
	}
	if len(prof.Phones) > 0 {
		ids["phoneNumbers"] = prof.Phones
	}
	if len(ids) > 0 {
		if _, err := f.backend.AppendIdentifiers(ctx, sessionID, ids); err != nil {
			return fmt.Errorf("connectorapi: append identifiers: %w", err)
		}
	}
	return nil
}

// sessionGone reports an AXP answer meaning the session no longer takes
// calls: 404, or 400 with a violation on sessionId (an ended session).
func sessionGone(err error) bool {
	var p *engagement.Problem
	if !errors.As(err, &p) {
		return false
	}
	return p.Status == 404 || (p.Status == 400 && p.Violation("sessionId") != nil)
}

// dialogGone reports an AXP answer meaning the dialog is already over.
func dialogGone(err error) bool {
	var p *engagement.Problem
	if !errors.As(err, &p) {
		return false
	}
	return p.Status == 404 || (p.Status == 400 && (p.Violation("dialogId") != nil || p.Violation("sessionId") != nil))
}

func nilIfEmpty(p engagement.Parameters) engagement.Parameters {
	if len(p) == 0 {
		return nil
	}
	return p
}

// ownedConversation loads a conversation and checks that the caller owns
// it; no backend call is made for anyone else's.
func (f *Face) ownedConversation(ctx context.Context, id string, owner mapping.ConsumerKey, reqID json.RawMessage) (*mapping.Conversation, error) {
	conv, err := f.store.Conversation(ctx, id)
	if errors.Is(err, mapping.ErrNotFound) {
		return nil, &apiError{Status: 404, ErrorCode: 40400, Title: "Not found", Details: fmt.Sprintf("conversation %q does not exist", id), ReqID: reqID}
	}
	if err != nil {
		return nil, fmt.Errorf("connectorapi: load conversation: %w", err)
	}
	if conv.Owner != owner {
		return nil, auth.NotOwner()
	}
	return conv, nil
}

// agents reads the contact-center participants recorded on a conversation.
func agents(conv *mapping.Conversation) []participant {
	var out []participant
	if s := conv.Attrs[attrAgents]; s != "" {
		_ = json.Unmarshal([]byte(s), &out) // written by setAgents only
	}
	return out
}

func setAgents(conv *mapping.Conversation, ps []participant) {
	if conv.Attrs == nil {
		conv.Attrs = map[string]string{}
	}
	if len(ps) == 0 {
		delete(conv.Attrs, attrAgents)
		return
	}
	b, _ := json.Marshal(ps)
	conv.Attrs[attrAgents] = string(b)
}

func withoutAgent(ps []participant, id string) []participant {
	return slices.DeleteFunc(slices.Clone(ps), func(p participant) bool { return p.ID == id })
}
