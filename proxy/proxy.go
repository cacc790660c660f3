package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/adapters/connectorapi"
	"github.com/connector-proxy/connector-proxy/adapters/customerchannel"
	"github.com/connector-proxy/connector-proxy/adapters/customerchannel/socketio"
	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/adapters/legacyv1"
	"github.com/connector-proxy/connector-proxy/auth"
	"github.com/connector-proxy/connector-proxy/config"
	"github.com/connector-proxy/connector-proxy/console"
	"github.com/connector-proxy/connector-proxy/mapping"
	"github.com/connector-proxy/connector-proxy/pipeline"
	"github.com/connector-proxy/connector-proxy/simulator"
	"github.com/connector-proxy/connector-proxy/telemetry"
)

// subscribedEvents are what the proxy asks AXP for: agent-side messages
// (customer messages are the proxy's own), participants and errors.
// ENGAGEMENT_CREATED is left out: AXP sends it while the create call is
// still being answered, before the proxy has written the mapping, so it
// could never be routed.
func subscribedEvents() []string {
	return []string{
		engagement.SubscribeCCMessages,
		engagement.EventParticipantAdded,
		engagement.EventParticipantDisconnected,
		engagement.EventEngagementError,
	}
}

// Proxy is one running connector-proxy.
type Proxy struct {
	cfg *config.Config
	log *slog.Logger
	reg *prometheus.Registry

	sim      *simulator.Server // demo mode only
	store    mapping.Store
	bolt     *mapping.Bolt // the embedded store, for its sweeper
	backend  *engagement.Client
	lp       *connectorapi.Face
	cc       *customerchannel.Face
	pipe     *pipeline.Pipeline
	legacy   *legacyv1.Face // nil unless legacy_v1 is configured
	receiver *engagement.Receiver
	tokens   *auth.Service
	console  *console.Console // when demo.console is on

	public, admin     *fasthttp.Server
	publicLn, adminLn net.Listener
	plainLn           net.Listener // plain http beside TLS, when configured
	callbackURL       string
	subscribed        chan struct{} // closed once the AXP subscription is in place
	closers           []func() error
	metrics           *proxyMetrics
	// axpMetrics is shared by the AXP client and the webhook receiver.
	axpMetrics *engagement.Metrics
	// replicaID names this process among replicas sharing Redis; holder
	// names this run of it (leases, claims and send records are held in
	// its name, so that a restarted replica is not taken for the one that
	// died). bus carries Customer Channel events between replicas (nil
	// with bolt).
	replicaID   string
	holder      string
	pipeMetrics *pipeline.Metrics
	bus         customerchannel.Bus

	// The edge (edge.go): TLS of the public listener, its metrics, the
	// faces' rate limits, and the last AXP subscription check.
	tlsConf  *tls.Config
	edgeM    *edgeMetrics
	limits   *rateLimits
	subCheck atomic.Pointer[subscriptionCheck]

	// tel traces requests across the hop (tracing.go); nil: off.
	tel *telemetry.Tracing
}

// New provisions every part. On error, what was already started is
// released.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger) (p *Proxy, err error) {
	return newProxy(ctx, cfg, log, nil)
}

