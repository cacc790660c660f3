package legacyv1

import (
	"context"
	"net/http"
)

// sendMessage is POST /v1/engagements/{id}/messages → 200 (the legacy
// status; v1beta's is 202) with the legacy message, status QUEUED.
func (f *Face) sendMessage(ctx context.Context, id string, body []byte) (int, any, *Error) {
	r, e := DecodeSendMessage(body)
	if e != nil {
		return 0, nil, e
	}
	if _, e := f.owned(ctx, "sessionId", r.SessionID); e != nil {
		return 0, nil, e
	}
	if _, e := f.dialogOf(ctx, id, r.DialogID); e != nil {
		return 0, nil, e
	}
	m, err := f.backend.SendMessage(ctx, id, r.V1Beta())
	if err != nil {
		return 0, nil, fromBackend(err, f.b)
	}
	return http.StatusOK, MessageOf(m), nil
}

// listMessages is GET /v1/engagements/{id}/messages?dialogId=&sessionId=:
// every message of the dialog, read page by page from AXP, as one bare JSON
// array with epoch times (the legacy list has no pages).
func (f *Face) listMessages(ctx context.Context, id, sessionID, dialogID string) (int, any, *Error) {
	var c checks
	c.required("dialogId", dialogID)
	c.required("sessionId", sessionID)
	if e := c.err(); e != nil {
		return 0, nil, e
	}
	if _, e := f.owned(ctx, "sessionId", sessionID); e != nil {
		return 0, nil, e
	}
	if _, e := f.dialogOf(ctx, id, dialogID); e != nil {
		return 0, nil, e
	}
	out := make([]Message, 0, 16)
	for m, err := range f.backend.AllMessages(ctx, id, sessionID, dialogID) {
		if err != nil {
			return 0, nil, fromBackend(err, f.b)
		}
		out = append(out, MessageOf(m))
	}
	return http.StatusOK, out, nil
}
