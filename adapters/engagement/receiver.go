package engagement

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/internal/deadline"
	"github.com/connector-proxy/connector-proxy/internal/jsonscan"
	"github.com/connector-proxy/connector-proxy/telemetry"
)

// WebhookPathPrefix is where AXP callbacks arrive; the token follows it.
const WebhookPathPrefix = "/webhooks/axp/"

// MinTokenLength is the shortest webhook path token accepted.
const MinTokenLength = 32

// ErrBadEvent is wrapped by DecodeEvent's errors: the body is not an AXP event.
var ErrBadEvent = errors.New("engagement: malformed AXP event")

// ReceiverOptions configure a Receiver.
type ReceiverOptions struct {
	// Token is the unguessable path segment that authenticates AXP (it signs
	// nothing): required, at least MinTokenLength of [A-Za-z0-9_-].
	Token string
	// Timeout bounds the sink (default 4 s, so that AXP has its answer
	// within its 5 s).
	Timeout time.Duration
	Metrics *Metrics
	Logger  *slog.Logger
}

// Receiver is the fasthttp handler for AXP's webhook callbacks.
type Receiver struct {
	sink    Sink
	path    []byte
	timeout time.Duration
	// clock makes each event's deadline without a timer of its own,
	// rounded down (Within): AXP must have its answer within timeout.
	clock   *deadline.Clock
	metrics *Metrics
	log     *slog.Logger
}

// CheckWebhookToken reports why token cannot be a receiver's path token; a
// configuration loader calls it before NewReceiver.
func CheckWebhookToken(token string) error {
	if len(token) < MinTokenLength {
		return fmt.Errorf("engagement: webhook token has %d characters, want at least %d", len(token), MinTokenLength)
	}
	for i := 0; i < len(token); i++ {
		c := token[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("engagement: webhook token has %q at %d, want only [A-Za-z0-9_-]", c, i)
		}
	}
	return nil
}

