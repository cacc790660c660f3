package customerchannel

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/connector-proxy/connector-proxy/adapters/customerchannel/socketio"
	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/internal/deadline"
	"github.com/connector-proxy/connector-proxy/mapping"
	"github.com/connector-proxy/connector-proxy/pipeline"
	"github.com/connector-proxy/connector-proxy/telemetry"
	"github.com/google/uuid"
	"github.com/valyala/fasthttp"
)

// Backend is the part of the AXP client the face calls; *engagement.Client
// implements it, tests may fake it.
type Backend interface {
	CreateSession(ctx context.Context, req *engagement.CreateSession) (*engagement.Session, error)
	DeleteSession(ctx context.Context, sessionID, reason string) error
	CreateEngagement(ctx context.Context, req *engagement.CreateEngagement) (*engagement.Engagement, error)
	GetEngagement(ctx context.Context, engagementID string) (*engagement.Engagement, error)
	DisconnectEngagement(ctx context.Context, engagementID string, req *engagement.DisconnectEngagement) (*engagement.DisconnectEngagement, error)
	SendText(ctx context.Context, engagementID string, m engagement.TextMessage) (engagement.SentMessage, error)
	AllMessages(ctx context.Context, engagementID, sessionID, dialogID string) iter.Seq2[*engagement.Message, error]
	FindMessage(ctx context.Context, engagementID, sessionID, dialogID, providerMessageID string) (*engagement.Message, error)
	FindDialog(ctx context.Context, sessionID, providerDialogID string) (*engagement.Engagement, *engagement.Dialog, error)
}

// SMTPConfig is the mail server transcripts are sent through.
type SMTPConfig struct {
	// Addr is host:port; empty disables email transcripts (503).
	Addr string
	// From is the envelope and header sender.
	From string
	// Username and Password, when set, authenticate with PLAIN (which
	// net/smtp allows only over TLS or to localhost).
	Username, Password string
	// Timeout bounds one delivery (default 30 s).
	Timeout time.Duration
}

// Config configures the face.
type Config struct {
	// ChannelProviderID is the AXP channel provider sessions are made for.
	ChannelProviderID string
	// AllowedOrigins are the browser origins allowed by CORS and on the
	// Socket.IO handshake; "*" allows any. Empty: no cross-origin access.
	AllowedOrigins []string
	// ConnectorSecret is what a channel connector puts in its Socket.IO
	// CONNECT auth ({"secret": "…"}) to be allowed registerConnector.
	// Empty disables connectors.
	ConnectorSecret string
	SMTP            SMTPConfig
	// Transcript configures transcripts: fonts, links, mailing limits.
	Transcript TranscriptConfig
	// Socket configures the Socket.IO server; AllowedOrigins, Authenticate,
	// Now and Logger are filled in by New when unset.
	Socket socketio.Options
	// Greeting is the text of the greetings ActivityMessage.
	Greeting string
	// Timeout bounds the AXP and store calls of one socket event or init
	// (default 15 s).
	Timeout time.Duration
	// SettleTimeout bounds how long, after AXP did not answer a write, the
	// face looks for whether it landed before it answers (default 10 s).
	SettleTimeout time.Duration
	// UnconfirmedWindow is how long after it was sent a write AXP did not
	// answer may still land there (default 30 s, at least SettleTimeout):
	// until then a retry looks for it and is told it is not confirmed
	// while it is not there, instead of making it a second time.
	UnconfirmedWindow time.Duration
	// SendWindow is how long a sent message's id is remembered against
	// retries (default 10 min).
	SendWindow time.Duration
	// Changed is told of a conversation just made, so that events that
	// overtook its making apply at once.
	Changed func(conversation string)
	// Bus carries events and connector registrations between replicas; nil
	// when this is the only one.
	Bus Bus
	// ReplicaID names this process on the bus and in claims (default: a
	// random id).
	ReplicaID string
	Now       func() time.Time
	Logger    *slog.Logger
	Metrics   *Metrics
	// Tracing traces socket events and emits (nil: off).
	Tracing *telemetry.Tracing

	// InitLimit and SocketLimit, when set, are asked before an init and
	// before a request that opens an Engine.IO session (a GET without sid:
	// the polling handshake or a direct WebSocket). They return 0 to let it
	// through, else how long the client should wait: answered 429 with
	// Retry-After, in the HTTP calls' format or Engine.IO's.
	InitLimit, SocketLimit func(ctx *fasthttp.RequestCtx) time.Duration
}

