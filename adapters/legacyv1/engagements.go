package legacyv1

import (
	"context"
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
	id := mapping.NewConversationID(owner)
	create := r.V1Beta()
	if create.ProviderDialogID == "" {
		// AXP's events then name the conversation, even one that overtakes
		// this call's answer.
		create.ProviderDialogID = id
	}
	eng, err := f.backend.CreateEngagement(ctx, create)
	if err != nil {
		return 0, nil, fromBackend(err, f.b)
	}
	if len(eng.Dialogs) == 0 {
		return 0, nil, newError(http.StatusBadGateway, "AXP created an engagement with no dialog")
	}
	dialog := eng.Dialogs[0].DialogID
	conv := &mapping.Conversation{
		ID:            id,
		Owner:         owner,
		SessionID:     r.SessionID,
		EngagementID:  eng.EngagementID,
		DialogID:      dialog,
		ParticipantID: ref.ParticipantID,
		State:         mapping.StateOpen,
		CreatedAt:     f.now(),
		Attrs:         map[string]string{attrCustomerIdentifier: sc.CustomerIdentifier, attrChannelProvider: f.b.ChannelProviderID},
	}
	if err := f.reg.Commit(ctx, &mapping.Change{Conv: conv}); err != nil {
		cctx, cancel := detached()
		defer cancel()
		if _, derr := f.backend.DisconnectEngagement(cctx, eng.EngagementID, &engagement.DisconnectEngagement{
			SessionID: r.SessionID, DialogID: dialog, Reason: engagement.ReasonSystemClosed}); derr != nil {
			f.log.WarnContext(ctx, "legacyv1: could not leave an unrecorded dialog", "dialog", dialog, "err", derr)
		}
		return 0, nil, fromBackend(err, f.b)
	}
	return http.StatusOK, EngagementCreatedOf(eng, sc), nil
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
			return http.StatusOK, EngagementOf(eng, ContextOf(conv)), nil
		}
		if e.Status != http.StatusNotFound {
			return 0, nil, e
		}
	}
	return 0, nil, newError(http.StatusNotFound, "engagement "+id+" was not found")
}

// joinEngagement is POST /v1/engagements/{id}:join: another session of the
// client's joins one of its dialogs.
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
	if err != nil {
		return 0, nil, fromBackend(err, f.b)
	}
	return http.StatusOK, EngagementOf(eng, ContextOf(conv)), nil
}

// disconnectEngagement is POST /v1/engagements/{id}:disconnect → 200 with
// no body (seed 001: "No response object."). participantId, which v1beta
// derives from the session, must be the session's when it is sent.
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
	if _, e := f.dialogOf(ctx, id, r.DialogID); e != nil {
		return 0, nil, e
	}
	if _, err := f.backend.DisconnectEngagement(ctx, id, r.V1Beta()); err != nil {
		return 0, nil, fromBackend(err, f.b)
	}
	return http.StatusOK, nil, nil
}