// newProxy is New; tel, when set, traces instead of what the configuration
// says (a test's in-memory recorder; its owner shuts it down).
func newProxy(ctx context.Context, cfg *config.Config, log *slog.Logger, tel *telemetry.Tracing) (p *Proxy, err error) {
	p = &Proxy{cfg: cfg, log: log, reg: prometheus.NewRegistry(), subscribed: make(chan struct{})}
	defer func() {
		if err != nil {
			p.cleanup()
		}
	}()
	if err := p.provisionTracing(ctx, tel); err != nil {
		return nil, err
	}
	p.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	p.metrics = newProxyMetrics(p.reg)
	p.axpMetrics = engagement.NewMetrics(p.reg)

	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("proxy: data dir: %w", err)
	}
	if p.replicaID = cfg.ReplicaID; p.replicaID == "" {
		p.replicaID = pipeline.DefaultReplicaID()
	}
	p.holder = p.replicaID + "#" + pipeline.RunID()
	p.pipeMetrics = pipeline.NewMetrics(p.reg)
	p.log = p.log.With("replica", p.replicaID)
	log = p.log
	if err := p.provisionStore(ctx); err != nil {
		return nil, err
	}
	baseURL := cfg.AXP.BaseURL
	if cfg.DemoMode() {
		sim, err := simulator.Start(ctx, simulator.Config{
			ClientID:     cfg.AXP.ClientID,
			ClientSecret: cfg.AXP.ClientSecret,
			APIVersion:   cfg.AXP.APIVersion, // demo mode runs on the generation configured
			AppKey:       cfg.AXP.AppKey,
			AutoAgent:    !cfg.Demo.ManualAgent,
			Logger:       log.With("component", "engagement-sim"),
		}, cfg.Demo.SimListen)
		if err != nil {
			return nil, fmt.Errorf("proxy: demo simulator on %s: %w", cfg.Demo.SimListen, err)
		}
		p.sim = sim
		p.closers = append(p.closers, sim.Close)
		baseURL = sim.URL
	}
	p.backend, err = engagement.NewClient(engagement.Config{
		BaseURL:      baseURL,
		AccountID:    cfg.AXP.AccountID,
		ClientID:     cfg.AXP.ClientID,
		ClientSecret: cfg.AXP.ClientSecret,
		APIVersion:   cfg.AXP.APIVersion,
		AppKey:       cfg.AXP.AppKey,
		Timeout:      cfg.AXP.Timeout,
		Metrics:      p.axpMetrics,
		Logger:       log.With("component", "axp"),
		Tracing:      p.tel,
	})
	if err != nil {
		return nil, fmt.Errorf("proxy: AXP client: %w", err)
	}
	if err := p.provisionFaces(); err != nil {
		return nil, err
	}
	if err := p.provisionReceiver(); err != nil {
		return nil, err
	}
	return p, p.listen()
}

func (p *Proxy) provisionStore(ctx context.Context) error {
	cacheMetrics := mapping.NewCacheMetrics(p.reg)
	switch p.cfg.Store.Driver {
	case "bolt":
		b, err := mapping.OpenBolt(filepath.Join(p.cfg.DataDir, "connector-proxy.db"), mapping.WithRetention(p.cfg.Store.Retention),
			mapping.WithCommitObserver(p.pipeMetrics.CommitObserver("bbolt")), mapping.WithSendCommitObserver(p.pipeMetrics.CommitObserver("send_log")))
		if err != nil {
			return fmt.Errorf("proxy: store: %w", err)
		}
		p.bolt = b
		p.closers = append(p.closers, b.Close)
		p.reg.MustRegister(mapping.NewBoltCollector(b))
		p.store = mapping.NewCached(b, p.cfg.Store.CacheSize, false, cacheMetrics)
		return nil
	case "redis":
		r, err := openRedis(ctx, p.cfg.Store, p.log)
		if err != nil {
			return fmt.Errorf("proxy: store: %w", err)
		}
		p.closers = append(p.closers, r.Close)
		// Shared: other replicas change conversations behind this one's back.
		p.store = mapping.NewCached(r, p.cfg.Store.CacheSize, true, cacheMetrics)
		bus, err := customerchannel.NewRedisBus(ctx, p.cfg.Store.RedisURL, customerchannel.RedisBusOptions{
			Logger: p.log.With("component", "bus"), Cluster: p.cfg.Store.RedisCluster})
		if err != nil {
			return fmt.Errorf("proxy: replica bus: %w", err)
		}
		p.closers = append(p.closers, bus.Close)
		p.bus = bus
		return nil
	}
	return &config.FieldError{Field: "store.driver", Msg: fmt.Sprintf("%q is not available in this build", p.cfg.Store.Driver)}
}

// openRedis waits a while for a Redis that is not up yet (replicas and
// Redis often start together); a Redis that stays away fails the start so
// that the supervisor sees it.
func openRedis(ctx context.Context, c config.Store, log *slog.Logger) (*mapping.Redis, error) {
	const patience = 30 * time.Second
	deadline := time.Now().Add(patience)
	delay := 250 * time.Millisecond
	for {
		opts := []mapping.RedisOption{mapping.WithRedisRetention(c.Retention)}
		if c.RedisCluster {
			opts = append(opts, mapping.WithRedisCluster())
		}
		r, err := mapping.OpenRedis(ctx, c.RedisURL, opts...)
		if err == nil || !errors.Is(err, mapping.ErrUnavailable) || time.Now().After(deadline) {
			return r, err
		}
		log.Warn("Redis not reachable yet; retrying", "err", err, "in", delay.String())
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 4*time.Second)
	}
}

