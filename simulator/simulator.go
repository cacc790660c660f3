package simulator

import (
	"crypto/rand"
	"log/slog"
	randv2 "math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
)

// Config configures a Simulator. Zero values take the documented defaults.
type Config struct {
	// ClientID and ClientSecret are the credentials the token endpoint
	// accepts, for any six-letter account realm.
	ClientID, ClientSecret string        // defaults "demo-client" / "demo-secret"
	TokenTTL               time.Duration // default 900s, AXP's token lifetime

	// APIVersion is the generation served: APIV1Beta (default), APIV1 (the
	// GA API) or APIBoth. Paths of a generation not served answer 404 (with
	// a value CheckAPIVersion refuses, every API path does; Start refuses it).
	APIVersion string
	// AppKey is the application key every GA call must carry as appkey
	// (default "demo-appkey"); v1beta calls need none.
	AppKey string

	// AutoAgent joins each new dialog after AutoAgentDelay and answers each
	// customer message with "You said: …".
	AutoAgent      bool
	AutoAgentName  string        // default "Demo Agent"
	AutoAgentDelay time.Duration // default 200ms

	// CallbackTimeout bounds a webhook callback; a slower one counts as failed.
	CallbackTimeout time.Duration // default 5s, as AXP documents
	// RedeliveryDelay is the first wait before a failed callback is re-sent;
	// it doubles per attempt up to MaxRedeliveryDelay.
	RedeliveryDelay     time.Duration // default 1s
	MaxRedeliveryDelay  time.Duration // default 60s
	MaxDeliveryAttempts int           // default 10, then the event is dropped

	// Limits that keep memory bounded whatever clients do. A full store
	// answers 429 ("Tenant Quota has been exhausted").
	MaxSessions          int // default 100000; ended sessions are evicted first
	MaxDialogs           int // per engagement, default 100
	MaxMessages          int // per dialog, default 10000
	MaxSubscriptions     int // per account, default 50
	MaxQueuedDeliveries  int // per subscription, default 10000; newer events are dropped beyond it
	MaxFaults            int // default 100
	MaxPendingAutoAgents int // default 4096 scheduled auto-agent actions

	Now    func() time.Time // injected clock for timestamps and token expiry (default time.Now)
	Rand   func() float64   // draws for fault ratios (default math/rand/v2)
	Logger *slog.Logger     // default discards
}

// DefaultConfig is the configuration a zero Config stands for, every default
// filled in (so that a command line can show them).
func DefaultConfig() Config {
	var c Config
	c.defaults()
	return c
}

func (c *Config) defaults() {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	defDur := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	defInt := func(n *int, v int) {
		if *n <= 0 {
			*n = v
		}
	}
	def(&c.ClientID, "demo-client")
	def(&c.ClientSecret, "demo-secret")
	def(&c.APIVersion, APIV1Beta)
	def(&c.AppKey, "demo-appkey")
	def(&c.AutoAgentName, "Demo Agent")
	defDur(&c.TokenTTL, 900*time.Second)
	defDur(&c.AutoAgentDelay, 200*time.Millisecond)
	defDur(&c.CallbackTimeout, 5*time.Second)
	defDur(&c.RedeliveryDelay, time.Second)
	defDur(&c.MaxRedeliveryDelay, time.Minute)
	if c.MaxRedeliveryDelay < c.RedeliveryDelay {
		c.MaxRedeliveryDelay = c.RedeliveryDelay
	}
	defInt(&c.MaxDeliveryAttempts, 10)
	defInt(&c.MaxSessions, 100000)
	defInt(&c.MaxDialogs, 100)
	defInt(&c.MaxMessages, 10000)
	defInt(&c.MaxSubscriptions, 50)
	defInt(&c.MaxQueuedDeliveries, 10000)
	defInt(&c.MaxFaults, 100)
	defInt(&c.MaxPendingAutoAgents, 4096)
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Rand == nil {
		c.Rand = randv2.Float64
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Simulator is an in-memory AXP Custom Chat backend, v1beta, GA v1 or both.
// It is safe for concurrent use; serve it with Handler.
type Simulator struct {
	cfg    Config
	log    *slog.Logger
	key    []byte // HMAC key of the access tokens
	client *fasthttp.Client

	mu          sync.Mutex
	sessions    map[string]*sessionState
	engagements map[string]*engagementState
	subs        map[string]*subscriptionState
	subsByAcct  map[string][]*subscriptionState
	ended       []string // ended session ids, oldest first: evicted when MaxSessions is reached

	faultMu sync.Mutex
	faults  []*Fault
	faultID int

	auto chan autoTask
	// autoAgent starts as Config.AutoAgent; /sim/auto-agent switches it
	// at run time.
	autoAgent atomic.Bool

	stats deliveryCounters
	// calls counts the API calls received, by operation (/sim/stats).
	calls callCounters

	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// New builds a simulator and starts its auto-agent worker.
func New(cfg Config) *Simulator {
	cfg.defaults()
	key := make([]byte, 32)
	_, _ = rand.Read(key) // crypto/rand.Read never fails on supported platforms
	s := &Simulator{
		cfg: cfg,
		log: cfg.Logger,
		key: key,
		client: &fasthttp.Client{
			Name:                "engagement-sim",
			ReadTimeout:         cfg.CallbackTimeout,
			WriteTimeout:        cfg.CallbackTimeout,
			MaxConnWaitTimeout:  cfg.CallbackTimeout,
			MaxIdleConnDuration: 30 * time.Second,
			MaxResponseBodySize: 64 << 10,
		},
		sessions:    make(map[string]*sessionState),
		engagements: make(map[string]*engagementState),
		subs:        make(map[string]*subscriptionState),
		subsByAcct:  make(map[string][]*subscriptionState),
		auto:        make(chan autoTask, cfg.MaxPendingAutoAgents),
		done:        make(chan struct{}),
	}
	s.autoAgent.Store(cfg.AutoAgent)
	s.wg.Add(1)
	go s.runAuto()
	return s
}

// Close stops webhook delivery and the auto-agent; queued events are dropped.
// It is safe to call more than once.
func (s *Simulator) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		s.mu.Lock()
		for _, sub := range s.subs {
			sub.d.close()
		}
		s.mu.Unlock()
		s.wg.Wait()
		s.client.CloseIdleConnections()
	})
	return nil
}

