package customerchannel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/mapping"
	"github.com/connector-proxy/connector-proxy/telemetry"
	"github.com/google/uuid"
	"github.com/valyala/fasthttp"
)

// Customer identifier names sessions are created with (Customer Journey
// must have them configured).
const (
	IdentifierEmail = "emailAddresses"
	IdentifierPhone = "phoneNumbers"
	IdentifierRefID = "refIds"
)

// maxInitBody bounds an init request body.
const maxInitBody = 64 << 10

// httpFail is an HTTP call's failure as the client is told it.
type httpFail struct {
	status    int
	code, msg string
	// field names the request field at fault, when one is.
	field string
	// retryAfter, in seconds, is sent as Retry-After when positive.
	retryAfter int
	err        error
}

func (e *httpFail) Error() string {
	return fmt.Sprintf("%d %s: %s: %v", e.status, e.code, e.msg, e.err)
}
func (e *httpFail) Unwrap() error { return e.err }

// upstreamFail maps an AXP or store error onto the face's answer, by the
// classification every face shares (failures.go).
func upstreamFail(what string, err error) *httpFail { return httpFailure(what, err) }

func badRequest(format string, args ...any) *httpFail {
	return &httpFail{status: fasthttp.StatusBadRequest, code: "BAD_REQUEST", msg: fmt.Sprintf(format, args...)}
}

func writeError(ctx *fasthttp.RequestCtx, status int, code, msg string) {
	writeJSON(ctx, status, HTTPError{Status: status, Code: code, Message: msg})
}

func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = fasthttp.StatusInternalServerError, []byte(`{"status":500,"code":"INTERNAL","message":"encode answer"}`)
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

func (f *Face) handleInit(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	if f.cfg.InitLimit != nil {
		if wait := f.cfg.InitLimit(ctx); wait > 0 {
			f.rateLimited(ctx, false, wait)
			f.m.initDone(ctx.Response.StatusCode())
			return
		}
	}
	var req InitRequest
	body := ctx.PostBody()
	var res *InitResponse
	ferr := func() *httpFail {
		if len(body) > maxInitBody {
			return badRequest("the body is over %d bytes", maxInitBody)
		}
		if err := decodeInit(body, &req); err != nil {
			return err
		}
		// The request's own context is the server's; a face-scoped one is
		// used so nothing outlives the handler through it.
		cctx, cancel := context.WithTimeout(telemetry.RequestContext(f.ctx, ctx), f.cfg.Timeout)
		defer cancel()
		var err *httpFail
		res, err = f.initConversation(cctx, &req)
		return err
	}()
	if ferr != nil {
		if ferr.status >= 500 {
			f.log.Warn("customerchannel: init failed", "error", ferr)
		}
		writeFail(ctx, ferr)
	} else {
		writeJSON(ctx, fasthttp.StatusOK, res)
	}
	f.m.initDone(ctx.Response.StatusCode())
	f.m.InitSeconds.Observe(time.Since(start).Seconds())
}

// initConversation validates an init request, makes (or reuses) the AXP
// session and a new engagement, and writes the conversation before it is
// answered.
func (f *Face) initConversation(ctx context.Context, req *InitRequest) (*InitResponse, *httpFail) {
	trim(&req.FirstName, &req.LastName, &req.Email, &req.Phone, &req.Channel, &req.RefID, &req.Language, &req.URL, &req.Subject, &req.RequestID, &req.ReqestID)
	if req.RequestID == "" {
		req.RequestID = req.ReqestID
	}
	if req.Channel == "" {
		return nil, badRequest("channel is required")
	}
	if req.Email == "" && req.Phone == "" && req.RefID == "" {
		return nil, badRequest("at least one identifier (email, phone, refId) is required")
	}
	if req.Email != "" {
		a, err := mail.ParseAddress(req.Email)
		if err != nil || a.Name != "" {
			return nil, badRequest("email %q is not an address", req.Email)
		}
		req.Email = a.Address
	}
	refID := firstNonEmpty(req.RefID, req.Phone, req.Email)
	name := strings.TrimSpace(req.FirstName + " " + req.LastName)
	if name == "" {
		name = refID
	}
	key := consumerKey(req.Channel, refID)
	conv, ferr := f.openConversation(ctx, key, req, refID, name)
	if ferr != nil {
		return nil, ferr
	}
	return &InitResponse{
		ConversationID: conv.ID,
		Participant:    customerOf(conv),
		RequestID:      req.RequestID,
		Timestamp:      stamp(conv.CreatedAt),
	}, nil
}

