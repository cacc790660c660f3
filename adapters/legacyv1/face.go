package legacyv1

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"iter"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/mapping"
	"github.com/connector-proxy/connector-proxy/pipeline"
	"github.com/connector-proxy/connector-proxy/telemetry"
)

// Defaults of Config.
const (
	DefaultTokenTTL        = 900 * time.Second // AXP's token lifetime
	DefaultMaxBodyBytes    = 64 << 10
	DefaultRequestTimeout  = 15 * time.Second
	DefaultSettleTimeout   = 10 * time.Second
	DefaultSendWindow      = time.Hour
	DefaultDeliveryWindow  = time.Hour
	DefaultDeliveryTimeout = 5 * time.Second // AXP's own bound on a callback
	DefaultWebhookRefresh  = 2 * time.Second
	DefaultMaxWebhooks     = 20
)

// Config configures a Face.
type Config struct {
	// Binding is the account every legacy token is bound to, the channel
	// provider sessions are made for and the identifier key of the legacy
	// customerIdentifier.
	Binding
	// Clients may fetch tokens (at least one).
	Clients []Client
	// TokenKey signs the tokens (HS256, at least 32 bytes). Empty: a key
	// made at New, so that tokens die with the process; the proxy keeps
	// one in its data directory.
	TokenKey []byte
	// TokenTTL is the token lifetime (default 900 s, as AXP's).
	TokenTTL time.Duration
	// AllowInsecureWebhooks accepts plain-http callbacks to any host (by
	// default only to loopback hosts).
	AllowInsecureWebhooks bool
	// MaxBodyBytes refuses larger request bodies with 413 (default 64 KiB).
	MaxBodyBytes int
	// RequestTimeout bounds one request's backend calls (default 15 s).
	RequestTimeout time.Duration
	// SettleTimeout bounds how long, after AXP did not answer a create or
	// a send, the face looks for what it may have made before it answers
	// that the outcome is unknown (default 10 s).
	SettleTimeout time.Duration
	// UnconfirmedWindow is how long after it was sent a write AXP did not
	// answer may still land there (default 30 s, at least SettleTimeout):
	// until then a retry looks for it and is answered "not confirmed"
	// while it is not there, instead of making it a second time.
	UnconfirmedWindow time.Duration
	// SendWindow is how long a client's providerDialogId or
	// providerMessageId is remembered: a retry within it gets the first
	// attempt's dialog or message (default 1 h).
	SendWindow time.Duration
	// ReplicaID names this process in the records of creates and sends
	// under way, so that a retry on another replica waits for a live one.
	ReplicaID string
	// DeliveryWindow is how long a legacy webhook is retried before it is
	// dropped (default 1 h); DeliveryTimeout bounds one POST (default 5 s).
	DeliveryWindow  time.Duration
	DeliveryTimeout time.Duration
	// WebhookRefresh is how often registrations made on other replicas
	// are read (default 2 s); MaxWebhooks bounds the registrations of the
	// channel provider (default 20).
	WebhookRefresh time.Duration
	MaxWebhooks    int
	// Changed is told of each conversation the face created or closed, so
	// that the pipeline applies the events that waited for it (nil: none).
	Changed func(conversation string)
	Now     func() time.Time
	Logger  *slog.Logger
	// Tracing traces webhook deliveries (nil: off).
	Tracing *telemetry.Tracing
}