func (s *Simulator) now() engagement.Time { return engagement.NewTime(s.cfg.Now()) }

// Handler serves the token endpoints, the channel and webhook APIs of the
// configured generations and the /sim agent API.
func (s *Simulator) Handler(ctx *fasthttp.RequestCtx) {
	path := string(ctx.Path())
	r := parseRoute(path)
	if r.sim() {
		s.serveSim(ctx, r)
		return
	}
	s.calls.add(operation(r, string(ctx.Method())))
	answered, hold := s.applyFaults(ctx, path)
	if answered {
		return
	}
	if hold > 0 {
		// Served now, answered late: the response leaves when the
		// handler returns.
		defer s.wait(hold)
	}
	if r.kind == routeUnknown || !s.serves(r.gen) {
		writeProblem(ctx, newProblem(http.StatusNotFound, "There is no API method associated with the URL path "+path))
		return
	}
	if r.gen == APIV1 {
		if p := s.checkAppKey(ctx); p != nil {
			writeProblem(ctx, p)
			return
		}
	}
	if r.kind == routeToken {
		s.serveToken(ctx, r.account, r.gen)
		return
	}
	if p := s.authorize(ctx, r.account); p != nil {
		writeProblem(ctx, p)
		return
	}
	a, id := r.account, r.id
	var m methods
	switch r.kind {
	case routeSessions:
		m.post = func() *Problem { return s.createSession(ctx, a) }
	case routeSession:
		m.get = func() *Problem { return s.getSession(ctx, a, id) }
		m.delete = func() *Problem { return s.deleteSession(ctx, a, id) }
	case routeSessionVerb:
		m.post = func() *Problem { return s.sessionVerb(ctx, a, id, r.verb) }
	case routeEngagements:
		m.get = func() *Problem { return s.listEngagements(ctx, a) }
		m.post = func() *Problem { return s.createEngagement(ctx, a) }
	case routeEngagement:
		m.get = func() *Problem { return s.getEngagement(ctx, a, id) }
	case routeEngagementVerb:
		if r.verb == "join" {
			m.post = func() *Problem { return s.joinEngagement(ctx, a, id) }
		} else {
			m.post = func() *Problem { return s.disconnectEngagement(ctx, a, id) }
		}
	case routeMessages:
		m.get = func() *Problem { return s.listMessages(ctx, a, id) }
		m.post = func() *Problem { return s.sendMessage(ctx, a, id) }
	case routeSubscriptions:
		m.get = func() *Problem { return s.listSubscriptions(ctx, a) }
		m.post = func() *Problem { return s.createSubscription(ctx, a) }
	case routeSubscription:
		m.get = func() *Problem { return s.getSubscription(ctx, a, id) }
		m.put = func() *Problem { return s.replaceSubscription(ctx, a, id) }
		m.delete = func() *Problem { return s.deleteSubscription(ctx, a, id) }
	}
	if p := m.serve(ctx); p != nil {
		writeProblem(ctx, p)
	}
}

// methods are the handlers of one path by HTTP method; nil means the path
// has no such method.
type methods struct{ get, post, put, delete func() *Problem }

