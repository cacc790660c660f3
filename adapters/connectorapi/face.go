package connectorapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/auth"
	"github.com/connector-proxy/connector-proxy/envelope"
	"github.com/connector-proxy/connector-proxy/internal/deadline"
	"github.com/connector-proxy/connector-proxy/mapping"
	"github.com/connector-proxy/connector-proxy/pipeline"
	"github.com/connector-proxy/connector-proxy/ratelimit"
	"github.com/connector-proxy/connector-proxy/telemetry"
)

// Envelope types the face serves.
const (
	typeSetUserProfile      = "userprofile.SetUserProfile"
	typeRequestConversation = "cm.ConsumerRequestConversation"
	typePublishEvent        = "ms.PublishEvent"
	typeUpdateField         = "cm.UpdateConversationField"
)

// Defaults of Config.
const (
	DefaultMaxBodyBytes       = 64 << 10
	DefaultCustomerIdentifier = "lpConsumerId"
	DefaultRequestTimeout     = 15 * time.Second
	DefaultDeliveryTimeout    = 10 * time.Second
	DefaultSettleTimeout      = 10 * time.Second
	DefaultUnconfirmedWindow  = 30 * time.Second
	// DefaultSendWindow covers a connector's retries after a lost answer
	// (seconds to a minute) and no more: connectors that number every
	// request "1", as LivePerson's examples do, send the same id and body
	// again when a consumer writes the same words twice, and within the
	// window that is taken for a retry.
	DefaultSendWindow = 2 * time.Minute
	// MaxTextLength is AXP's limit on a message text, in characters.
	MaxTextLength = 4096
)

// Config configures a Face.
type Config struct {
	// ChannelProviderID is the AXP channel provider sessions are made for.
	ChannelProviderID string
	// CustomerIdentifier is the customerIdentifiers key (a name configured
	// in Customer Journey) that carries the consumer id; default
	// "lpConsumerId". Profile emails and phones go under emailAddresses and
	// phoneNumbers.
	CustomerIdentifier string
	// MaxBodyBytes refuses larger request bodies with 413 (default 64 KiB).
	MaxBodyBytes int
	// RequestTimeout bounds one request's backend calls (default 15 s).
	RequestTimeout time.Duration
	// SettleTimeout bounds how long, after AXP did not answer a write, the
	// face looks for whether it landed before it answers (default 10 s,
	// within RequestTimeout).
	SettleTimeout time.Duration
	// UnconfirmedWindow is how long after it was sent a write AXP did not
	// answer may still land there (default 30 s, at least SettleTimeout):
	// until then a retry looks for it and is answered "not confirmed"
	// while it is not there, instead of making it a second time.
	UnconfirmedWindow time.Duration
	// SendWindow is how long a SEND's idempotency record is kept: a retry
	// within it finds what the first attempt did (default 2 min).
	SendWindow time.Duration
	// DeliveryTimeout bounds one webhook POST (default 10 s, LivePerson's).
	DeliveryTimeout time.Duration
	// ReplicaID names this process among replicas sharing a store; claims
	// are held in its name (default: a random id).
	ReplicaID string
	// PublicHost is the host[:port] the Domain API answers as every
	// service's baseURI; connectors call https://{baseURI}/…. Empty: the
	// Host the request came to (with TLSPort's port on plain http).
	PublicHost string
	// TLSPort, when set, returns the port of the TLS listener: a Domain API
	// call over plain http is answered with it when PublicHost is empty.
	TLSPort func() string
	// WebhookClient sends notifications (default: a fasthttp.Client with
	// the delivery timeout, streaming answers so that their bodies are
	// discarded, not judged).
	WebhookClient *fasthttp.Client
	// Changed is told of a conversation whose outbox a client command
	// filled (a CLOSE), so that its delivery starts at once.
	Changed func(conversation string)
	Now     func() time.Time
	Logger  *slog.Logger
	Metrics *Metrics
	// Tracing traces webhook deliveries and keeps a command's trace with
	// the notifications it causes (nil: off).
	Tracing *telemetry.Tracing

	// AppLimit and ConsumerLimit, when set, are asked once a call's tokens
	// are verified: AppLimit with the app's client id for every call an
	// AppJWT authenticates (ConsumerJWS, CONVERSATION, SEND), ConsumerLimit
	// with the lp_consumer_id for CONVERSATION and SEND. They return 0 to
	// let the call through, else how long the caller should wait (answered
	// 429 with Retry-After). Keys are verified identities, so a client
	// cannot spend another app's or consumer's allowance.
	AppLimit, ConsumerLimit func(key string) time.Duration
}

