package engagement

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/internal/deadline"
	"github.com/connector-proxy/connector-proxy/telemetry"
)

// Config configures a Client. BaseURL, AccountID, ClientID and ClientSecret
// are required; the rest has defaults.
type Config struct {
	// BaseURL is the host root, e.g. "https://na.cc.avayacloud.com" or
	// "http://127.0.0.1:8090"; a path in it is kept as a prefix.
	BaseURL                           string
	AccountID, ClientID, ClientSecret string
	// Timeout bounds one call, retries and waits included (default 10 s).
	Timeout time.Duration
	// MaxRetryAfter is the longest 429 Retry-After honoured before giving
	// up (default 5 s).
	MaxRetryAfter time.Duration
	// Now is the clock for token expiry and Retry-After dates.
	Now     func() time.Time
	Metrics *Metrics
	Logger  *slog.Logger

	// Sleep waits d or until ctx ends (default: a timer). Tests inject it so
	// Retry-After and backoff cost no wall time.
	Sleep func(ctx context.Context, d time.Duration) error
	// Dial opens a connection to AXP (default: fasthttp's TCP dialer).
	// The retry logic around it is the same whichever dialer is used.
	Dial fasthttp.DialFuncWithTimeout
	// DialAttempts is how often a call is tried while dialing fails
	// (default 3); the waits between start at DialBackoff (default 100 ms)
	// and double.
	DialAttempts int
	DialBackoff  time.Duration
	// TokenEarly is how long before expires_in the token is refreshed
	// (default 30 s, at most half the token's lifetime).
	TokenEarly time.Duration
	// MaxConns bounds the connections to AXP (default 512).
	MaxConns int
	// MaxResponseBodySize bounds an AXP answer (default 4 MiB).
	MaxResponseBodySize int
	// TLSConfig is used for https base URLs (default: system roots).
	TLSConfig *tls.Config

	// APIVersion is the generation of AXP's API: APIV1Beta (default) or
	// APIV1, the GA API. It decides paths, the token endpoint and the
	// appkey header only; the models are the same.
	APIVersion string
	// AppKey is the GA API's application key, sent as appkey on every
	// call; required with APIV1, not sent with APIV1Beta.
	AppKey string

	// Tracing makes a client span of each attempt and sends its
	// traceparent to AXP (nil: off).
	Tracing *telemetry.Tracing
}

// Client is a typed client of AXP's Digital API, v1beta or GA v1 (see
// Config.APIVersion). It is safe for concurrent use.
type Client struct {
	hc          *fasthttp.HostClient
	channelBase string // …/api/digital/channel/{v1beta|v1}/accounts/{acct}
	webhookBase string // …/api/digital/webhook/{v1beta|v1}/accounts/{acct}
	tokenURL    string
	tokenForm   []byte
	apiVersion  string
	appKey      string // sent as appkey on every call when set (GA v1)

	timeout       time.Duration
	maxRetryAfter time.Duration
	now           func() time.Time
	sleep         func(ctx context.Context, d time.Duration) error
	dialAttempts  int
	dialBackoff   time.Duration
	tokenEarly    time.Duration
	metrics       *Metrics
	log           *slog.Logger
	tel           *telemetry.Tracing

	tokens tokenSource
}

// dialError marks a failure to open a connection: the request cannot have
// reached AXP, so even a POST may be retried.
type dialError struct{ err error }