// serve runs the handler of the request's method, or answers 405 with an
// Allow header that lists the methods the path has.
func (m methods) serve(ctx *fasthttp.RequestCtx) *Problem {
	var h func() *Problem
	switch string(ctx.Method()) {
	case http.MethodGet:
		h = m.get
	case http.MethodPost:
		h = m.post
	case http.MethodPut:
		h = m.put
	case http.MethodDelete:
		h = m.delete
	}
	if h != nil {
		return h()
	}
	var allow []string
	if m.get != nil {
		allow = append(allow, http.MethodGet)
	}
	if m.post != nil {
		allow = append(allow, http.MethodPost)
	}
	if m.put != nil {
		allow = append(allow, http.MethodPut)
	}
	if m.delete != nil {
		allow = append(allow, http.MethodDelete)
	}
	list := strings.Join(allow, ", ")
	ctx.Response.Header.Set("Allow", list)
	return newProblem(http.StatusMethodNotAllowed, "allowed: "+list)
}

// authorize checks the bearer token against the path's account.
func (s *Simulator) authorize(ctx *fasthttp.RequestCtx, account string) *Problem {
	h := string(ctx.Request.Header.Peek("Authorization"))
	const prefix = "bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return newProblem(http.StatusUnauthorized, "This operation requires authentication (Access-Token)")
	}
	claims, err := s.verifyToken(strings.TrimSpace(h[len(prefix):]))
	if err != nil {
		return newProblem(http.StatusUnauthorized, "This operation requires authentication (Access-Token): "+err.Error())
	}
	if !isAccountID(account) {
		return violationProblem([]Violation{{Field: "accountId", Message: `must match "^[a-zA-Z]{6}$"`, Code: codePattern}})
	}
	if claims.TenantID != account {
		return newProblem(http.StatusForbidden, "")
	}
	return nil
}

// deliveryCounters are exposed through DeliveryStats.
type deliveryCounters struct {
	delivered, failed, dropped atomic.Int64
}

// DeliveryStats counts webhook callbacks since the simulator started.
type DeliveryStats struct {
	Delivered int64 // callbacks answered 200 in time
	Failed    int64 // attempts that failed or were too slow (each is re-sent or dropped)
	Dropped   int64 // events given up after MaxDeliveryAttempts, or refused by a full queue
}

// DeliveryStats reports the webhook delivery counters.
func (s *Simulator) DeliveryStats() DeliveryStats {
	return DeliveryStats{
		Delivered: s.stats.delivered.Load(),
		Failed:    s.stats.failed.Load(),
		Dropped:   s.stats.dropped.Load(),
	}
}

// Stats is what /sim/stats answers: the webhook delivery counters and the
// API calls received by operation.
type Stats struct {
	DeliveryStats
	// Calls counts the API calls received since the simulator started, by
	// operation (ListMessages, SendMessage, …; see operation), those that
	// a fault answered included. Operations never called are left out.
	Calls map[string]int64
}

// Stats reports the delivery counters and the calls received.
func (s *Simulator) Stats() Stats {
	return Stats{DeliveryStats: s.DeliveryStats(), Calls: s.calls.snapshot()}
}

// callCounters count API calls by operation name.
type callCounters struct {
	mu sync.Mutex
	n  map[string]int64
}

func (c *callCounters) add(op string) {
	if op == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int64{}
	}
	c.n[op]++
}

func (c *callCounters) snapshot() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int64, len(c.n))
	for k, v := range c.n {
		out[k] = v
	}
	return out
}

// operation names the API operation a request calls ("" for an unknown
// path or method), as the reference names them.
func operation(r route, method string) string {
	get, post := method == http.MethodGet, method == http.MethodPost
	switch {
	case r.kind == routeToken && post:
		return "Token"
	case r.kind == routeSessions && post:
		return "CreateSession"
	case r.kind == routeSession && get:
		return "GetSession"
	case r.kind == routeSession && method == http.MethodDelete:
		return "DeleteSession"
	case r.kind == routeSessionVerb && post && r.verb == "appendIdentifiers":
		return "AppendIdentifiers"
	case r.kind == routeSessionVerb && post:
		return "UpdateSessionParameters"
	case r.kind == routeEngagements && get:
		return "ListEngagements"
	case r.kind == routeEngagements && post:
		return "CreateEngagement"
	case r.kind == routeEngagement && get:
		return "GetEngagement"
	case r.kind == routeEngagementVerb && post && r.verb == "join":
		return "JoinEngagement"
	case r.kind == routeEngagementVerb && post:
		return "DisconnectEngagement"
	case r.kind == routeMessages && get:
		return "ListMessages"
	case r.kind == routeMessages && post:
		return "SendMessage"
	case r.kind == routeSubscriptions && get:
		return "ListSubscriptions"
	case r.kind == routeSubscriptions && post:
		return "CreateSubscription"
	case r.kind == routeSubscription && get:
		return "GetSubscription"
	case r.kind == routeSubscription && method == http.MethodPut:
		return "ReplaceSubscription"
	case r.kind == routeSubscription && method == http.MethodDelete:
		return "DeleteSubscription"
	}
	return ""
}