// Face is the Customer Channel face. Its methods are safe for concurrent use.
type Face struct {
	cfg     Config
	backend Backend
	store   mapping.Store
	sock    *socketio.Server
	hub     *hub
	log     *slog.Logger
	m       *Metrics
	now     func() time.Time
	origins map[string]bool
	anyOrig bool
	// sendMail is net/smtp's, replaceable in tests of failures.
	sendMail func(ctx context.Context, to string, msg []byte) error
	// fonts are the transcript's, read at the first transcript (nil: the
	// WinAnsi writer); mail gates transcript mailing.
	fonts     *pdfFonts
	fontsOnce sync.Once
	mail      mailGate
	// ctx ends on Close; socket events run under it.
	ctx    context.Context
	cancel context.CancelFunc
	// What makes an event cheap: its context from a clock under ctx (no
	// timer of its own), providerMessageIds from a block of randomness,
	// and the conversation cache read without a copy.
	events *deadline.Clock
	ids    engagement.MessageIDs
	views  conversationViews // nil when the store has no cache to share
	okAck  any               // Ack{Status: "ok"}, made once
}

// conversationViews is a store that can hand out the conversation it
// caches, for a caller that only reads it (mapping.Cached).
type conversationViews interface {
	ConversationView(ctx context.Context, id string) (*mapping.Conversation, error)
}

var (
	_ pipeline.Face = (*Face)(nil)
	_ Backend       = (*engagement.Client)(nil)
)

