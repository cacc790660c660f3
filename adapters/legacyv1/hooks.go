package legacyv1

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/google/uuid"

	"github.com/connector-proxy/connector-proxy/mapping"
)

// checkProvider refuses a channel provider the proxy does not serve.
func (f *Face) checkProvider(cp string) *Error {
	if cp == f.b.ChannelProviderID {
		return nil
	}
	e := newError(http.StatusNotFound, "channel provider "+cp+" was not found")
	e.Violations = []Violation{{Field: "channelProviderId", Message: "this proxy serves " + f.b.ChannelProviderID}}
	return e
}

// registerWebhooks is POST /v1/channel-providers/{id}/webhooks with an
// array → 201 {webhookId, channelProviderId, subscriptions}. It is kept
// in the store before the answer, and applies to the events applied after
// it (on other replicas within Config.WebhookRefresh). The legacy API
// gives a registration no handle a retry could repeat, so a retry makes a
// second one; deliveries go once per callback URL whatever the number of
// registrations naming it.
func (f *Face) registerWebhooks(ctx context.Context, cp string, body []byte) (int, any, *Error) {
	if e := f.checkProvider(cp); e != nil {
		return 0, nil, e
	}
	regs, e := DecodeWebhookRegistration(body, f.cfg.AllowInsecureWebhooks)
	if e != nil {
		return 0, nil, e
	}
	w := &Webhook{WebhookID: uuid.NewString(), ChannelProviderID: cp, Subscriptions: regs}
	err := f.putWebhook(ctx, w)
	if errors.Is(err, mapping.ErrFull) {
		return 0, nil, newError(http.StatusConflict, "channel provider "+cp+" has "+strconv.Itoa(f.cfg.MaxWebhooks)+
			" webhooks, as many as the proxy keeps; delete one first")
	}
	if err != nil {
		return 0, nil, fromBackend(err, f.b)
	}
	return http.StatusCreated, w, nil
}

// deleted is the answer of a webhook DELETE (S17c expects 200).
type deleted struct {
	WebhookID string `json:"webhookId"`
}

// deleteWebhook is DELETE /v1/channel-providers/{id}/webhooks/{webhookId}
// → 200. Deliveries still queued for its callbacks are dropped, unless
// another registration names them.
func (f *Face) deleteWebhook(ctx context.Context, cp, id string) (int, any, *Error) {
	if e := f.checkProvider(cp); e != nil {
		return 0, nil, e
	}
	err := f.dropWebhook(ctx, cp, id)
	if errors.Is(err, mapping.ErrNotFound) {
		e := newError(http.StatusNotFound, "webhook "+id+" was not found")
		e.Violations = []Violation{{Field: "webhookId", Message: "no such webhook of " + cp}}
		return 0, nil, e
	}
	if err != nil {
		return 0, nil, fromBackend(err, f.b)
	}
	return http.StatusOK, deleted{WebhookID: id}, nil
}

// notifications is GET /v1/engagements/{id}/notifications, which v1beta
// dropped: the legacy payloads of the events the proxy applied to the
// engagement's dialogs (those the client made), oldest first, as a JSON
// array. AXP is asked which dialogs the engagement has; each dialog's
// payloads are its conversation's log (LogNotifications), kept as long as
// the conversation is.
func (f *Face) notifications(ctx context.Context, id string) (int, any, *Error) {
	eng, err := f.backend.GetEngagement(ctx, id)
	if err != nil {
		return 0, nil, fromBackend(err, f.b)
	}
	var (
		out     []json.RawMessage
		dialogs int
	)
	for i := range eng.Dialogs {
		conv, e := f.dialogOf(ctx, id, eng.Dialogs[i].DialogID)
		if e != nil && e.Status == http.StatusNotFound {
			continue
		}
		if e != nil {
			return 0, nil, e
		}
		recs, err := f.store.Log(ctx, conv.ID, LogNotifications, mapping.MaxLogRecords)
		if err != nil {
			return 0, nil, fromBackend(err, f.b)
		}
		for _, r := range recs {
			out = append(out, r)
		}
		dialogs++
	}
	if dialogs == 0 {
		return 0, nil, newError(http.StatusNotFound, "engagement "+id+" was not found")
	}
	if dialogs > 1 {
		// Each dialog's are in the order applied; across dialogs, by time.
		slices.SortStableFunc(out, func(a, b json.RawMessage) int { return cmp.Compare(payloadTime(a), payloadTime(b)) })
	}
	if out == nil {
		out = []json.RawMessage{}
	}
	return http.StatusOK, out, nil
}

// payloadTime is the time a legacy payload carries: a message's receipt,
// any other event's creation.
func payloadTime(b json.RawMessage) Millis {
	var t struct {
		Received Millis `json:"receivedTimestamp"`
		Created  Millis `json:"createdTimestamp"`
	}
	_ = json.Unmarshal(b, &t) // the face's own encoding: it decodes
	if t.Received != 0 {
		return t.Received
	}
	return t.Created
}