// claimTTL is how long a claim on a customer lasts: longer than an init
// takes (two AXP calls and the wait for an unanswered one).
const claimTTL = 30 * time.Second

// openConversation makes the customer's conversation. An init that repeats
// the requestId of the customer's open conversation is a retry and gets
// that conversation. Inits of one customer that overlap, on any replica,
// make one conversation: the one that takes the customer's claim makes it,
// the others wait for it. No lock is held while AXP is called.
func (f *Face) openConversation(ctx context.Context, key mapping.ConsumerKey, req *InitRequest, refID, name string) (*mapping.Conversation, *httpFail) {
	holder := f.cfg.ReplicaID + "/" + uuid.NewString()
	var waited *mapping.Claim
	for {
		convs, err := f.store.Conversations(ctx, key)
		if err != nil {
			return nil, upstreamFail("look up the customer's conversations", err)
		}
		for i := len(convs) - 1; i >= 0; i-- {
			c := convs[i]
			if !c.Open() {
				continue
			}
			if (req.RequestID != "" && c.Attrs[attrRequestID] == req.RequestID) || (waited != nil && c.ID == waited.Conversation) {
				return c, nil
			}
		}
		proposed := mapping.NewConversationID(key)
		claim, won, err := f.store.Claim(ctx, key, holder, proposed, claimTTL)
		if err != nil {
			return nil, upstreamFail("claim the customer", err)
		}
		if won {
			// One that held the claim before may have written its
			// conversation after the read above: read again, holding it.
			again, err := f.store.Conversations(ctx, key)
			if err != nil {
				_ = f.store.ReleaseClaim(context.WithoutCancel(ctx), key, holder)
				return nil, upstreamFail("look up the customer's conversations", err)
			}
			if made := madeMeanwhile(convs, again); made != nil {
				// An overlapping init made it: this one gets it too.
				_ = f.store.ReleaseClaim(context.WithoutCancel(ctx), key, holder)
				return made, nil
			}
			return f.openClaimed(ctx, key, claim, claim.Conversation != proposed, req, refID, name)
		}
		waited = &claim
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return nil, upstreamFail("wait for the customer's conversation", err)
		}
	}
}

// madeMeanwhile is the newest open conversation of after that before did
// not have.
func madeMeanwhile(before, after []*mapping.Conversation) *mapping.Conversation {
	for i := len(after) - 1; i >= 0; i-- {
		c := after[i]
		if c.Open() && !slices.ContainsFunc(before, func(b *mapping.Conversation) bool { return b.ID == c.ID }) {
			return c
		}
	}
	return nil
}