// backend is what the face needs of the engagement client.
type backend interface {
	CreateSession(ctx context.Context, in *engagement.CreateSession) (*engagement.Session, error)
	GetSession(ctx context.Context, sessionID string) (*engagement.Session, error)
	DeleteSession(ctx context.Context, sessionID, reason string) error
	CreateEngagement(ctx context.Context, in *engagement.CreateEngagement) (*engagement.Engagement, error)
	ListEngagements(ctx context.Context, sessionID string) ([]engagement.Engagement, error)
	GetEngagement(ctx context.Context, engagementID string) (*engagement.Engagement, error)
	JoinEngagement(ctx context.Context, engagementID string, in *engagement.JoinEngagement) (*engagement.Engagement, error)
	DisconnectEngagement(ctx context.Context, engagementID string, in *engagement.DisconnectEngagement) (*engagement.DisconnectEngagement, error)
	SendMessage(ctx context.Context, engagementID string, in *engagement.SendMessage) (*engagement.Message, error)
	AllMessages(ctx context.Context, engagementID, sessionID, dialogID string) iter.Seq2[*engagement.Message, error]
	FindMessage(ctx context.Context, engagementID, sessionID, dialogID, providerMessageID string) (*engagement.Message, error)
	FindDialog(ctx context.Context, sessionID, providerDialogID string) (*engagement.Engagement, *engagement.Dialog, error)
}

var _ backend = (*engagement.Client)(nil)

// Face serves the legacy /api/digital/v1 API and its token endpoint, and
// is the event pipeline's Face and Sender for its conversations
// (pipeline.go, sender.go).
type Face struct {
	cfg       Config
	b         Binding
	backend   backend
	store     mapping.Store
	hooks     registrations
	callbacks *fasthttp.Client
	now       func() time.Time
	log       *slog.Logger
}

// New builds the face over the engagement client and the proxy's store.
// LoadWebhooks must run before it serves.
func New(cfg Config, client *engagement.Client, store mapping.Store) (*Face, error) {
	if client == nil {
		return nil, errors.New("legacyv1: no engagement client")
	}
	return newFace(cfg, client, store)
}

