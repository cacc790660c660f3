package console

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// Prefix is where the console lives on the public listener.
const Prefix = "/demo/"

// Defaults of Config.
const (
	DefaultMaxSubscribers   = 16
	DefaultSubscriberBuffer = 64
	DefaultReplayEvents     = 128
	DefaultHeartbeat        = 15 * time.Second
	DefaultMaxHookBody      = 1 << 20
)

// PageConfig is what the page reads from /demo/config.json.
type PageConfig struct {
	// Demo is whether the proxy runs against its embedded simulator.
	Demo bool `json:"demo"`
	// Account is the Connector API account the connector pane uses.
	Account string `json:"account"`
	// ClientID and ClientSecret prefill the connector pane: the demo app's,
	// which the start-up banner prints anyway. Empty outside demo mode.
	ClientID     string `json:"clientId,omitempty"`
	ClientSecret string `json:"clientSecret,omitempty"`
	// SimAccount is the AXP account whose engagements the agent desk lists.
	SimAccount string `json:"simAccount,omitempty"`
	// AgentDesk is whether /demo/agent/ reaches a simulator (set by New).
	AgentDesk bool `json:"agentDesk"`
	// Notifications is whether an app's webhooks point at the sink.
	Notifications bool `json:"notifications"`
}

// Config configures a Console. Zero values take the defaults.
type Config struct {
	// Agent serves the simulator's agent API (/sim/…); nil when there is no
	// simulator, and the agent desk answers 404.
	Agent fasthttp.RequestHandler
	// Secret returns the client secret of a connector app, which signs the
	// notifications sent to the sink.
	Secret func(accountID, clientID string) (string, bool)
	Page   PageConfig

	MaxSubscribers   int           // pages listening at once (default 16)
	SubscriberBuffer int           // events waiting per page before it is dropped (default 64)
	ReplayEvents     int           // events kept for pages that reconnect (default 128)
	Heartbeat        time.Duration // comment interval on idle streams (default 15 s)
	MaxHookBody      int           // largest notification accepted (default 1 MiB)

	Metrics *Metrics     // default: not exported
	Logger  *slog.Logger // default: discards
	Now     func() time.Time
}

// Console serves the demo console. Its lifecycle: New, then Handler for
// every request under Prefix, then Close, which ends the streams of
// connected pages (they also end when the server shuts down).
type Console struct {
	cfg    Config
	log    *slog.Logger
	m      *Metrics
	files  map[string]*file
	config []byte // config.json
	hub    *hub

	closeOnce sync.Once
	closed    chan struct{}
}

// New builds a Console.
func New(cfg Config) (*Console, error) {
	if cfg.Secret == nil {
		return nil, fmt.Errorf("console: Config.Secret is required")
	}
	def := func(n *int, v int) {
		if *n <= 0 {
			*n = v
		}
	}
	def(&cfg.MaxSubscribers, DefaultMaxSubscribers)
	def(&cfg.SubscriberBuffer, DefaultSubscriberBuffer)
	def(&cfg.ReplayEvents, DefaultReplayEvents)
	def(&cfg.MaxHookBody, DefaultMaxHookBody)
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Page.AgentDesk = cfg.Agent != nil
	files, err := loadFiles()
	if err != nil {
		return nil, err
	}
	page, err := json.Marshal(cfg.Page)
	if err != nil {
		return nil, fmt.Errorf("console: page config: %w", err)
	}
	c := &Console{
		cfg:    cfg,
		log:    cfg.Logger,
		m:      cfg.Metrics,
		files:  files,
		config: page,
		closed: make(chan struct{}),
	}
	c.hub = newHub(cfg.MaxSubscribers, cfg.SubscriberBuffer, cfg.ReplayEvents, c.m)
	return c, nil
}

// HookPath is the sink's path for a webhook key of an app manifest.
func HookPath(key string) string { return Prefix + "hooks/" + key }

// Close ends every page's stream; later requests for one get 503. It is
// safe to call more than once.
func (c *Console) Close() error {
	c.closeOnce.Do(func() {
		close(c.closed)
		c.hub.close()
	})
	return nil
}

// Handler serves every path under Prefix (and Prefix without its slash,
// redirected).
func (c *Console) Handler(ctx *fasthttp.RequestCtx) {
	path := string(ctx.Path())
	rest, ok := cutPrefix(path)
	switch {
	case !ok:
		if path == Prefix[:len(Prefix)-1] {
			ctx.Redirect(Prefix, fasthttp.StatusPermanentRedirect)
			return
		}
		notFound(ctx)
	case hasPathPrefix(rest, "agent/"):
		c.serveAgent(ctx, rest[len("agent/"):])
	case hasPathPrefix(rest, "hooks/"):
		c.serveHook(ctx, rest[len("hooks/"):])
	case rest == "notifications":
		c.serveNotifications(ctx)
	case rest == "config.json":
		if !readOnly(ctx) {
			return
		}
		setSecurityHeaders(ctx)
		ctx.Response.Header.Set("Cache-Control", "no-store")
		ctx.SetContentType("application/json")
		ctx.SetBody(c.config)
	default:
		c.serveFile(ctx, rest)
	}
}

func cutPrefix(path string) (string, bool) {
	if len(path) < len(Prefix) || path[:len(Prefix)] != Prefix {
		return "", false
	}
	return path[len(Prefix):], true
}

func hasPathPrefix(s, prefix string) bool { return len(s) >= len(prefix) && s[:len(prefix)] == prefix }

// readOnly answers 405 to methods other than GET and HEAD.
func readOnly(ctx *fasthttp.RequestCtx) bool {
	if ctx.IsGet() || ctx.IsHead() {
		return true
	}
	ctx.Response.Header.Set("Allow", "GET, HEAD")
	jsonError(ctx, fasthttp.StatusMethodNotAllowed, "use GET")
	return false
}

// jsonError answers {"error": msg}: the page shows msg as it is.
func jsonError(ctx *fasthttp.RequestCtx, status int, msg string) {
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{msg})
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

func notFound(ctx *fasthttp.RequestCtx) {
	jsonError(ctx, fasthttp.StatusNotFound, "not found")
}
