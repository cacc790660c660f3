package connectorapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

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
	attrDeparted = "departed" // participants seen leaving, comma-separated
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

	owner := ownerOf(r, &who)
	conv, err := f.openConversation(c, owner, prof, req, features)
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

// featureCache keeps what Client-Properties headers say, by the header's
// bytes: a connector sends the same header on every request, so it is read
// once. A client sending ever new headers only refills it.
type featureCache struct {
	mu sync.RWMutex
	m  map[string]string // header → its features joined by ","
}

// maxFeatureHeaders bounds featureCache.
const maxFeatureHeaders = 256

// of returns the header's features joined by ",", "" for none.
func (c *featureCache) of(h []byte) string {
	if len(h) == 0 {
		return ""
	}
	c.mu.RLock()
	joined, ok := c.m[string(h)]
	c.mu.RUnlock()
	if ok {
		return joined
	}
	joined = strings.Join(clientFeatures(h), ",")
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxFeatureHeaders {
		c.m = make(map[string]string)
	}
	c.m[string(h)] = joined
	c.mu.Unlock()
	return joined
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

// claimTTL is how long a claim on a consumer lasts: longer than opening a
// conversation takes (two AXP calls and the wait for an unanswered one).
const claimTTL = 30 * time.Second

// claimPoll is how often a request waiting on another's claim looks.
const claimPoll = 20 * time.Millisecond

// openConversation returns the consumer's open conversation, or makes one:
// the session (reused or created), an engagement, and the conversation
// written before the client hears its id.
//
// A consumer who already has an open conversation gets that conversation's
// id again (LivePerson allows one open conversation per consumer and answers
// a second request with an error; a connector that lost track of its
// conversation recovers instead of being stuck). The profile is applied to
// the session either way.
//
// One conversation per consumer holds across replicas: the request that
// takes the consumer's claim opens it; others wait for the conversation the
// claim names. No lock is held while AXP is called.
func (f *Face) openConversation(ctx context.Context, owner mapping.ConsumerKey, prof *profile, req *conversationRequest, features []string) (*mapping.Conversation, error) {
	holder := f.cfg.ReplicaID + "/" + uuid.NewString()
	for {
		convs, err := f.store.Conversations(ctx, owner)
		if err != nil {
			return nil, fmt.Errorf("connectorapi: conversations of consumer: %w", err)
		}
		if open := newestOpen(convs); open != nil {
			if !prof.empty() {
				if err := f.updateSession(ctx, open.SessionID, prof); err != nil && !sessionGone(err) {
					return nil, err
				}
			}
			return open, nil
		}
		proposed := mapping.NewConversationID(owner)
		claim, won, err := f.store.Claim(ctx, owner, holder, proposed, claimTTL)
		if err != nil {
			return nil, fmt.Errorf("connectorapi: claim consumer: %w", err)
		}
		if won {
			// One that held the claim before may have written its
			// conversation after the read above: read again, holding it.
			if convs, err = f.store.Conversations(ctx, owner); err != nil {
				_ = f.store.ReleaseClaim(context.WithoutCancel(ctx), owner, holder)
				return nil, fmt.Errorf("connectorapi: conversations of consumer: %w", err)
			}
			if open := newestOpen(convs); open != nil {
				_ = f.store.ReleaseClaim(context.WithoutCancel(ctx), owner, holder)
				continue
			}
			return f.openClaimed(ctx, owner, claim, claim.Conversation != proposed, prof, req, features)
		}
		// Another request is opening it: its conversation, once written,
		// is the open one the next round finds.
		if err := sleepCtx(ctx, claimPoll); err != nil {
			return nil, fmt.Errorf("connectorapi: waiting for the consumer's conversation: %w", err)
		}
	}
}

func newestOpen(convs []*mapping.Conversation) *mapping.Conversation {
	for i := len(convs) - 1; i >= 0; i-- {
		if convs[i].Open() {
			return convs[i]
		}
	}
	return nil
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

// openClaimed opens the conversation the claim names. The dialog is made
// with the conversation's id as its providerDialogId, so that when AXP does
// not answer the create, or when a claim is taken over from a request that
// died, the dialog is found at AXP instead of being made twice.
func (f *Face) openClaimed(ctx context.Context, owner mapping.ConsumerKey, claim mapping.Claim, takenOver bool, prof *profile, req *conversationRequest, features []string) (conv *mapping.Conversation, err error) {
	keepClaim := false
	defer func() {
		if err == nil {
			return
		}
		bg := context.WithoutCancel(ctx)
		if keepClaim {
			// AXP may make the dialog yet: the claim ends now but keeps its
			// conversation id, so that the next request looks for that
			// dialog at AXP before it makes one.
			_, _, _ = f.store.Claim(bg, owner, claim.Holder, claim.Conversation, time.Millisecond)
			return
		}
		_ = f.store.ReleaseClaim(bg, owner, claim.Holder) // nothing was made
	}()
	ref, fresh, err := f.ensureSession(ctx, owner, prof)
	if err != nil {
		return nil, err
	}
	in := &engagement.CreateEngagement{
		SessionID:            ref.SessionID,
		ChannelID:            engagement.ChannelChat,
		Conversation:         req.Conversation,
		ProviderDialogID:     claim.Conversation,
		EngagementParameters: nilIfEmpty(req.Params),
	}
	var (
		eng    *engagement.Engagement
		dialog *engagement.Dialog
	)
	if takenOver && !fresh {
		// The claim's first holder may have made the dialog, or AXP may
		// make it yet: until the unconfirmed window has passed, making
		// another could leave two.
		eng, dialog, err = f.backend.FindDialog(ctx, ref.SessionID, claim.Conversation)
		if err != nil && !sessionGone(err) {
			return nil, fmt.Errorf("connectorapi: look for the dialog: %w", err)
		}
		if dialog == nil && err == nil && f.now().Before(claim.Since.Add(f.cfg.UnconfirmedWindow)) {
			keepClaim = true
			return nil, unconfirmed("the conversation", errors.New("an earlier request's create may still land"))
		}
	}
	if dialog == nil {
		eng, err = f.createEngagement(ctx, in)
		if err != nil && !fresh && sessionGone(err) {
			// The session ended on AXP's side (inactivity, an agent closing
			// it): make a new one and try once more.
			if err := f.store.DeleteSession(ctx, owner); err != nil {
				return nil, fmt.Errorf("connectorapi: forget ended session: %w", err)
			}
			if ref, _, err = f.ensureSession(ctx, owner, prof); err != nil {
				return nil, err
			}
			in.SessionID = ref.SessionID
			eng, err = f.createEngagement(ctx, in)
		}
		if errors.Is(err, engagement.ErrOutcomeUnknown) {
			// AXP may make it yet: the claim stays, so that a retry looks
			// for it again instead of making another.
			keepClaim = true
			return nil, unconfirmed("the conversation", err)
		}
		if err != nil {
			return nil, fmt.Errorf("connectorapi: create engagement: %w", err)
		}
		if len(eng.Dialogs) == 0 {
			return nil, fmt.Errorf("connectorapi: engagement %s came back without a dialog", eng.EngagementID)
		}
		dialog = &eng.Dialogs[0]
	}
	conv = &mapping.Conversation{
		ID:            claim.Conversation,
		Owner:         owner,
		SessionID:     ref.SessionID,
		EngagementID:  eng.EngagementID,
		DialogID:      dialog.DialogID,
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
	if err := f.store.Commit(ctx, &mapping.Change{Conv: conv, Release: &claim}); err != nil {
		// The client never hears of this engagement: end it rather than
		// leave an agent waiting on a conversation nobody can reach.
		_, derr := f.backend.DisconnectEngagement(context.WithoutCancel(ctx), eng.EngagementID,
			&engagement.DisconnectEngagement{SessionID: ref.SessionID, DialogID: conv.DialogID, Reason: engagement.ReasonSystemClosed})
		return nil, errors.Join(fmt.Errorf("connectorapi: record conversation: %w", err), derr)
	}
	f.cfg.Changed(conv.ID) // events that overtook this answer may apply now
	return conv, nil
}

// createEngagement makes the dialog; when AXP does not answer, it looks for
// it (by providerDialogId) for up to SettleTimeout before saying the
// outcome is unknown.
func (f *Face) createEngagement(ctx context.Context, in *engagement.CreateEngagement) (*engagement.Engagement, error) {
	eng, err := f.backend.CreateEngagement(ctx, in)
	if !errors.Is(err, engagement.ErrOutcomeUnknown) {
		return eng, err
	}
	var found *engagement.Engagement
	ok, ferr := engagement.Await(ctx, f.cfg.SettleTimeout, func(ctx context.Context) (bool, error) {
		e, d, err := f.backend.FindDialog(ctx, in.SessionID, in.ProviderDialogID)
		if d != nil {
			cp := *e
			cp.Dialogs = []engagement.Dialog{*d}
			found = &cp
		}
		return d != nil, err
	})
	switch {
	case ok:
		f.m.unknown.WithLabelValues("create_engagement", "landed").Inc()
		return found, nil
	case ferr != nil:
		f.m.unknown.WithLabelValues("create_engagement", "unresolved").Inc()
		return nil, err
	}
	f.m.unknown.WithLabelValues("create_engagement", "not_found").Inc()
	return nil, err
}

// unconfirmed is the answer to a write AXP did not confirm and that was not
// found either: retrying the same request is safe.
func unconfirmed(what string, cause error) *apiError {
	return &apiError{Status: 503, ErrorCode: 50301, Title: "Service unavailable",
		Details: "the contact center did not confirm " + what + " and it is not there yet; send the same request again: it will not be applied twice",
		cause:   cause}
}

// ensureSession returns the consumer's session, creating it when there is
// none; fresh says it was just created. Callers hold the consumer's claim.
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
// it; no backend call is made for anyone else's. With readOnly, the
// conversation may be the cache's own (shared: the caller must not change
// it), not a copy.
func (f *Face) ownedConversation(ctx context.Context, id string, owner mapping.ConsumerKey, reqID json.RawMessage, readOnly bool) (*mapping.Conversation, error) {
	var conv *mapping.Conversation
	var err error
	if readOnly && f.views != nil {
		conv, err = f.views.ConversationView(ctx, id)
	} else {
		conv, err = f.store.Conversation(ctx, id)
	}
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

func sameParticipants(a, b []participant) bool {
	return slices.Equal(a, b)
}

// maxDeparted bounds the departures a conversation remembers.
const maxDeparted = 32

// departed reports whether the participant was seen leaving.
func departed(conv *mapping.Conversation, id string) bool {
	return slices.Contains(strings.Split(conv.Attrs[attrDeparted], ","), id)
}

// markDeparted remembers that the participant left, so that a join of
// theirs that arrives later is not taken.
func markDeparted(conv *mapping.Conversation, id string) {
	if id == "" || departed(conv, id) {
		return
	}
	ids := strings.Split(conv.Attrs[attrDeparted], ",")
	if ids[0] == "" {
		ids = ids[:0]
	}
	ids = append(ids, id)
	if len(ids) > maxDeparted {
		ids = ids[len(ids)-maxDeparted:]
	}
	if conv.Attrs == nil {
		conv.Attrs = map[string]string{}
	}
	conv.Attrs[attrDeparted] = strings.Join(ids, ",")
}

// hadAgents reports whether a contact-center participant was ever seen.
func hadAgents(conv *mapping.Conversation) bool {
	return conv.Attrs[attrAgents] != "" || conv.Attrs[attrDeparted] != ""
}