// backend is what the face needs of the engagement client; tests count
// calls through it.
type backend interface {
	CreateSession(ctx context.Context, in *engagement.CreateSession) (*engagement.Session, error)
	DeleteSession(ctx context.Context, sessionID, reason string) error
	AppendIdentifiers(ctx context.Context, sessionID string, ids engagement.CustomerIdentifiers) (*engagement.Session, error)
	UpdateSessionParameters(ctx context.Context, sessionID string, p engagement.Parameters) (*engagement.Session, error)
	CreateEngagement(ctx context.Context, in *engagement.CreateEngagement) (*engagement.Engagement, error)
	DisconnectEngagement(ctx context.Context, engagementID string, in *engagement.DisconnectEngagement) (*engagement.DisconnectEngagement, error)
	SendText(ctx context.Context, engagementID string, m engagement.TextMessage) (engagement.SentMessage, error)
	FindMessage(ctx context.Context, engagementID, sessionID, dialogID, providerMessageID string) (*engagement.Message, error)
	FindDialog(ctx context.Context, sessionID, providerDialogID string) (*engagement.Engagement, *engagement.Dialog, error)
}

// Face serves the Messaging Connector API and turns AXP's events into its
// notifications (Apply), which the pipeline delivers (Send).
type Face struct {
	cfg     Config
	backend backend
	store   mapping.Store
	tokens  *auth.Service
	log     *slog.Logger
	m       *Metrics
	now     func() time.Time
	hooks   *fasthttp.Client

	accounts map[string]string        // accounts some app is configured for, each to itself
	domain   map[string]domainAnswers // by account, when PublicHost is set

	// What makes a SEND cheap: request contexts without a timer each,
	// providerMessageIds from a block of randomness, pooled hashers for
	// idempotency keys, the Client-Properties headers already read, and
	// the conversation cache read without a copy.
	clock    *deadline.Clock
	ids      engagement.MessageIDs
	hashers  sync.Pool
	features featureCache
	views    conversationViews // nil when the store has no cache to share
	flights  sendFlights
}

// conversationViews is a store that can hand out the conversation it
// caches, for a caller that only reads it (mapping.Cached).
type conversationViews interface {
	ConversationView(ctx context.Context, id string) (*mapping.Conversation, error)
}

var (
	_ pipeline.Face   = (*Face)(nil)
	_ pipeline.Sender = (*Face)(nil)
	_ backend         = (*engagement.Client)(nil)
)

// New builds the face over the engagement client, the store and the token
// service.
func New(cfg Config, client *engagement.Client, store mapping.Store, tokens *auth.Service) (*Face, error) {
	if client == nil {
		return nil, errors.New("connectorapi: no engagement client")
	}
	return newFace(cfg, client, store, tokens)
}