// openClaimed makes the conversation the claim names: the session (reused
// or created) and a dialog whose providerDialogId is the conversation's
// id, so that a create AXP did not answer, or one begun by a request that
// died, is found at AXP instead of made twice.
func (f *Face) openClaimed(ctx context.Context, key mapping.ConsumerKey, claim mapping.Claim, takenOver bool, req *InitRequest, refID, name string) (conv *mapping.Conversation, ferr *httpFail) {
	keepClaim := false
	defer func() {
		if ferr == nil {
			return
		}
		bg := context.WithoutCancel(ctx)
		if keepClaim {
			// The dialog may appear yet: the claim ends but keeps its id,
			// so that the next init looks for that dialog first.
			_, _, _ = f.store.Claim(bg, key, claim.Holder, claim.Conversation, time.Millisecond)
			return
		}
		_ = f.store.ReleaseClaim(bg, key, claim.Holder)
	}()
	create := &engagement.CreateEngagement{
		ChannelID:            engagement.ChannelChat,
		Conversation:         truncate(req.Subject, 256),
		EngagementParameters: engagementParameters(req, refID),
		CorrelationID:        truncate(req.RequestID, 256),
		ProviderDialogID:     claim.Conversation,
	}
	ref, reused, err := f.session(ctx, key, req, name)
	if err != nil {
		return nil, err
	}
	create.SessionID = ref.SessionID
	var (
		eng    *engagement.Engagement
		dialog *engagement.Dialog
		cerr   error
	)
	if takenOver && reused {
		// The claim's first holder may have made the dialog, or AXP may
		// make it yet: until the unconfirmed window has passed, making
		// another could leave two.
		eng, dialog, cerr = f.backend.FindDialog(ctx, ref.SessionID, claim.Conversation)
		if dialog == nil && cerr == nil && f.now().Before(claim.Since.Add(f.cfg.UnconfirmedWindow)) {
			keepClaim = true
			return nil, unconfirmedInit(errors.New("an earlier init's create may still land"))
		}
	}
	if dialog == nil {
		eng, cerr = f.createEngagement(ctx, create)
		var p *engagement.Problem
		if cerr != nil && reused && errors.As(cerr, &p) && (p.Status == 404 || p.Status == 409 || p.Status == 410 || p.Status == 400 && p.Violation("sessionId") != nil) {
			// The remembered session ended at AXP: start a new one.
			if ref, _, err = f.newSession(ctx, key, req, name); err != nil {
				return nil, err
			}
			create.SessionID = ref.SessionID
			eng, cerr = f.createEngagement(ctx, create)
		}
		if errors.Is(cerr, engagement.ErrOutcomeUnknown) {
			keepClaim = true
			return nil, unconfirmedInit(cerr)
		}
		if cerr == nil && len(eng.Dialogs) == 0 {
			cerr = fmt.Errorf("engagement %s has no dialog", eng.EngagementID)
		}
		if cerr == nil {
			dialog = &eng.Dialogs[0]
		}
	}
	if cerr != nil {
		return nil, upstreamFail("create the engagement", cerr)
	}
	now := f.now()
	conv = &mapping.Conversation{
		ID:            claim.Conversation,
		Owner:         key,
		SessionID:     ref.SessionID,
		EngagementID:  eng.EngagementID,
		DialogID:      dialog.DialogID,
		ParticipantID: ref.ParticipantID,
		Channel:       req.Channel,
		RefID:         refID,
		State:         mapping.StateOpen,
		CreatedAt:     now,
		Attrs: map[string]string{
			// Random, unguessable: it is what proves the right to join.
			attrParticipant: uuid.NewString(),
			attrName:        name,
			// Its messages are recorded from now on (record.go).
			attrRecord: recordComplete,
		},
	}
	setAttr(conv.Attrs, attrEmail, req.Email)
	setAttr(conv.Attrs, attrPhone, req.Phone)
	setAttr(conv.Attrs, attrSubject, req.Subject)
	setAttr(conv.Attrs, attrLanguage, req.Language)
	setAttr(conv.Attrs, attrRequestID, req.RequestID)
	if err := f.store.Commit(ctx, &mapping.Change{Conv: conv, Release: &claim}); err != nil {
		// Nobody can reach this engagement now: end it rather than leave an
		// agent waiting on it.
		_, derr := f.backend.DisconnectEngagement(context.WithoutCancel(ctx), eng.EngagementID, &engagement.DisconnectEngagement{
			SessionID: ref.SessionID, DialogID: conv.DialogID, Reason: engagement.ReasonSystemClosed,
		})
		return nil, upstreamFail("store the conversation", errors.Join(err, derr))
	}
	f.cfg.Changed(conv.ID)
	return conv, nil
}