func newFace(cfg Config, b backend, store mapping.Store) (*Face, error) {
	switch {
	case store == nil:
		return nil, errors.New("legacyv1: a store is required")
	case cfg.AccountID == "" || cfg.ChannelProviderID == "":
		return nil, errors.New("legacyv1: Config.AccountID and Config.ChannelProviderID are required")
	}
	if err := checkClients(cfg.Clients); err != nil {
		return nil, err
	}
	if len(cfg.TokenKey) == 0 {
		cfg.TokenKey = make([]byte, 32)
		_, _ = rand.Read(cfg.TokenKey) // crypto/rand.Read never fails on supported platforms
	}
	if len(cfg.TokenKey) < 32 {
		return nil, errors.New("legacyv1: Config.TokenKey must be at least 32 bytes")
	}
	if cfg.IdentifierKey == "" {
		cfg.IdentifierKey = DefaultIdentifierKey
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = DefaultTokenTTL
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.RequestTimeout, DefaultRequestTimeout)
	def(&cfg.SettleTimeout, DefaultSettleTimeout)
	def(&cfg.UnconfirmedWindow, max(30*time.Second, cfg.SettleTimeout))
	def(&cfg.SendWindow, DefaultSendWindow)
	def(&cfg.DeliveryWindow, DefaultDeliveryWindow)
	def(&cfg.DeliveryTimeout, DefaultDeliveryTimeout)
	def(&cfg.WebhookRefresh, DefaultWebhookRefresh)
	if cfg.MaxWebhooks <= 0 {
		cfg.MaxWebhooks = DefaultMaxWebhooks
	}
	if cfg.ReplicaID == "" {
		cfg.ReplicaID = "legacyv1-" + uuid.NewString()
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
	return &Face{cfg: cfg, b: cfg.Binding, backend: b, store: store, callbacks: pipeline.NewWebhookClient(cfg.DeliveryTimeout),
		now: cfg.Now, log: cfg.Logger}, nil
}

// Path prefixes the face serves: the proxy routes them to Handler.
const (
	PathAPI   = "/api/digital/v1/"
	PathToken = "/auth/realms/"
)

// Handler serves the token endpoint and the legacy API. Nothing from ctx
// is kept after it returns.
func (f *Face) Handler(ctx *fasthttp.RequestCtx) {
	path := string(ctx.Path())
	if len(path) > 1 && strings.HasSuffix(path, "/") {
		path = path[:len(path)-1] // clients post to "…:disconnect/"
	}
	if rest, ok := strings.CutPrefix(path, PathToken); ok {
		acct, tail, _ := strings.Cut(rest, "/")
		if tail != "protocol/openid-connect/token" {
			writeError(ctx, newError(http.StatusNotFound, "There is no API method associated with the URL path "+path))
			return
		}
		f.serveToken(ctx, acct)
		return
	}
	rest, ok := strings.CutPrefix(path, PathAPI)
	if !ok {
		writeError(ctx, newError(http.StatusNotFound, "There is no API method associated with the URL path "+path))
		return
	}
	if e := f.authenticate(ctx); e != nil {
		writeError(ctx, e)
		return
	}
	if len(ctx.PostBody()) > f.cfg.MaxBodyBytes {
		writeError(ctx, newError(http.StatusRequestEntityTooLarge, "the body is larger than the proxy accepts"))
		return
	}
	m, known := f.route(ctx, strings.Split(rest, "/"))
	if !known {
		writeError(ctx, newError(http.StatusNotFound, "There is no API method associated with the URL path "+path))
		return
	}
	rctx, cancel := context.WithTimeout(telemetry.RequestContext(context.Background(), ctx), f.cfg.RequestTimeout)
	defer cancel()
	m.serve(rctx, ctx)
}

// handler serves one call; it answers through ctx.
type handler func(rctx context.Context) (status int, body any, e *Error)

// methods are one path's handlers by HTTP method.
type methods struct{ get, post, delete handler }

// route maps the segments after /api/digital/v1/ onto their handlers.
func (f *Face) route(ctx *fasthttp.RequestCtx, seg []string) (methods, bool) {
	for _, s := range seg {
		if s == "" {
			return methods{}, false
		}
	}
	body := ctx.PostBody()
	q := ctx.QueryArgs()
	switch {
	case len(seg) == 1 && seg[0] == "sessions":
		return methods{post: func(c context.Context) (int, any, *Error) { return f.createSession(c, body) }}, true
	case len(seg) == 2 && seg[0] == "sessions":
		id, verb, _ := strings.Cut(seg[1], ":")
		switch verb {
		case "":
			return methods{get: func(c context.Context) (int, any, *Error) { return f.getSession(c, id) }}, true
		case "terminate":
			return methods{post: func(c context.Context) (int, any, *Error) { return f.terminateSession(c, id, body) }}, true
		}
	case len(seg) == 1 && seg[0] == "engagements":
		sid := string(q.Peek("sessionId"))
		return methods{
			post: func(c context.Context) (int, any, *Error) { return f.createEngagement(c, body) },
			get:  func(c context.Context) (int, any, *Error) { return f.listEngagements(c, sid) },
		}, true
	case len(seg) == 2 && seg[0] == "engagements":
		id, verb, _ := strings.Cut(seg[1], ":")
		switch verb {
		case "":
			return methods{get: func(c context.Context) (int, any, *Error) { return f.getEngagement(c, id) }}, true
		case "join":
			return methods{post: func(c context.Context) (int, any, *Error) { return f.joinEngagement(c, id, body) }}, true
		case "disconnect":
			return methods{post: func(c context.Context) (int, any, *Error) { return f.disconnectEngagement(c, id, body) }}, true
		}
	case len(seg) == 3 && seg[0] == "engagements" && seg[2] == "messages" && !strings.Contains(seg[1], ":"):
		id := seg[1]
		sid, did := string(q.Peek("sessionId")), string(q.Peek("dialogId"))
		return methods{
			post: func(c context.Context) (int, any, *Error) { return f.sendMessage(c, id, body) },
			get:  func(c context.Context) (int, any, *Error) { return f.listMessages(c, id, sid, did) },
		}, true
	case len(seg) == 3 && seg[0] == "engagements" && seg[2] == "notifications" && !strings.Contains(seg[1], ":"):
		id := seg[1]
		return methods{get: func(c context.Context) (int, any, *Error) { return f.notifications(c, id) }}, true
	case len(seg) == 3 && seg[0] == "channel-providers" && seg[2] == "webhooks":
		cp := seg[1]
		return methods{post: func(c context.Context) (int, any, *Error) { return f.registerWebhooks(c, cp, body) }}, true
	case len(seg) == 4 && seg[0] == "channel-providers" && seg[2] == "webhooks":
		cp, wid := seg[1], seg[3]
		return methods{delete: func(c context.Context) (int, any, *Error) { return f.deleteWebhook(c, cp, wid) }}, true
	}
	return methods{}, false
}

// serve runs the handler of the request's method (405 with Allow when the
// path has none) and writes its answer: JSON, or no body when body is nil.
func (m methods) serve(rctx context.Context, ctx *fasthttp.RequestCtx) {
	var h handler
	switch string(ctx.Method()) {
	case http.MethodGet:
		h = m.get
	case http.MethodPost:
		h = m.post
	case http.MethodDelete:
		h = m.delete
	}
	if h == nil {
		var allow []string
		for _, a := range []struct {
			h    handler
			name string
		}{{m.get, http.MethodGet}, {m.post, http.MethodPost}, {m.delete, http.MethodDelete}} {
			if a.h != nil {
				allow = append(allow, a.name)
			}
		}
		ctx.Response.Header.Set("Allow", strings.Join(allow, ", "))
		writeError(ctx, newError(http.StatusMethodNotAllowed, "allowed: "+strings.Join(allow, ", ")))
		return
	}
	status, body, e := h(rctx)
	if e != nil {
		writeError(ctx, e)
		return
	}
	ctx.SetStatusCode(status)
	if body == nil {
		return
	}
	b, err := json.Marshal(body)
	if err != nil {
		writeError(ctx, newError(http.StatusInternalServerError, ""))
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

// sessionKey is the registry key of a session the face made.
func (f *Face) sessionKey(sessionID string) mapping.ConsumerKey {
	return mapping.ConsumerKey{Face: OwnerFace, Account: f.b.AccountID, Consumer: sessionID}
}

// owned returns the face's record of a session, or a 404 naming the field:
// a legacy client touches only the sessions it made.
func (f *Face) owned(ctx context.Context, field, sessionID string) (mapping.SessionRef, *Error) {
	ref, err := f.store.Session(ctx, f.sessionKey(sessionID))
	if errors.Is(err, mapping.ErrNotFound) {
		e := newError(http.StatusNotFound, "session "+sessionID+" was not found")
		e.Violations = []Violation{{Field: field, Message: "no such session of this client"}}
		return ref, e
	}
	if err != nil {
		return ref, fromBackend(err, f.b)
	}
	return ref, nil
}

// dialogOf returns the face's conversation of a dialog of engagementID, or
// a 404 naming dialogId.
func (f *Face) dialogOf(ctx context.Context, engagementID, dialogID string) (*mapping.Conversation, *Error) {
	conv, err := f.store.ConversationByDialog(ctx, dialogID)
	if errors.Is(err, mapping.ErrNotFound) || (err == nil && !f.ours(conv, engagementID)) {
		e := newError(http.StatusNotFound, "dialog "+dialogID+" of engagement "+engagementID+" was not found")
		e.Violations = []Violation{{Field: "dialogId", Message: "no such dialog of this engagement"}}
		return nil, e
	}
	if err != nil {
		return nil, fromBackend(err, f.b)
	}
	return conv, nil
}

// ours reports whether conv is a conversation of this face, account and
// engagement.
func (f *Face) ours(conv *mapping.Conversation, engagementID string) bool {
	return conv.Owner.Face == OwnerFace && conv.Owner.Account == f.b.AccountID && conv.EngagementID == engagementID
}

// detached is a context for clean-up after a request's own one ran out.
func detached() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 5*time.Second)
}
