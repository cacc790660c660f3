package legacyv1

import (
	"context"
	"errors"
	"net/http"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/mapping"
)

// sessionContext is the context of one of the face's sessions: its
// customer identifier comes from the request when it repeats one, else
// from AXP's session.
func (f *Face) sessionContext(ctx context.Context, ref mapping.SessionRef, ident string) (SessionContext, *Error) {
	sc := SessionContext{AccountID: f.b.AccountID, SessionID: ref.SessionID, ChannelProviderID: f.b.ChannelProviderID,
		ParticipantID: ref.ParticipantID, CustomerIdentifier: ident}
	if ident != "" {
		return sc, nil
	}
	s, err := f.backend.GetSession(ctx, ref.SessionID)
	if err != nil {
		return sc, fromBackend(err, f.b)
	}
	sc.CustomerIdentifier = customerIdentifier(s.CustomerIdentifiers, f.b.key())
	return sc, nil
}

// createEngagement is POST /v1/engagements → 200 (the legacy status; S17c
// checks for it) with the flat legacy answer. The dialog is recorded as the
// face's conversation before the answer, so that its events reach the face;
// if that write fails, the customer is disconnected from the new dialog.
// AXP is given the conversation's id as the dialog's providerDialogId (its
// events then name the conversation, even one that overtakes this answer);
// the client's own providerDialogId is kept with the conversation and shown
// in its place, and makes a retry of the create safe (retries.go).
func (f *Face) createEngagement(ctx context.Context, body []byte) (int, any, *Error) {
	r, e := DecodeCreateEngagement(body, f.b)
	if e != nil {
		return 0, nil, e
	}
	ref, e := f.owned(ctx, "sessionId", r.SessionID)
	if e != nil {
		return 0, nil, e
	}
	sc, e := f.sessionContext(ctx, ref, r.CustomerIdentifier)
	if e != nil {
		return 0, nil, e
	}
	owner := f.sessionKey(r.SessionID)
	create := r.V1Beta()
	if r.ProviderDialogID == "" {
		create.ProviderDialogID = mapping.NewConversationID(owner)
		eng, e := f.makeDialog(ctx, create, "a retry makes another one (name a providerDialogId to make retries safe)")
		if e != nil {
			return 0, nil, e
		}
		return f.recordDialog(ctx, ref, sc, r, create.ProviderDialogID, eng)
	}
	id := dialogConversationID(owner, r.ProviderDialogID)
	create.ProviderDialogID = id
	var (
		conv *mapping.Conversation
		eng  *engagement.Engagement
	)
	recorded := func(ctx context.Context) (bool, error) {
		c, err := f.store.Conversation(ctx, id)
		if err == nil {
			conv = c
			return true, nil
		}
		if errors.Is(err, mapping.ErrNotFound) {
			err = nil
		}
		return false, err
	}
	found, err := recorded(ctx)
	if err == nil && !found {
		found, err = f.beginAttempt(ctx, id, keyCreate, func(ctx context.Context) (bool, error) {
			if ok, err := recorded(ctx); ok || err != nil {
				return ok, err
			}
			e, d, err := f.backend.FindDialog(ctx, r.SessionID, id)
			if d != nil {
				eng = withDialogFirst(e, d)
			}
			return d != nil, err
		})
	}
	if err == nil && !found {
		// The attempt is this request's; one that finished just before it
		// began has recorded its conversation.
		found, err = recorded(ctx)
	}
	switch {
	case err != nil:
		return 0, nil, fromBackend(err, f.b)
	case conv != nil:
		return f.createdAgain(ctx, conv)
	case !found:
		var e *Error
		eng, e = f.makeDialog(ctx, create, "send the same request again (same providerDialogId): it will not make a second dialog")
		if e != nil {
			if e.Status != http.StatusServiceUnavailable {
				_ = f.store.DropSend(context.WithoutCancel(ctx), id, keyCreate) // refused: nothing was made
			}
			return 0, nil, e
		}
	}
	status, out, e := f.recordDialog(ctx, ref, sc, r, id, eng)
	if e == nil {
		_ = f.store.DropSend(context.WithoutCancel(ctx), id, keyCreate) // the conversation says it now
	}
	return status, out, e
}

// makeDialog creates the engagement's dialog. When AXP does not answer,
// it looks for the dialog by its providerDialogId for SettleTimeout, then
// answers that the outcome is unknown, saying what a retry does (then).
func (f *Face) makeDialog(ctx context.Context, in *engagement.CreateEngagement, then string) (*engagement.Engagement, *Error) {
	eng, err := f.backend.CreateEngagement(ctx, in)
	if unknown(err) {
		if f.settle(ctx, func(ctx context.Context) (bool, error) {
			e, d, err := f.backend.FindDialog(ctx, in.SessionID, in.ProviderDialogID)
			if d != nil {
				eng = withDialogFirst(e, d)
			}
			return d != nil, err
		}) {
			err = nil
		}
	}
	switch {
	case unknown(err):
		return nil, unconfirmed("the engagement", then)
	case err != nil:
		return nil, fromBackend(err, f.b)
	case len(eng.Dialogs) == 0:
		return nil, newError(http.StatusBadGateway, "AXP created an engagement with no dialog")
	}
	return eng, nil
}