func (p *Proxy) provisionFaces() error {
	cfg := p.cfg
	tokens, err := auth.New(auth.Options{
		Apps:    cfg.ConnectorAPI.Apps,
		KeyFile: cfg.ConnectorAPI.KeyFile,
		DataDir: cfg.DataDir,
		Issuer:  cfg.ConnectorAPI.Issuer,
	})
	if err != nil {
		return fmt.Errorf("proxy: connector API auth: %w", err)
	}
	// A write AXP does not answer is looked for during twice the AXP
	// timeout: long enough for a slow AXP to apply it, within the request.
	settle := 2 * cfg.AXP.Timeout
	changed := func(conv string) { p.pipe.Poke(conv) }
	p.tokens = tokens
	p.lp, err = connectorapi.New(connectorapi.Config{
		ChannelProviderID: cfg.AXP.ChannelProviderID,
		PublicHost:        p.domainHost(),
		TLSPort:           p.tlsPort(),
		Logger:            p.log.With("face", "connectorapi"),
		Metrics:           connectorapi.NewMetrics(p.reg),
		ReplicaID:         p.holder,
		SettleTimeout:     settle,
		UnconfirmedWindow: cfg.AXP.UnconfirmedWindow,
		RequestTimeout:    max(connectorapi.DefaultRequestTimeout, 3*cfg.AXP.Timeout+time.Second),
		Changed:           changed,
		AppLimit:          p.rateLimits().app,
		ConsumerLimit:     p.rateLimits().consumer,
		Tracing:           p.tel,
	}, p.backend, p.store, tokens)
	if err != nil {
		return fmt.Errorf("proxy: connector API face: %w", err)
	}
	p.cc, err = customerchannel.New(customerchannel.Config{
		ChannelProviderID: cfg.AXP.ChannelProviderID,
		AllowedOrigins:    cfg.CustomerChannel.AllowedOrigins,
		ConnectorSecret:   cfg.CustomerChannel.ConnectorSecret,
		SMTP: customerchannel.SMTPConfig{
			Addr:     cfg.CustomerChannel.SMTP.Addr,
			From:     cfg.CustomerChannel.SMTP.From,
			Username: cfg.CustomerChannel.SMTP.Username,
			Password: cfg.CustomerChannel.SMTP.Password,
		},
		Transcript: customerchannel.TranscriptConfig{
			Fonts:         cfg.CustomerChannel.Transcript.Fonts,
			BoldFont:      cfg.CustomerChannel.Transcript.BoldFont,
			LinkTTL:       cfg.CustomerChannel.Transcript.LinkTTL,
			MailEvery:     cfg.CustomerChannel.Transcript.MailEvery,
			MailPerMinute: cfg.CustomerChannel.Transcript.MailPerMinute,
		},
		Socket: socketio.Options{
			PingInterval: cfg.CustomerChannel.PingInterval,
			PingTimeout:  cfg.CustomerChannel.PingTimeout,
			MaxPayload:   cfg.CustomerChannel.MaxPayload,
			Metrics:      socketio.NewMetrics(p.reg),
		},
		Logger:            p.log.With("face", "customerchannel"),
		Metrics:           customerchannel.NewMetrics(p.reg),
		Bus:               p.bus,
		ReplicaID:         p.holder,
		SettleTimeout:     settle,
		UnconfirmedWindow: cfg.AXP.UnconfirmedWindow,
		Timeout:           max(15*time.Second, 3*cfg.AXP.Timeout+time.Second),
		Changed:           changed,
		InitLimit:         p.rateLimits().init,
		SocketLimit:       p.rateLimits().socket,
		Tracing:           p.tel,
	}, p.backend, p.store)
	if err != nil {
		return fmt.Errorf("proxy: customer channel face: %w", err)
	}
	p.closers = append(p.closers, p.cc.Close)
	faces := map[mapping.Face]pipeline.Face{
		mapping.FaceConnectorAPI:    p.lp,
		mapping.FaceCustomerChannel: p.cc,
	}
	senders := map[mapping.Face]pipeline.Sender{mapping.FaceConnectorAPI: p.lp}
	if err := p.provisionLegacy(faces, senders); err != nil {
		return err
	}
	p.pipe, err = pipeline.New(pipeline.Config{
		Store:       p.store,
		Faces:       faces,
		Senders:     senders,
		Engagements: p.backend,
		Holder:      p.holder,
		LeaseTTL:    cfg.ConnectorAPI.LeaseTTL,
		Logger:      p.log.With("component", "pipeline"),
		Metrics:     p.pipeMetrics,
		Tracing:     p.tel,

		DroppedMax:       cfg.Outbox.DroppedMax,
		DroppedRetention: cfg.Outbox.DroppedRetention,
		PauseRefresh:     cfg.Outbox.PauseRefresh,
	})
	if err != nil {
		return fmt.Errorf("proxy: event pipeline: %w", err)
	}
	return nil
}

