package legacyv1

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/google/uuid"

	"github.com/connector-proxy/connector-proxy/mapping"
)

// notWired is the answer of an endpoint whose part of the event pipeline
// the proxy has not been given (Config.Webhooks, Config.Notifications).
func notWired(what string) *Error {
	return newError(http.StatusNotImplemented, what+" are not available in this deployment of the proxy")
}

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
// array → 201 {webhookId, channelProviderId, subscriptions}.
func (f *Face) registerWebhooks(ctx context.Context, cp string, body []byte) (int, any, *Error) {
	if e := f.checkProvider(cp); e != nil {
		return 0, nil, e
	}
	regs, e := DecodeWebhookRegistration(body, f.cfg.AllowInsecureWebhooks)
	if e != nil {
		return 0, nil, e
	}
	if f.cfg.Webhooks == nil {
		return 0, nil, notWired("webhooks")
	}
	w := &Webhook{WebhookID: uuid.NewString(), ChannelProviderID: cp, Subscriptions: regs}
	if err := f.cfg.Webhooks.RegisterWebhook(ctx, w); err != nil {
		return 0, nil, fromBackend(err, f.b)
	}
	return http.StatusCreated, w, nil
}

// deleted is the answer of a webhook DELETE (S17c expects 200).
type deleted struct {
	WebhookID string `json:"webhookId"`
}

// deleteWebhook is DELETE /v1/channel-providers/{id}/webhooks/{webhookId} → 200.
func (f *Face) deleteWebhook(ctx context.Context, cp, id string) (int, any, *Error) {
	if e := f.checkProvider(cp); e != nil {
		return 0, nil, e
	}
	if f.cfg.Webhooks == nil {
		return 0, nil, notWired("webhooks")
	}
	err := f.cfg.Webhooks.DeleteWebhook(ctx, cp, id)
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
// dropped: the legacy payloads of the events the proxy received for the
// engagement, oldest first, as a JSON array.
func (f *Face) notifications(ctx context.Context, id string) (int, any, *Error) {
	if f.cfg.Notifications == nil {
		return 0, nil, notWired("notifications")
	}
	notes, err := f.cfg.Notifications.Notifications(ctx, id)
	if err != nil {
		return 0, nil, fromBackend(err, f.b)
	}
	if notes == nil {
		notes = []json.RawMessage{}
	}
	return http.StatusOK, notes, nil
}