// withDialogFirst is a copy of e whose only dialog is d, as a create
// answers.
func withDialogFirst(e *engagement.Engagement, d *engagement.Dialog) *engagement.Engagement {
	cp := *e
	cp.Dialogs = []engagement.Dialog{*d}
	return &cp
}

// recordDialog writes the conversation of a new dialog and answers the
// create. A conversation recorded meanwhile by another attempt of the same
// create is answered instead; if the write fails, the customer leaves the
// dialog again, so that nothing is half made.
func (f *Face) recordDialog(ctx context.Context, ref mapping.SessionRef, sc SessionContext, r *CreateEngagement, id string, eng *engagement.Engagement) (int, any, *Error) {
	dialog := eng.Dialogs[0].DialogID
	conv := &mapping.Conversation{
		ID:            id,
		Owner:         f.sessionKey(r.SessionID),
		SessionID:     r.SessionID,
		EngagementID:  eng.EngagementID,
		DialogID:      dialog,
		ParticipantID: ref.ParticipantID,
		State:         mapping.StateOpen,
		CreatedAt:     f.now(),
		Attrs: map[string]string{attrCustomerIdentifier: sc.CustomerIdentifier, attrChannelProvider: f.b.ChannelProviderID,
			attrProviderDialog: r.ProviderDialogID},
	}
	err := f.store.Commit(ctx, &mapping.Change{Conv: conv})
	var again *mapping.Conversation
	if errors.Is(err, mapping.ErrConflict) {
		// Another attempt of the same create recorded it first.
		if c, rerr := f.store.Conversation(ctx, id); rerr == nil {
			if c.DialogID == dialog {
				return f.createdAgain(ctx, c)
			}
			again = c // and this dialog is one too many
		}
	}
	if err != nil {
		cctx, cancel := detached()
		defer cancel()
		if _, derr := f.backend.DisconnectEngagement(cctx, eng.EngagementID, &engagement.DisconnectEngagement{
			SessionID: r.SessionID, DialogID: dialog, Reason: engagement.ReasonSystemClosed}); derr != nil {
			f.log.WarnContext(ctx, "legacyv1: could not leave an unrecorded dialog", "dialog", dialog, "err", derr)
		}
		if again != nil {
			return f.createdAgain(ctx, again)
		}
		return 0, nil, fromBackend(err, f.b)
	}
	f.cfg.Changed(id) // events that overtook this answer apply now
	return http.StatusOK, EngagementCreatedOf(eng, ContextOf(conv)), nil
}

// createdAgain answers a retry of a create that was recorded: the same
// dialog, as AXP has it now.
func (f *Face) createdAgain(ctx context.Context, conv *mapping.Conversation) (int, any, *Error) {
	eng, err := f.backend.GetEngagement(ctx, conv.EngagementID)
	if err != nil {
		return 0, nil, fromBackend(err, f.b)
	}
	d := eng.Dialog(conv.DialogID)
	if d == nil {
		return 0, nil, newError(http.StatusBadGateway, "AXP no longer lists dialog "+conv.DialogID+" of engagement "+conv.EngagementID)
	}
	return http.StatusOK, EngagementCreatedOf(withDialogFirst(eng, d), ContextOf(conv)), nil
}

// clientDialogs puts in eng (the caller's copy) the providerDialogIds the
// clients gave in place of AXP's, which are the face's conversation ids.
func (f *Face) clientDialogs(ctx context.Context, eng *engagement.Engagement) {
	for i := range eng.Dialogs {
		d := &eng.Dialogs[i]
		if d.ProviderDialogID == "" {
			continue
		}
		conv, err := f.store.Conversation(ctx, d.ProviderDialogID)
		if err == nil && conv.Owner.Face == OwnerFace && conv.Owner.Account == f.b.AccountID {
			d.ProviderDialogID = conv.Attrs[attrProviderDialog]
		}
	}
}

// listEngagements is GET /v1/engagements?sessionId= (v1beta lists a
// session's engagements only, so sessionId is required).
func (f *Face) listEngagements(ctx context.Context, sessionID string) (int, any, *Error) {
	if sessionID == "" {
		return 0, nil, badField("sessionId", "the query parameter is required: engagements are listed per session", codeNotNull)
	}
	ref, e := f.owned(ctx, "sessionId", sessionID)
	if e != nil {
		return 0, nil, e
	}
	sc, e := f.sessionContext(ctx, ref, "")
	if e != nil {
		return 0, nil, e
	}
	list, err := f.backend.ListEngagements(ctx, sessionID)
	if err != nil {
		return 0, nil, fromBackend(err, f.b)
	}
	out := make([]Engagement, 0, len(list))
	for i := range list {
		f.clientDialogs(ctx, &list[i])
		out = append(out, EngagementOf(&list[i], sc))
	}
	return http.StatusOK, out, nil
}