func (p *Proxy) provisionReceiver() error {
	token := p.cfg.AXP.WebhookToken
	if token == "" {
		var err error
		if token, err = loadOrCreateToken(filepath.Join(p.cfg.DataDir, "webhook-token")); err != nil {
			return fmt.Errorf("proxy: webhook token: %w", err)
		}
	}
	if err := engagement.CheckWebhookToken(token); err != nil {
		return &config.FieldError{Field: "axp.webhook_token", Msg: err.Error()}
	}
	p.receiver = engagement.NewReceiver(p.pipe, engagement.ReceiverOptions{
		Token:   token,
		Metrics: p.axpMetrics,
		Logger:  p.log.With("component", "axp-webhook"),
	})
	return nil
}

// publicURL is the configured public URL, or one made of the bound address:
// with TLS, the plain listener when there is one (a local AXP, the demo
// simulator, does not trust the proxy's certificate), else https.
func (p *Proxy) publicURL() string {
	if p.cfg.PublicURL != "" {
		return strings.TrimRight(p.cfg.PublicURL, "/")
	}
	addr, scheme := p.PublicAddr(), "http"
	if p.cfg.TLS.Enabled() {
		if scheme = "https"; p.plainLn != nil {
			addr, scheme = p.PlainAddr(), "http"
		}
	}
	host, port, _ := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// loadOrCreateToken keeps the webhook path token across restarts, so the
// subscription AXP holds stays valid.
func loadOrCreateToken(path string) (string, error) {
	if raw, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(raw)), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	token, err := engagement.NewWebhookToken()
	if err != nil {
		return "", err
	}
	return token, os.WriteFile(path, []byte(token+"\n"), 0o600)
}