// unconfirmedInit is the answer to an init whose dialog AXP did not
// confirm and that is not there yet: the same init again is safe.
func unconfirmedInit(cause error) *httpFail {
	return &httpFail{status: fasthttp.StatusServiceUnavailable, code: "UNCONFIRMED", err: cause,
		msg: "the contact center did not confirm the conversation and it is not there yet; send the same init again (same requestId): it will not be made twice"}
}

// createEngagement makes the dialog; when AXP does not answer, it looks for
// it (by providerDialogId) for up to SettleTimeout before saying that the
// outcome is unknown.
func (f *Face) createEngagement(ctx context.Context, in *engagement.CreateEngagement) (*engagement.Engagement, error) {
	eng, err := f.backend.CreateEngagement(ctx, in)
	if !errors.Is(err, engagement.ErrOutcomeUnknown) {
		return eng, err
	}
	var found *engagement.Engagement
	ok, _ := engagement.Await(ctx, f.cfg.SettleTimeout, func(ctx context.Context) (bool, error) {
		e, d, err := f.backend.FindDialog(ctx, in.SessionID, in.ProviderDialogID)
		if d != nil {
			cp := *e
			cp.Dialogs = []engagement.Dialog{*d}
			found = &cp
		}
		return d != nil, err
	})
	if ok {
		return found, nil
	}
	return nil, err
}

// session returns the customer's remembered session, or a new one.
func (f *Face) session(ctx context.Context, key mapping.ConsumerKey, req *InitRequest, name string) (mapping.SessionRef, bool, *httpFail) {
	ref, err := f.store.Session(ctx, key)
	switch {
	case err == nil && ref.SessionID != "":
		return ref, true, nil
	case err != nil && !errors.Is(err, mapping.ErrNotFound):
		return ref, false, upstreamFail("look up the session", err)
	}
	return f.newSession(ctx, key, req, name)
}

func (f *Face) newSession(ctx context.Context, key mapping.ConsumerKey, req *InitRequest, name string) (mapping.SessionRef, bool, *httpFail) {
	ids := engagement.CustomerIdentifiers{}
	if req.Email != "" {
		ids[IdentifierEmail] = []string{truncate(req.Email, 256)}
	}
	if req.Phone != "" {
		ids[IdentifierPhone] = []string{truncate(req.Phone, 256)}
	}
	if req.RefID != "" && req.RefID != req.Phone && req.RefID != req.Email {
		ids[IdentifierRefID] = []string{truncate(req.RefID, 256)}
	}
	s, err := f.backend.CreateSession(ctx, &engagement.CreateSession{
		ChannelProviderID:   f.cfg.ChannelProviderID,
		CustomerIdentifiers: ids,
		DisplayName:         truncate(name, 70),
	})
	if err != nil {
		return mapping.SessionRef{}, false, upstreamFail("create the session", err)
	}
	ref := mapping.SessionRef{SessionID: s.SessionID, ParticipantID: s.ParticipantID, DisplayName: s.DisplayName, CreatedAt: f.now()}
	if err := f.store.PutSession(ctx, key, ref); err != nil {
		return ref, false, upstreamFail("store the session", err)
	}
	return ref, false, nil
}

// engagementParameters carries what routing may use; AXP takes values of
// up to 256 characters.
func engagementParameters(req *InitRequest, refID string) engagement.Parameters {
	p := engagement.Parameters{}
	for k, v := range map[string]string{
		"channel": req.Channel, "language": req.Language, "url": req.URL, "refId": refID, "comment": req.Comment,
	} {
		if v != "" {
			p[k] = truncate(v, 256)
		}
	}
	return p
}

func setAttr(m map[string]string, k, v string) {
	if v != "" {
		m[k] = v
	}
}

func trim(ss ...*string) {
	for _, s := range ss {
		*s = strings.TrimSpace(*s)
	}
}