func (e *dialError) Error() string { return "dial: " + e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// NewClient checks cfg and builds a client. It does not contact AXP.
func NewClient(cfg Config) (*Client, error) {
	switch {
	case cfg.BaseURL == "":
		return nil, errors.New("engagement: Config.BaseURL is required")
	case cfg.AccountID == "":
		return nil, errors.New("engagement: Config.AccountID is required")
	case cfg.ClientID == "":
		return nil, errors.New("engagement: Config.ClientID is required")
	case cfg.ClientSecret == "":
		return nil, errors.New("engagement: Config.ClientSecret is required")
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("engagement: Config.BaseURL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("engagement: Config.BaseURL %q: want http(s)://host[:port]", cfg.BaseURL)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.MaxRetryAfter <= 0 {
		cfg.MaxRetryAfter = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleepCtx
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.DialAttempts <= 0 {
		cfg.DialAttempts = 3
	}
	if cfg.DialBackoff <= 0 {
		cfg.DialBackoff = 100 * time.Millisecond
	}
	if cfg.TokenEarly <= 0 {
		cfg.TokenEarly = 30 * time.Second
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 512
	}
	if cfg.MaxResponseBodySize <= 0 {
		cfg.MaxResponseBodySize = 4 << 20
	}
	dial := cfg.Dial
	if dial == nil {
		dial = fasthttp.DialTimeout
	}
	isTLS := u.Scheme == "https"
	hc := &fasthttp.HostClient{
		Addr:  fasthttp.AddMissingPort(u.Host, isTLS),
		IsTLS: isTLS,
		DialTimeout: func(addr string, timeout time.Duration) (net.Conn, error) {
			conn, err := dial(addr, timeout)
			if err != nil {
				return nil, &dialError{err: err}
			}
			return conn, nil
		},
		TLSConfig:           cfg.TLSConfig,
		Name:                "connector-proxy",
		MaxConns:            cfg.MaxConns,
		MaxConnWaitTimeout:  cfg.Timeout,
		ReadTimeout:         cfg.Timeout,
		WriteTimeout:        cfg.Timeout,
		MaxResponseBodySize: cfg.MaxResponseBodySize,
		// Shorter than common server idle timeouts, so a POST rarely meets
		// a connection the server has just closed (it is not retried).
		MaxIdleConnDuration: 5 * time.Second,
		// Ids are escaped by us; normalizing could rewrite ":join".
		DisablePathNormalizing: true,
		// fasthttp would silently retry failed requests; allow it once
		// for idempotent methods only (a reused keep-alive connection the
		// server closed), never for POST. Dial errors are retried by
		// Client.exchange with backoff.
		MaxIdemponentCallAttempts: 2,
		RetryIfErr: func(req *fasthttp.Request, _ int, err error) (bool, bool) {
			var de *dialError
			if errors.As(err, &de) || errors.Is(err, fasthttp.ErrTimeout) {
				return false, false
			}
			return false, idempotent(req)
		},
	}
	origin := u.Scheme + "://" + u.Host + strings.TrimSuffix(u.EscapedPath(), "/")
	acct := url.PathEscape(cfg.AccountID)
	ep, err := generationEndpoints(cfg.APIVersion, cfg.AppKey, origin, acct)
	if err != nil {
		return nil, err
	}
	if cfg.APIVersion == "" {
		cfg.APIVersion = APIV1Beta
	}
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {cfg.ClientID},
		"client_secret": {cfg.ClientSecret},
	}
	return &Client{
		hc:            hc,
		channelBase:   ep.channelBase,
		webhookBase:   ep.webhookBase,
		tokenURL:      ep.tokenURL,
		tokenForm:     []byte(form.Encode()),
		apiVersion:    cfg.APIVersion,
		appKey:        ep.appKey,
		timeout:       cfg.Timeout,
		maxRetryAfter: cfg.MaxRetryAfter,
		now:           cfg.Now,
		sleep:         cfg.Sleep,
		dialAttempts:  cfg.DialAttempts,
		dialBackoff:   cfg.DialBackoff,
		tokenEarly:    cfg.TokenEarly,
		metrics:       cfg.Metrics,
		log:           cfg.Logger,
		tel:           cfg.Tracing,
	}, nil
}

func idempotent(req *fasthttp.Request) bool {
	h := &req.Header
	return h.IsGet() || h.IsHead() || h.IsPut() || h.IsDelete()
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// pooledExchange is a pooled request and response on their way to AXP.
type pooledExchange struct {
	req  *fasthttp.Request
	resp *fasthttp.Response
	// abandoned is set when a cancelled call left req and resp to the
	// goroutine still sending them; that goroutine releases them.
	abandoned bool
	// sent counts the attempts (http.request.resend_count).
	sent int
}

// acquireExchange takes a request for method and url that asks for JSON and
// carries the generation's headers (appkey on GA v1, the token request
// included).
func (c *Client) acquireExchange(method, url string) pooledExchange {
	x := pooledExchange{req: fasthttp.AcquireRequest(), resp: fasthttp.AcquireResponse()}
	x.req.SetRequestURI(url)
	c.prepare(&x, method)
	return x
}

// prepare sets the method and the headers every request carries.
func (c *Client) prepare(x *pooledExchange, method string) {
	x.req.Header.SetMethod(method)
	x.req.Header.Set(fasthttp.HeaderAccept, "application/json")
	if c.appKey != "" {
		x.req.Header.Set(HeaderAppKey, c.appKey)
	}
}

// release returns req and resp to their pools unless they were abandoned.
func (x *pooledExchange) release() {
	if !x.abandoned {
		fasthttp.ReleaseRequest(x.req)
		fasthttp.ReleaseResponse(x.resp)
	}
}

// call is one API operation.
type call struct {
	op     string // metrics label and error prefix, e.g. "send_message"
	method string
	url    string
	body   any // encoded as JSON; nil sends no body
	out    any // decoded from a 2xx answer; nil ignores the body
}

// do runs a call: bearer token, one refresh-and-retry on 401, one wait on a
// 429 whose Retry-After fits MaxRetryAfter, and the dial retries of
// exchange. Every non-2xx answer becomes a *Problem.
func (c *Client) do(ctx context.Context, cl call) error {
	x := c.acquireExchange(cl.method, cl.url)
	defer x.release()
	if cl.body != nil {
		x.req.Header.SetContentType("application/json")
		if err := json.NewEncoder(x.req.BodyWriter()).Encode(cl.body); err != nil {
			return fmt.Errorf("engagement: %s: encode: %w", cl.op, err)
		}
	}
	if err := c.send(ctx, cl.op, &x); err != nil {
		return err
	}
	if body := x.resp.Body(); cl.out != nil && len(body) > 0 {
		if err := json.Unmarshal(body, cl.out); err != nil {
			return fmt.Errorf("engagement: %s: decode answer: %w", cl.op, err)
		}
	}
	return nil
}

// send runs a prepared exchange to a 2xx answer, left in x.resp: bearer
// token, one refresh-and-retry on 401, one wait on a 429 whose Retry-After
// fits MaxRetryAfter, and the dial retries of exchange; every non-2xx
// answer becomes a *Problem. The call is bounded by the client's Timeout
// or ctx's deadline, whichever comes first, as a deadline on the exchange
// itself: no timer is made for it.
func (c *Client) send(ctx context.Context, op string, x *pooledExchange) error {
	until := c.deadline(ctx)
	req, resp := x.req, x.resp
	refreshed, waited := false, false
	for {
		bearer, err := c.bearer(ctx)
		if err != nil {
			return fmt.Errorf("engagement: %s: %w", op, err)
		}
		req.Header.Set(fasthttp.HeaderAuthorization, bearer)
		if err := c.exchange(ctx, op, x, until); err != nil {
			return fmt.Errorf("engagement: %s: %w", op, err)
		}
		status := resp.StatusCode()
		if status == fasthttp.StatusUnauthorized && !refreshed {
			// The token may have been revoked or expired early: fetch a
			// new one once.
			refreshed = true
			c.tokens.invalidate(bearer)
			continue
		}
		if status == fasthttp.StatusTooManyRequests && !waited {
			if d, ok := c.retryAfter(resp); ok && c.fits(until, d) {
				waited = true
				c.log.DebugContext(ctx, "engagement: AXP rate limit, waiting", "operation", op, "wait", d)
				if err := c.sleep(ctx, d); err != nil {
					return fmt.Errorf("engagement: %s: waiting for Retry-After: %w", op, err)
				}
				continue
			}
		}
		if status < 200 || status > 299 {
			p := problemFrom(status, resp.Header.ContentType(), resp.Body())
			if status == fasthttp.StatusTooManyRequests || status == fasthttp.StatusServiceUnavailable {
				p.RetryAfter, _ = c.retryAfter(resp)
			}
			return fmt.Errorf("engagement: %s: %w", op, p)
		}
		return nil
	}
}

// deadline is when a call starting now must end: the client's Timeout
// from now, or ctx's deadline when that comes first.
func (c *Client) deadline(ctx context.Context) time.Time {
	until := time.Now().Add(c.timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(until) {
		return dl
	}
	return until
}

// fits reports whether waiting d stays within MaxRetryAfter and the
// call's deadline.
func (c *Client) fits(until time.Time, d time.Duration) bool {
	return d <= c.maxRetryAfter && time.Until(until) >= d
}

// retryAfter reads Retry-After as seconds or an HTTP date (against the
// injected clock). A missing or unreadable header means no retry.
func (c *Client) retryAfter(resp *fasthttp.Response) (time.Duration, bool) {
	v := strings.TrimSpace(string(resp.Header.Peek(fasthttp.HeaderRetryAfter)))
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := fasthttp.ParseHTTPDate([]byte(v))
	if err != nil {
		return 0, false
	}
	d := t.Sub(c.now())
	if d < 0 {
		d = 0
	}
	return d, true
}

// exchange sends req once it has a connection, retrying with backoff while
// dialing fails (the request cannot have reached AXP, so this is safe for
// POST too), until the deadline until. Any other transport error is
// returned at once wrapped in ErrUnreachable: a POST that may have been
// written is never re-sent. When ctx ends mid-flight x is abandoned to a
// goroutine that releases it.
func (c *Client) exchange(ctx context.Context, op string, x *pooledExchange, until time.Time) error {
	// Read before the round trip: one abandoned on ctx hands x.req to the
	// goroutine that releases it.
	idem := idempotent(x.req)
	for attempt := 1; ; attempt++ {
		if err := ended(ctx, until); err != nil {
			return err
		}
		start := time.Now()
		var sp telemetry.Span
		if c.tel.On() {
			sp = c.tel.StartClient(ctx, x.req, urlTemplate(string(x.req.URI().Path())), x.sent)
			sp.SetString(telemetry.AttrAXPOperation, op)
		}
		x.sent++
		err := c.roundTrip(ctx, x, until)
		code := classify(err, x.resp)
		c.metrics.observeRequest(op, code, time.Since(start))
		if err == nil {
			sp.EndHTTP(x.resp.StatusCode(), "")
		} else {
			sp.EndHTTP(0, code)
		}
		if err == nil {
			return nil
		}
		var de *dialError
		dialFailed := errors.As(err, &de)
		// A POST that may have been written and got no answer may have
		// been applied: say so, so that the caller looks before it tells
		// its client anything.
		unknown := !dialFailed && !idem
		if cerr := ended(ctx, until); cerr != nil {
			if errors.Is(cerr, context.DeadlineExceeded) {
				return unreachable(unknown, cerr)
			}
			if unknown {
				return fmt.Errorf("%w: %w", ErrOutcomeUnknown, cerr)
			}
			return cerr
		}
		if dialFailed && attempt < c.dialAttempts {
			wait := c.dialBackoff << (attempt - 1)
			if time.Until(until) > wait {
				c.log.DebugContext(ctx, "engagement: AXP dial failed, retrying", "operation", op, "attempt", attempt, "err", err)
				if serr := c.sleep(ctx, wait); serr != nil {
					return fmt.Errorf("%w: %w", ErrUnreachable, err)
				}
				continue
			}
		}
		if errors.Is(err, fasthttp.ErrBodyTooLarge) {
			if unknown {
				return fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)
			}
			return err
		}
		return unreachable(unknown, err)
	}
}

// ended is ctx's error, or context.DeadlineExceeded once until has passed
// (the call's own deadline, which no context carries).
func ended(ctx context.Context, until time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !time.Now().Before(until) {
		return context.DeadlineExceeded
	}
	return nil
}

// unreachable wraps a transport failure, as one of unknown outcome when
// the call may have been applied.
func unreachable(unknown bool, err error) error {
	if unknown {
		return fmt.Errorf("%w: %w: %w", ErrUnreachable, ErrOutcomeUnknown, err)
	}
	return fmt.Errorf("%w: %w", ErrUnreachable, err)
}

// roundTrip runs one HostClient exchange bounded by the deadline until.
// fasthttp knows no contexts: when ctx can end before until, the exchange
// runs aside and ctx's cancellation abandons it; when it cannot (no Done,
// or a context that ends only at its deadline, which until already
// honours) it runs here, with no goroutine.
func (c *Client) roundTrip(ctx context.Context, x *pooledExchange, until time.Time) error {
	req, resp := x.req, x.resp
	if dl, only := deadline.Only(ctx); ctx.Done() == nil || (only && !dl.Before(until)) {
		return c.hc.DoDeadline(req, resp, until)
	}
	done := make(chan error, 1)
	go func() { done <- c.hc.DoDeadline(req, resp, until) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		x.abandoned = true
		go func() {
			<-done
			fasthttp.ReleaseRequest(req)
			fasthttp.ReleaseResponse(resp)
		}()
		return ctx.Err()
	}
}

// classify names an attempt's outcome for the code label.
func classify(err error, resp *fasthttp.Response) string {
	if err == nil {
		return statusLabel(resp.StatusCode())
	}
	var de *dialError // made only for a failure: errors.As moves it to the heap
	switch {
	case errors.As(err, &de):
		return "dial_error"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "canceled"
	case errors.Is(err, fasthttp.ErrTimeout), isTimeout(err):
		return "timeout"
	}
	return "error"
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// statusLabel avoids an allocation per request for the common codes.
func statusLabel(code int) string {
	switch code {
	case 200:
		return "200"
	case 201:
		return "201"
	case 202:
		return "202"
	case 204:
		return "204"
	case 400:
		return "400"
	case 401:
		return "401"
	case 404:
		return "404"
	case 429:
		return "429"
	case 500:
		return "500"
	case 503:
		return "503"
	}
	return strconv.Itoa(code)
}