func (p *Proxy) listen() error {
	var err error
	if p.publicLn, err = net.Listen("tcp", p.cfg.Listen); err != nil {
		return &config.FieldError{Field: "listen", Msg: err.Error()}
	}
	if p.adminLn, err = net.Listen("tcp", p.cfg.AdminListen); err != nil {
		p.publicLn.Close()
		return &config.FieldError{Field: "admin_listen", Msg: err.Error()}
	}
	if err := p.listenTLS(); err != nil {
		return err // cleanup closes the listeners
	}
	// One guard for both public listeners: the caps count connections, not
	// listeners. Admin stays apart, so /readyz answers while they are full.
	lim := p.cfg.Limits
	guard := newEdgeGuard(maxConns(lim.MaxConns, p.log), lim.MaxConnsPerIP, lim.TrustedPrefixes(), p.edge())
	edgeLog := p.log.With("component", "edge")
	p.publicLn = newEdgeListener(p.publicLn, guard, p.edge(), p.tlsConf, edgeLog)
	if p.plainLn != nil {
		p.plainLn = newEdgeListener(p.plainLn, guard, p.edge(), nil, edgeLog)
	}
	// Admin is not capped, but it too must outlive running out of fds.
	p.adminLn = newEdgeListener(p.adminLn, nil, p.edge(), nil, edgeLog)
	h := newHTTPMetrics(p.reg)
	p.public = &fasthttp.Server{
		Handler:      h.instrument(routeName, p.tel.Server(routeTemplate, p.route)),
		ErrorHandler: p.refuse,
		ConnState:    connState,
		Name:         "connector-proxy",
		// The buffer bounds the request head (a stock Node server takes
		// 16 KiB: browsers' cookies, the largest ConsumerJWS).
		ReadBufferSize: lim.MaxHeaderBytes,
		ReadTimeout:    lim.ReadTimeout,
		WriteTimeout:   2 * time.Minute,
		IdleTimeout:    lim.IdleTimeout,
		// Polling POSTs carry up to maxPayload; above it the Socket.IO
		// server answers 413 itself, which fasthttp's own limit would hide.
		MaxRequestBodySize:    max(4<<20, p.cfg.CustomerChannel.MaxPayload+64<<10),
		CloseOnShutdown:       true,
		SecureErrorLogMessage: true,
		Logger:                fasthttpLog{p.log, p.edge()},
	}
	p.callbackURL = p.publicURL() + p.receiver.Path()
	if err := p.provisionConsole(); err != nil {
		return err
	}
	p.admin = &fasthttp.Server{
		Handler:               p.adminHandler(),
		Name:                  "connector-proxy-admin",
		ReadTimeout:           10 * time.Second,
		WriteTimeout:          30 * time.Second,
		CloseOnShutdown:       true,
		SecureErrorLogMessage: true,
		Logger:                fasthttpLog{p.log, p.edge()},
	}
	return nil
}

// route sends each path to its face. The faces answer unknown paths under
// their prefixes in their own error format.
func (p *Proxy) route(ctx *fasthttp.RequestCtx) {
	path := ctx.Path()
	switch {
	case hasPrefix(path, "/webhooks/axp/"):
		p.receiver.Handler(ctx)
	case hasPrefix(path, "/sentinel/"), hasPrefix(path, "/api/account/"):
		p.lp.Handler(ctx)
	case hasPrefix(path, "/api/customer/"), hasPrefix(path, "/socket.io/"):
		p.cc.Handler(ctx)
	case p.legacy != nil && legacyPath(path):
		p.legacy.Handler(ctx)
	case p.console != nil && (hasPrefix(path, console.Prefix) || string(path) == "/demo"):
		p.console.Handler(ctx)
	default:
		ctx.Error(`{"error":"not found"}`, fasthttp.StatusNotFound)
		ctx.SetContentType("application/json")
	}
}

func hasPrefix(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && string(b[:len(prefix)]) == prefix
}

// PublicAddr and AdminAddr are the bound addresses (useful with ":0").
func (p *Proxy) PublicAddr() string { return p.publicLn.Addr().String() }

// AdminAddr is the admin listener's bound address.
func (p *Proxy) AdminAddr() string { return p.adminLn.Addr().String() }

// SimulatorURL is the embedded simulator's URL in demo mode, "" otherwise.
func (p *Proxy) SimulatorURL() string {
	if p.sim == nil {
		return ""
	}
	return p.sim.URL
}

// Run serves until ctx ends, then shuts down gracefully.
func (p *Proxy) Run(ctx context.Context) error {
	errc := make(chan error, 3)
	publicLn := newClosingListener(p.publicLn)
	go func() { errc <- p.public.Serve(publicLn) }()
	go func() { errc <- p.admin.Serve(p.adminLn) }()
	if p.plainLn != nil {
		go func() { errc <- p.public.Serve(p.plainLn) }()
	}

	bg, stopBG := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { p.keepSubscribed(bg) })
	wg.Go(func() {
		if err := p.pipe.Run(bg); err != nil && !errors.Is(err, context.Canceled) {
			p.log.Error("event pipeline stopped", "err", err)
		}
	})
	if p.bolt != nil {
		wg.Go(func() { p.sweep(bg) })
	}

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
		p.log.Error("listener failed", "err", serveErr)
	}
	p.log.Info("shutting down", "drain_timeout", p.cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), p.cfg.ShutdownTimeout)
	defer cancel()
	drained := make(chan error, 2)
	for _, s := range []*fasthttp.Server{p.public, p.admin} {
		go func() { drained <- s.ShutdownWithContext(sctx) }()
	}
	// A Serve not begun yet when ctx ended (a start stopped at once) is not
	// one fasthttp's shutdown knows of: closing the listeners here ends it
	// either way, and says the public one is closed.
	_ = publicLn.Close()
	for _, ln := range []net.Listener{p.adminLn, p.plainLn} {
		if ln != nil {
			_ = ln.Close()
		}
	}
	// Sockets are not requests: a polling GET is held up to the ping
	// interval and a WebSocket never ends by itself, so the drain would wait
	// for them. Once the listener stops accepting, close them: clients are
	// told to go (no Socket.IO DISCONNECT, so they reconnect, to another
	// replica when there is one). Close is idempotent; cleanup calls it too.
	<-publicLn.closed
	if err := p.cc.Close(); err != nil {
		p.log.Warn("closing sockets", "err", err)
	}
	errs := []error{<-drained, <-drained}
	for i, err := range errs {
		if errors.Is(err, net.ErrClosed) { // the listener closed above, closed again
			errs[i] = nil
		}
	}
	stopBG()
	wg.Wait()
	p.cleanup()
	errs = append(errs, serveErr)
	return errors.Join(errs...)
}