// getEngagement is GET /v1/engagements/{id}: one of the face's, known by
// a dialog the face recorded.
func (f *Face) getEngagement(ctx context.Context, id string) (int, any, *Error) {
	eng, err := f.backend.GetEngagement(ctx, id)
	if err != nil {
		return 0, nil, fromBackend(err, f.b)
	}
	for i := range eng.Dialogs {
		conv, e := f.dialogOf(ctx, id, eng.Dialogs[i].DialogID)
		if e == nil {
			f.clientDialogs(ctx, eng)
			return http.StatusOK, EngagementOf(eng, ContextOf(conv)), nil
		}
		if e.Status != http.StatusNotFound {
			return 0, nil, e
		}
	}
	return 0, nil, newError(http.StatusNotFound, "engagement "+id+" was not found")
}

// joinEngagement is POST /v1/engagements/{id}:join: another session of the
// client's joins one of its dialogs. When AXP does not answer, the dialog
// is read for SettleTimeout to see whether the session is in it.
func (f *Face) joinEngagement(ctx context.Context, id string, body []byte) (int, any, *Error) {
	r, e := DecodeJoinEngagement(body)
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
	eng, err := f.backend.JoinEngagement(ctx, id, r.V1Beta())
	if unknown(err) && f.settle(ctx, func(ctx context.Context) (bool, error) {
		got, err := f.backend.GetEngagement(ctx, id)
		if err != nil {
			return false, err
		}
		if d := got.Dialog(r.DialogID); d != nil && joined(d, r.SessionID) {
			eng = got
			return true, nil
		}
		return false, nil
	}) {
		err = nil
	}
	switch {
	case unknown(err):
		return 0, nil, unconfirmed("the join", "send the same request again")
	case err != nil:
		return 0, nil, fromBackend(err, f.b)
	}
	f.clientDialogs(ctx, eng)
	return http.StatusOK, EngagementOf(eng, ContextOf(conv)), nil
}

// joined reports whether sessionID has a live customer connection in d.
func joined(d *engagement.Dialog, sessionID string) bool {
	for _, c := range d.Connections {
		if c.ParticipantType == engagement.ParticipantCustomer && c.ConnectionState == engagement.Connected {
			for _, s := range c.SessionIDs {
				if s == sessionID {
					return true
				}
			}
		}
	}
	return false
}

// disconnectEngagement is POST /v1/engagements/{id}:disconnect → 200 with
// no body (seed 001: "No response object."). participantId, which v1beta
// derives from the session, must be the session's when it is sent. The
// session that made the dialog leaving it closes its conversation, before
// the answer; a disconnect AXP did not answer is sent once more
// (disconnecting twice is harmless).
func (f *Face) disconnectEngagement(ctx context.Context, id string, body []byte) (int, any, *Error) {
	r, e := DecodeDisconnectEngagement(body)
	if e != nil {
		return 0, nil, e
	}
	ref, e := f.owned(ctx, "sessionId", r.SessionID)
	if e != nil {
		return 0, nil, e
	}
	if r.ParticipantID != "" && r.ParticipantID != ref.ParticipantID {
		return 0, nil, badField("participantId", "is not the participant of session "+r.SessionID, codeState)
	}
	conv, e := f.dialogOf(ctx, id, r.DialogID)
	if e != nil {
		return 0, nil, e
	}
	err := repeatable(func() error {
		_, err := f.backend.DisconnectEngagement(ctx, id, r.V1Beta())
		return err
	})
	switch {
	case unknown(err):
		return 0, nil, unconfirmed("the disconnect", "send the same request again: disconnecting twice is harmless")
	case err != nil:
		if dialogGone(err) {
			f.closeConversation(ctx, conv.ID, closedByAXP)
		}
		return 0, nil, fromBackend(err, f.b)
	}
	if conv.SessionID == r.SessionID {
		if err := f.closeConversation(ctx, conv.ID, closedByCustomer); err != nil {
			return 0, nil, fromBackend(err, f.b)
		}
	}
	return http.StatusOK, nil, nil
}

// closeConversation records that a conversation is over (nothing when it
// is already).
func (f *Face) closeConversation(ctx context.Context, id, reason string) error {
	now := f.now()
	_, err := mapping.Update(ctx, f.store, id, func(c *mapping.Conversation) ([]*mapping.OutboxItem, error) {
		if !c.Open() {
			return nil, mapping.ErrNoChange
		}
		closeConv(c, reason, now)
		return nil, nil
	})
	if err != nil {
		f.log.WarnContext(ctx, "legacyv1: record a conversation's end", "conversation", id, "err", err)
	}
	return err
}

// dialogGone reports an AXP answer meaning the dialog is already over.
func dialogGone(err error) bool {
	var p *engagement.Problem
	if !errors.As(err, &p) {
		return false
	}
	return p.Status == http.StatusNotFound || (p.Status == http.StatusBadRequest && p.Violation("dialogId") != nil)
}