func newFace(cfg Config, b backend, store mapping.Store, tokens *auth.Service) (*Face, error) {
	if store == nil || tokens == nil {
		return nil, errors.New("connectorapi: store and token service are required")
	}
	if cfg.ChannelProviderID == "" {
		return nil, errors.New("connectorapi: ChannelProviderID is required")
	}
	if cfg.CustomerIdentifier == "" {
		cfg.CustomerIdentifier = DefaultCustomerIdentifier
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.SettleTimeout <= 0 {
		cfg.SettleTimeout = DefaultSettleTimeout
	}
	if cfg.UnconfirmedWindow <= 0 {
		cfg.UnconfirmedWindow = max(DefaultUnconfirmedWindow, cfg.SettleTimeout)
	}
	if cfg.SendWindow <= 0 {
		// A pending record must outlive the time its write may still land.
		cfg.SendWindow = max(DefaultSendWindow, 2*cfg.UnconfirmedWindow)
	}
	if cfg.DeliveryTimeout <= 0 {
		cfg.DeliveryTimeout = DefaultDeliveryTimeout
	}
	if cfg.ReplicaID == "" {
		cfg.ReplicaID = uuid.NewString()
	}
	if cfg.Changed == nil {
		cfg.Changed = func(string) {}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil)
	}
	if cfg.WebhookClient == nil {
		cfg.WebhookClient = pipeline.NewWebhookClient(cfg.DeliveryTimeout)
	}
	f := &Face{
		cfg: cfg, backend: b, store: store, tokens: tokens,
		log: cfg.Logger, m: cfg.Metrics, now: cfg.Now, hooks: cfg.WebhookClient,
		accounts: map[string]string{},
		domain:   map[string]domainAnswers{},
		clock:    deadline.NewClock(0),
	}
	f.views, _ = store.(conversationViews)
	for _, a := range tokens.Apps() {
		f.accounts[a.AccountID] = a.AccountID
		if cfg.PublicHost != "" {
			f.domain[a.AccountID] = newDomainAnswers(a.AccountID, cfg.PublicHost)
		}
	}
	return f, nil
}

// route is a parsed request path.
type route struct {
	call    string // token, consumer, conversation, send, domain
	account string
	service string // domain: the one service asked for, "" for the list
}

// parsePath recognises the four Connector API paths and the Domain API's;
// ok is false for anything else.
func parsePath(path string) (route, bool) {
	switch {
	case strings.HasPrefix(path, "/sentinel/api/account/"):
		rest := path[len("/sentinel/api/account/"):]
		acct, tail, _ := strings.Cut(rest, "/")
		if acct != "" && tail == "app/token" {
			return route{call: "token", account: acct}, true
		}
	case strings.HasPrefix(path, "/api/account/"):
		rest := path[len("/api/account/"):]
		acct, tail, _ := strings.Cut(rest, "/")
		if acct == "" {
			return route{}, false
		}
		switch tail {
		case "consumer":
			return route{call: "consumer", account: acct}, true
		case "messaging/consumer/conversation":
			return route{call: "conversation", account: acct}, true
		case "messaging/consumer/conversation/send":
			return route{call: "send", account: acct}, true
		}
		if svc, ok := parseDomainTail(tail); ok {
			return route{call: "domain", account: acct, service: svc}, true
		}
	}
	return route{}, false
}

// route is parsePath on the request's path bytes: the messaging calls of a
// configured account are recognised without a copy of the path.
func (f *Face) route(path []byte) (route, bool) {
	const prefix = "/api/account/"
	if rest, ok := bytes.CutPrefix(path, []byte(prefix)); ok {
		if i := bytes.IndexByte(rest, '/'); i > 0 {
			if acct, ok := f.accounts[string(rest[:i])]; ok {
				switch string(rest[i+1:]) {
				case "messaging/consumer/conversation/send":
					return route{call: "send", account: acct}, true
				case "messaging/consumer/conversation":
					return route{call: "conversation", account: acct}, true
				}
			}
		}
	}
	return parsePath(string(path))
}