// keepSubscribed makes sure AXP sends this proxy its events: at start,
// then every axp.subscription_check_interval, making the subscription
// again if AXP lost it; a failed check is retried with a capped backoff.
// /readyz reports the last check.
func (p *Proxy) keepSubscribed(ctx context.Context) {
	interval := p.cfg.AXP.SubscriptionCheckInterval
	delay := min(time.Second, interval)
	var first sync.Once
	lastID := ""
	for {
		sctx, cancel := context.WithTimeout(ctx, p.cfg.AXP.Timeout)
		sub, err := p.backend.EnsureSubscription(sctx, p.cfg.AXP.ChannelProviderID, p.callbackURL, subscribedEvents())
		cancel()
		if ctx.Err() != nil {
			return
		}
		p.subCheck.Store(&subscriptionCheck{err: err})
		wait := interval
		if err == nil {
			if sub.SubscriptionID != lastID {
				p.log.Info("AXP subscription in place", "subscription", sub.SubscriptionID, "channel_provider", sub.ChannelProviderID,
					"replaces", lastID)
				lastID = sub.SubscriptionID
			}
			first.Do(func() { close(p.subscribed) })
			delay = min(time.Second, interval)
		} else {
			p.log.Warn("AXP subscription check failed; retrying", "err", err, "in", delay.String())
			wait = delay
			delay = min(delay*2, interval, time.Minute)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// sweep removes expired dedupe keys and old closed conversations every ten
// minutes, and expired send records every ten seconds: there may be
// thousands a second of those (SweepSends).
func (p *Proxy) sweep(ctx context.Context) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	sends := time.NewTicker(10 * time.Second)
	defer sends.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := p.bolt.Sweep(ctx); err != nil {
				p.log.Warn("store sweep failed", "err", err)
			} else if n > 0 {
				p.log.Info("store swept", "removed", n)
			}
		case <-sends.C:
			if _, err := p.bolt.SweepSends(ctx); err != nil {
				p.log.Warn("send records sweep failed", "err", err)
			}
		}
	}
}

// cleanup releases in reverse order of provisioning.
func (p *Proxy) cleanup() {
	for i := len(p.closers) - 1; i >= 0; i-- {
		if err := p.closers[i](); err != nil {
			p.log.Warn("cleanup", "err", err)
		}
	}
	p.closers = nil
	for _, ln := range []net.Listener{p.publicLn, p.adminLn, p.plainLn} {
		if ln != nil {
			ln.Close()
		}
	}
}

// closingListener tells when fasthttp's shutdown has closed it, which is
// when no new connection can arrive.
type closingListener struct {
	net.Listener
	once   sync.Once
	closed chan struct{}
}

func newClosingListener(ln net.Listener) *closingListener {
	return &closingListener{Listener: ln, closed: make(chan struct{})}
}

// Close closes the listener once; later calls do nothing (Run closes it
// beside fasthttp's shutdown).
func (l *closingListener) Close() error {
	var err error
	l.once.Do(func() {
		err = l.Listener.Close()
		close(l.closed)
	})
	return err
}
