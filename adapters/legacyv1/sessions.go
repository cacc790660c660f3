package legacyv1

import (
	"context"
	"net/http"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/mapping"
)

// createSession is POST /v1/sessions → 201 with the legacy session. The
// session is recorded as the face's before the client is answered; if that
// write fails, the AXP session is ended again, so that nothing is left
// half made.
func (f *Face) createSession(ctx context.Context, body []byte) (int, any, *Error) {
	r, e := DecodeCreateSession(body, f.b)
	if e != nil {
		return 0, nil, e
	}
	s, err := f.backend.CreateSession(ctx, r.V1Beta(f.b))
	if unknown(err) {
		// v1beta cannot find a session by what its create carried.
		return 0, nil, unconfirmed("the session", "if AXP made it, it ends by itself when idle; a retry makes a new one")
	}
	if err != nil {
		return 0, nil, fromBackend(err, f.b)
	}
	ref := mapping.SessionRef{SessionID: s.SessionID, ParticipantID: s.ParticipantID, DisplayName: s.DisplayName, CreatedAt: f.now()}
	if err := f.store.PutSession(ctx, f.sessionKey(s.SessionID), ref); err != nil {
		cctx, cancel := detached()
		defer cancel()
		if derr := f.backend.DeleteSession(cctx, s.SessionID, engagement.ReasonSystemClosed); derr != nil {
			f.log.WarnContext(ctx, "legacyv1: could not end an unrecorded session", "session", s.SessionID, "err", derr)
		}
		return 0, nil, fromBackend(err, f.b)
	}
	out := SessionOf(s, f.b)
	out.TenantID = r.TenantID
	return http.StatusCreated, out, nil
}

// getSession is GET /v1/sessions/{id}.
func (f *Face) getSession(ctx context.Context, id string) (int, any, *Error) {
	ref, e := f.owned(ctx, "sessionId", id)
	if e != nil {
		return 0, nil, e
	}
	s, err := f.backend.GetSession(ctx, id)
	if err != nil {
		return 0, nil, fromBackend(err, f.b)
	}
	out := SessionOf(s, f.b)
	out.ParticipantID = ref.ParticipantID // a GET of v1beta has none
	return http.StatusOK, out, nil
}

// terminated is the answer of :terminate (legacy answers 200 with no
// documented body; the session id and its new state tell what happened).
type terminated struct {
	SessionID     string `json:"sessionId"`
	SessionStatus string `json:"sessionStatus"`
}

// terminateSession is POST /v1/sessions/{id}:terminate → DELETE ?reason=
// → 200. The conversations of the dialogs the session made are closed
// before the answer; an end AXP did not answer is sent once more (ending
// twice is harmless), and so is a retry after a failed close.
func (f *Face) terminateSession(ctx context.Context, id string, body []byte) (int, any, *Error) {
	r, e := DecodeTerminateSession(body, f.b)
	if e != nil {
		return 0, nil, e
	}
	if _, e := f.owned(ctx, "sessionId", id); e != nil {
		return 0, nil, e
	}
	err := repeatable(func() error { return f.backend.DeleteSession(ctx, id, r.V1Beta()) })
	if unknown(err) {
		return 0, nil, unconfirmed("the end of the session", "send the same request again: ending a session twice is harmless")
	}
	if err != nil {
		return 0, nil, fromBackend(err, f.b)
	}
	convs, err := f.store.Conversations(ctx, f.sessionKey(id))
	if err != nil {
		return 0, nil, fromBackend(err, f.b)
	}
	for _, c := range convs {
		if c.Open() {
			if err := f.closeConversation(ctx, c.ID, closedBySession); err != nil {
				return 0, nil, fromBackend(err, f.b)
			}
		}
	}
	return http.StatusOK, terminated{SessionID: id, SessionStatus: engagement.SessionTerminated}, nil
}