// Handler serves the Connector API paths and the Domain API; anything else under
// /sentinel/api/account/ or /api/account/ gets a LivePerson-format 404.
func (f *Face) Handler(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	r, ok := f.route(ctx.Path())
	if !ok {
		f.writeError(ctx, nil, &apiError{Status: 404, ErrorCode: 40400, Title: "Not found", Details: "no such Connector API path"})
		f.m.request("unknown", "", 404)
		return
	}
	if r.call == "domain" {
		if !ctx.IsGet() && !ctx.IsHead() {
			ctx.Response.Header.Set("Allow", "GET, HEAD")
			f.writeError(ctx, nil, &apiError{Status: 405, ErrorCode: 40500, Title: "Method not allowed", Details: "use GET"})
		} else {
			f.serveDomain(ctx, r)
		}
		f.m.request(r.call, "", ctx.Response.StatusCode())
		f.m.duration.WithLabelValues(r.call).Observe(time.Since(start).Seconds())
		return
	}
	if !ctx.IsPost() {
		ctx.Response.Header.Set("Allow", "POST")
		f.writeError(ctx, nil, &apiError{Status: 405, ErrorCode: 40500, Title: "Method not allowed", Details: "use POST"})
		f.m.request(r.call, "", 405)
		return
	}
	if len(ctx.PostBody()) > f.cfg.MaxBodyBytes {
		f.writeError(ctx, nil, &apiError{Status: 413, ErrorCode: 41300, Title: "Request too large",
			Details: fmt.Sprintf("the body is over %d bytes", f.cfg.MaxBodyBytes)})
		f.m.request(r.call, "", 413)
		return
	}
	if r.call != "token" { // the token call's body is a form, not JSON
		if ae := checkBodyText(ctx.PostBody(), r.call == "conversation"); ae != nil {
			f.writeError(ctx, nil, ae)
			f.m.request(r.call, "", 400)
			return
		}
	}
	// The request's backend calls end by RequestTimeout; nothing else
	// ends them early, so the context is the clock's, shared, with no
	// timer of its own (and the request's span, when traced).
	c := telemetry.RequestContext(f.clock.After(f.cfg.RequestTimeout), ctx)
	var typ string
	switch r.call {
	case "token":
		f.serveToken(ctx, r)
	case "consumer":
		f.serveConsumer(c, ctx, r)
	case "conversation":
		typ = "batch"
		f.serveConversation(c, ctx, r)
	case "send":
		typ = f.serveSend(c, ctx, r)
	}
	f.m.request(r.call, typ, ctx.Response.StatusCode())
	f.m.duration.WithLabelValues(r.call).Observe(time.Since(start).Seconds())
}

// apiError is an answer in LivePerson's error format.
type apiError struct {
	Status    int
	ErrorCode int
	Title     string
	Details   string
	Field     string
	ReqID     json.RawMessage
	cause     error

	// RetryAfter, when positive, is sent as Retry-After.
	RetryAfter time.Duration
}

func (e *apiError) Error() string {
	s := fmt.Sprintf("%d %s: %s", e.Status, e.Title, e.Details)
	if e.cause != nil {
		s += ": " + e.cause.Error()
	}
	return s
}

func (e *apiError) Unwrap() error { return e.cause }

func badRequest(reqID json.RawMessage, field, format string, args ...any) *apiError {
	return &apiError{Status: 400, ErrorCode: 40000, Title: "Bad request", Field: field, ReqID: reqID,
		Details: fmt.Sprintf(format, args...)}
}

func missing(reqID json.RawMessage, field string) *apiError {
	return &apiError{Status: 400, ErrorCode: auth.CodeMissingParameter, Title: "Missing parameter", Field: field, ReqID: reqID,
		Details: field + " is missing"}
}

// errorBody is the body of LivePerson's error answer; field is ours, naming
// the request field at fault.
type errorBody struct {
	Title     string `json:"title"`
	Details   string `json:"details"`
	ErrorCode int    `json:"errorCode"`
	Field     string `json:"field,omitempty"`
}

// asAPIError turns any failure into an answer a connector can act on.
func asAPIError(err error, reqID json.RawMessage) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		if ae.ReqID == nil {
			ae.ReqID = reqID
		}
		return ae
	}
	var authErr *auth.Error
	if errors.As(err, &authErr) {
		return &apiError{Status: authErr.Status, ErrorCode: authErr.ErrorCode, Title: authErr.Title, Details: authErr.Details, ReqID: reqID, cause: err}
	}
	var envErr *envelope.Error
	if errors.As(err, &envErr) {
		id := envErr.ReqID
		if id == nil {
			id = reqID
		}
		field := envErr.Field
		if envErr.Index >= 0 {
			field = fmt.Sprintf("[%d].%s", envErr.Index, field)
			field = strings.TrimSuffix(field, ".")
		}
		return &apiError{Status: 400, ErrorCode: 40000, Title: "Bad request", Details: envErr.Error(), Field: field, ReqID: id, cause: err}
	}
	if errors.Is(err, mapping.ErrUnavailable) {
		return &apiError{Status: 503, ErrorCode: 50300, Title: "Service unavailable", Details: "the conversation store cannot be reached; retry later", ReqID: reqID, cause: err}
	}
	return failureError(engagement.Classify(err), reqID, err)
}