// New builds the face. backend is normally an *engagement.Client.
func New(cfg Config, backend Backend, store mapping.Store) (*Face, error) {
	if backend == nil || store == nil {
		return nil, errors.New("customerchannel: a backend and a store are required")
	}
	if cfg.ChannelProviderID == "" {
		return nil, errors.New("customerchannel: ChannelProviderID is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil)
	}
	if cfg.Greeting == "" {
		cfg.Greeting = "Welcome! An agent will be with you shortly."
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	if cfg.SettleTimeout <= 0 {
		cfg.SettleTimeout = 10 * time.Second
	}
	if cfg.UnconfirmedWindow <= 0 {
		cfg.UnconfirmedWindow = max(30*time.Second, cfg.SettleTimeout)
	}
	if cfg.SendWindow <= 0 {
		cfg.SendWindow = 10 * time.Minute
	}
	if cfg.Changed == nil {
		cfg.Changed = func(string) {}
	}
	if cfg.SMTP.Timeout <= 0 {
		cfg.SMTP.Timeout = 30 * time.Second
	}
	if cfg.ReplicaID == "" {
		cfg.ReplicaID = uuid.NewString()
	}
	tc := &cfg.Transcript
	if tc.Fonts == nil {
		tc.Fonts = DefaultTranscriptFonts()
	}
	if tc.BoldFont == "" {
		tc.BoldFont = DefaultTranscriptBoldFont
	}
	if tc.LinkTTL <= 0 {
		tc.LinkTTL = DefaultTranscriptLinkTTL
	}
	if tc.MailEvery <= 0 {
		tc.MailEvery = DefaultTranscriptMailEvery
	}
	if tc.MailPerMinute <= 0 {
		tc.MailPerMinute = DefaultTranscriptMailRate
	}
	f := &Face{
		cfg: cfg, backend: backend, store: store, hub: newHub(),
		log: cfg.Logger, m: cfg.Metrics, now: cfg.Now, origins: map[string]bool{},
	}
	for _, o := range cfg.AllowedOrigins {
		if o == "*" {
			f.anyOrig = true
		}
		f.origins[strings.TrimRight(o, "/")] = true
	}
	f.sendMail = f.smtpSend
	f.ctx, f.cancel = context.WithCancel(context.Background())
	f.events = deadline.NewClockUnder(f.ctx, 0)
	f.views, _ = store.(conversationViews)
	f.okAck = Ack{Status: "ok"}
	f.sock = f.newSocketServer()
	if cfg.Bus != nil {
		if err := cfg.Bus.Subscribe(f.ctx, f.onBus); err != nil {
			f.cancel()
			return nil, fmt.Errorf("customerchannel: subscribe to the bus: %w", err)
		}
	}
	return f, nil
}

// Close disconnects every socket and stops the face's work.
func (f *Face) Close() error {
	f.cancel()
	if err := f.sock.Close(); err != nil {
		return fmt.Errorf("customerchannel: close sockets: %w", err)
	}
	return nil
}

// Handler serves the face's paths: /api/customer/init,
// /api/customer/transcript/{id}/{type}, /socket.io/ and their CORS
// preflights. Anything else is 404.
func (f *Face) Handler(ctx *fasthttp.RequestCtx) {
	path := string(ctx.Path())
	if strings.HasPrefix(path, "/socket.io/") || path == "/socket.io" {
		if f.cfg.SocketLimit != nil && newSession(ctx) {
			if wait := f.cfg.SocketLimit(ctx); wait > 0 {
				f.rateLimited(ctx, true, wait)
				return
			}
		}
		f.sock.Handler(ctx) // the socketio server checks origins itself
		return
	}
	if !strings.HasPrefix(path, "/api/customer/") {
		writeError(ctx, fasthttp.StatusNotFound, "NOT_FOUND", "no such path")
		return
	}
	f.cors(ctx)
	if ctx.IsOptions() {
		ctx.SetStatusCode(fasthttp.StatusNoContent)
		return
	}
	switch {
	case path == "/api/customer/init":
		if !ctx.IsPost() {
			ctx.Response.Header.Set("Allow", "POST, OPTIONS")
			writeError(ctx, fasthttp.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "use POST")
			return
		}
		f.handleInit(ctx)
	case strings.HasPrefix(path, "/api/customer/transcript/"):
		if !ctx.IsGet() && !ctx.IsPost() {
			ctx.Response.Header.Set("Allow", "GET, POST, OPTIONS")
			writeError(ctx, fasthttp.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "use GET or POST")
			return
		}
		f.handleTranscript(ctx, strings.TrimPrefix(path, "/api/customer/transcript/"))
	default:
		writeError(ctx, fasthttp.StatusNotFound, "NOT_FOUND", "no such path")
	}
}

// cors answers browsers: only configured origins are echoed back.
func (f *Face) cors(ctx *fasthttp.RequestCtx) {
	origin := string(ctx.Request.Header.Peek("Origin"))
	if origin == "" || !f.originAllowed(origin) {
		return
	}
	h := &ctx.Response.Header
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	if ctx.IsOptions() {
		h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		if req := ctx.Request.Header.Peek("Access-Control-Request-Headers"); len(req) > 0 {
			h.SetBytesV("Access-Control-Allow-Headers", req)
		} else {
			h.Set("Access-Control-Allow-Headers", "Content-Type")
		}
		h.Set("Access-Control-Max-Age", "600")
	}
}

func (f *Face) originAllowed(origin string) bool {
	return f.anyOrig || f.origins[strings.TrimRight(origin, "/")]
}

// smtpSend delivers one message with net/smtp, bounded by ctx and the
// configured timeout.
func (f *Face) smtpSend(ctx context.Context, to string, msg []byte) error {
	return sendSMTP(ctx, f.cfg.SMTP, to, msg)
}