// NewWebhookToken returns a random token (256 bits, base64url) for when the
// configuration names none.
func NewWebhookToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("engagement: webhook token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// NewReceiver returns a receiver handing events to sink. It panics when
// opts.Token fails CheckWebhookToken: serving AXP's callbacks on a guessable
// path is a configuration error that must not start.
func NewReceiver(sink Sink, opts ReceiverOptions) *Receiver {
	if err := CheckWebhookToken(opts.Token); err != nil {
		panic(err)
	}
	if sink == nil {
		panic("engagement: NewReceiver needs a sink")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 4 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Receiver{
		clock:   deadline.NewClock(10 * time.Millisecond),
		sink:    sink,
		path:    []byte(WebhookPathPrefix + opts.Token),
		timeout: opts.Timeout,
		metrics: opts.Metrics,
		log:     opts.Logger,
	}
}

// Path is the callback path, WebhookPathPrefix followed by the token; the
// subscription's callbackUrl is the public URL's origin plus Path.
func (r *Receiver) Path() string { return string(r.path) }

// Result labels of connector_proxy_axp_webhooks_total.
const (
	webhookAccepted = "accepted"  // handed to the sink, 200
	webhookIgnored  = "ignored"   // unknown event type, 200
	webhookBad      = "malformed" // 400
	webhookFailed   = "failed"    // sink error, 503
	webhookDenied   = "denied"    // wrong path token or method
)

// Handler answers one AXP callback: 404 unless the path holds the exact
// token, 405 for other methods than POST, 400 for a body that is not an
// event, 200 once the sink accepted the event (or for an unknown event
// type, which is only counted), 503 when the sink failed so that AXP
// re-sends. Nothing of ctx is kept: DecodeEvent copies the body.
func (r *Receiver) Handler(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	if subtle.ConstantTimeCompare(ctx.Path(), r.path) != 1 {
		r.metrics.observeWebhook("none", webhookDenied, time.Since(start))
		Refuse(ctx, fasthttp.StatusNotFound, "no such callback path")
		return
	}
	if !ctx.IsPost() {
		r.metrics.observeWebhook("none", webhookDenied, time.Since(start))
		ctx.Response.Header.Set(fasthttp.HeaderAllow, fasthttp.MethodPost)
		Refuse(ctx, fasthttp.StatusMethodNotAllowed, "use POST")
		return
	}
	ev, err := DecodeEvent(ctx.PostBody())
	if err != nil {
		r.metrics.observeWebhook("none", webhookBad, time.Since(start))
		r.log.Warn("engagement: malformed AXP callback", "err", err)
		Refuse(ctx, fasthttp.StatusBadRequest, "malformed event")
		return
	}
	label := eventLabel(ev.EventType)
	if label == "other" {
		r.metrics.observeWebhook(label, webhookIgnored, time.Since(start))
		r.log.Debug("engagement: AXP callback of unknown type acknowledged", "eventType", ev.EventType)
		ctx.SetStatusCode(fasthttp.StatusOK)
		return
	}
	// Not the RequestCtx as parent: a sink may hand ctx on, and nothing of
	// the request may outlive the handler. Its span goes on, though: the
	// pipeline keeps it with the event.
	sctx := telemetry.RequestContext(r.clock.Within(r.timeout), ctx)
	telemetry.Tag(sctx, telemetry.AttrAXPEventType, label)
	err = r.sink.HandleEvent(sctx, ev)
	if err != nil {
		r.metrics.observeWebhook(label, webhookFailed, time.Since(start))
		r.log.Warn("engagement: AXP callback not accepted, AXP will re-send", "eventType", ev.EventType, "dialogId", ev.DialogID(), "err", err)
		Refuse(ctx, fasthttp.StatusServiceUnavailable, "the event could not be kept; send it again")
		return
	}
	r.metrics.observeWebhook(label, webhookAccepted, time.Since(start))
	ctx.SetStatusCode(fasthttp.StatusOK)
}

// eventLabel bounds the event_type label to the known types.
func eventLabel(t string) string {
	switch t {
	case EventMessages, EventParticipantAdded, EventParticipantDisconnected, EventEngagementCreated, EventEngagementError:
		return t
	}
	return "other"
}

// DecodeEvent decodes an AXP callback body. A MESSAGES body is decoded into
// a Message and the header's eventDate; the participant and engagement events into
// their types; an unknown eventType yields an Event with only the header
// fields and Raw. Raw is a copy of body. Errors wrap ErrBadEvent.
func DecodeEvent(body []byte) (*Event, error) {
	// AXP writes the type first; a message decoded whole needs no other look.
	if bytes.HasPrefix(body[jsonscan.SkipSpace(body, 0):], []byte(`{"eventType":"`+EventMessages+`"`)) {
		if m, date, ok := decodeMessage(body); ok {
			return &Event{EventType: EventMessages, Raw: bytes.Clone(body), Message: m,
				CorrelationID: m.CorrelationID, EventDate: date}, nil
		}
	}
	var kind struct {
		EventType string `json:"eventType"`
	}
	// The type read without a decode of its own where it is plainly there
	// (the body is decoded in full below); anything else is the decoder's.
	if t, ok := jsonscan.Member(body, "eventType"); ok && len(t) >= 2 && t[0] == '"' && bytes.IndexByte(t, '\\') < 0 && utf8.Valid(t) {
		kind.EventType = string(t[1 : len(t)-1])
	} else if err := json.Unmarshal(body, &kind); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadEvent, err)
	}
	if kind.EventType == "" {
		return nil, fmt.Errorf("%w: no eventType", ErrBadEvent)
	}
	ev := &Event{EventType: kind.EventType, Raw: bytes.Clone(body)}
	var h *EventHeader
	switch kind.EventType {
	case EventMessages:
		// The header and the message share one object and one key,
		// correlationId, which the Message takes; only eventDate is the
		// header's own.
		m, date, ok := decodeMessage(body) // the type was not first
		if !ok {
			var err error
			if m, date, err = decodeMessageJSON(body); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrBadEvent, err)
			}
		}
		ev.Message = m
		h = &EventHeader{CorrelationID: m.CorrelationID, EventDate: date}
	case EventParticipantAdded, EventParticipantDisconnected:
		var p ParticipantEvent
		if err := json.Unmarshal(body, &p); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadEvent, err)
		}
		ev.Participant = &p
		h = &p.EventHeader
	case EventEngagementCreated:
		var e EngagementCreatedEvent
		if err := json.Unmarshal(body, &e); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadEvent, err)
		}
		ev.EngagementCreated = &e
		h = &e.EventHeader
	case EventEngagementError:
		var e EngagementErrorEvent
		if err := json.Unmarshal(body, &e); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadEvent, err)
		}
		ev.EngagementError = &e
		h = &e.EventHeader
	case EventDialogState:
		var e DialogStateEvent
		if err := json.Unmarshal(body, &e); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadEvent, err)
		}
		ev.DialogState = &e
		h = &e.EventHeader
	default:
		// Unknown types (AXP adds them under ALL) are acknowledged even
		// when their header is odd, so a bad date is not an error here.
		var hdr EventHeader
		if json.Unmarshal(body, &hdr) == nil {
			h = &hdr
		}
	}
	if h != nil {
		ev.CorrelationID = h.CorrelationID
		ev.EventDate = h.EventDate
	}
	return ev, nil
}

// Refuse answers the AXP webhook path with an RFC 7807 problem document,
// AXP's own error format (AXP acts on the status only; the body is for
// whoever reads its delivery logs). The proxy's HTTP server calls it for a
// callback it could not read (a body or head too large).
func Refuse(ctx *fasthttp.RequestCtx, status int, detail string) {
	b, _ := json.Marshal(Problem{Title: http.StatusText(status), Status: status, Detail: detail})
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/problem+json")
	ctx.SetBody(b)
}