// failureError maps a classified AXP failure onto what a connector can act
// on; every face maps the same classes (engagement.Classify), so one AXP
// answer means one thing everywhere. Retryable answers carry Retry-After
// when it is known.
func failureError(f engagement.Failure, reqID json.RawMessage, err error) *apiError {
	e := &apiError{ReqID: reqID, cause: err, RetryAfter: f.RetryAfter}
	switch f.Class {
	case engagement.ClassInvalid:
		e.Status, e.ErrorCode, e.Title, e.Details = 400, 40000, "Bad request", f.Problem.Title
		if f.Problem.Detail != "" {
			e.Details = f.Problem.Detail
		}
		if len(f.Problem.Violations) > 0 {
			v := f.Problem.Violations[0]
			e.Field = v.Field
			e.Details = fmt.Sprintf("the contact center refused %s: %s", v.Field, v.Message)
		}
	case engagement.ClassNotFound:
		e.Status, e.ErrorCode, e.Title, e.Details = 404, 40400, "Not found", "the contact center does not know this conversation"
	case engagement.ClassConflict:
		e.Status, e.ErrorCode, e.Title, e.Details = 409, 40900, "Conflict", "the contact center's conversation does not allow this now"
	case engagement.ClassThrottled:
		e.Status, e.ErrorCode, e.Title, e.Details = 429, 42900, "Too many requests", "the contact center is throttling; retry later"
	case engagement.ClassUnavailable:
		e.Status, e.ErrorCode, e.Title = 503, 50300, "Service unavailable"
		switch {
		case f.Problem != nil:
			e.Details = "the contact center failed; retry later"
		case errors.Is(err, context.DeadlineExceeded):
			e.Details = "the contact center did not answer in time; retry later"
		default:
			e.Details = "the contact center cannot be reached; retry later"
		}
	case engagement.ClassRefused:
		e.Status, e.ErrorCode, e.Title, e.Details = 502, 50200, "Bad gateway", "the contact center refused the proxy's credentials"
	case engagement.ClassUnexpected:
		e.Status, e.ErrorCode, e.Title, e.Details = 502, 50200, "Bad gateway", fmt.Sprintf("the contact center answered %d", f.Status)
	default:
		e.Status, e.ErrorCode, e.Title, e.Details = 500, 50000, "Internal error", "the request failed inside the proxy"
	}
	return e
}

// writeError answers err in the LivePerson error format.
func (f *Face) writeError(ctx *fasthttp.RequestCtx, reqID json.RawMessage, err error) {
	ae := asAPIError(err, reqID)
	if ae.Status >= 500 {
		f.log.Error("connectorapi: request failed", "path", string(ctx.Path()), "status", ae.Status, "err", err)
	}
	r := envelope.Response{ReqID: ae.ReqID, Code: ae.Status, Type: envelope.ErrorRespType,
		Body: errorBody{Title: ae.Title, Details: ae.Details, ErrorCode: ae.ErrorCode, Field: ae.Field}}
	b, _ := r.AppendJSON(nil) // errorBody always encodes
	if ae.RetryAfter > 0 {
		ctx.Response.Header.Set("Retry-After", ratelimit.RetryAfter(ae.RetryAfter))
	}
	ctx.SetStatusCode(ae.Status)
	ctx.SetContentType("application/json;charset=utf-8")
	ctx.SetBody(b)
}

func writeJSON(ctx *fasthttp.RequestCtx, status int, body []byte) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json;charset=utf-8")
	ctx.SetBody(body)
}
