package engagement

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// tokenSource caches the OAuth token. Concurrent callers that find it
// missing or stale share one fetch (a hand-rolled singleflight).
type tokenSource struct {
	mu      sync.Mutex
	token   string
	bearer  string    // "Bearer " + token: the header, made once per token
	expires time.Time // by the injected clock, already moved TokenEarly ahead
	flight  *tokenFlight
}

type tokenFlight struct {
	done          chan struct{}
	token, bearer string
	err           error
}

// invalidate drops the token whose Authorization header is bearer if it
// is still the cached one (a concurrent 401 on an older token must not
// throw away a fresh one).
func (s *tokenSource) invalidate(bearer string) {
	s.mu.Lock()
	if s.bearer == bearer {
		s.token, s.bearer = "", ""
	}
	s.mu.Unlock()
}

// Token returns a valid access token, fetching one when the cached token is
// missing or about to expire. It is what /readyz calls to check that AXP is
// reachable with the configured credentials.
func (c *Client) Token(ctx context.Context) (string, error) {
	tok, _, err := c.token(ctx)
	return tok, err
}

// bearer is the Authorization header of a call: the cached one, or one
// made from a fresh token.
func (c *Client) bearer(ctx context.Context) (string, error) {
	_, b, err := c.token(ctx)
	return b, err
}

func (c *Client) token(ctx context.Context) (tok, bearer string, err error) {
	s := &c.tokens
	s.mu.Lock()
	if s.token != "" && c.now().Before(s.expires) {
		tok, bearer := s.token, s.bearer
		s.mu.Unlock()
		return tok, bearer, nil
	}
	f := s.flight
	if f == nil {
		f = &tokenFlight{done: make(chan struct{})}
		s.flight = f
		// The fetch outlives any one caller's cancellation, since others
		// wait for it; it is bounded by the client's timeout instead.
		go c.refresh(context.WithoutCancel(ctx), f)
	}
	s.mu.Unlock()
	select {
	case <-f.done:
		if f.err != nil {
			return "", "", f.err
		}
		return f.token, f.bearer, nil
	case <-ctx.Done():
		return "", "", fmt.Errorf("engagement: waiting for token: %w", ctx.Err())
	}
}

func (c *Client) refresh(ctx context.Context, f *tokenFlight) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	tr, err := c.fetchToken(ctx)
	c.metrics.observeTokenRefresh(err)
	s := &c.tokens
	s.mu.Lock()
	if err == nil {
		life := time.Duration(tr.ExpiresIn) * time.Second
		early := min(c.tokenEarly, life/2)
		s.token, s.bearer = tr.AccessToken, "Bearer "+tr.AccessToken
		s.expires = c.now().Add(life - early)
		f.token, f.bearer = s.token, s.bearer
	} else {
		f.err = fmt.Errorf("engagement: token: %w", err)
		c.log.WarnContext(ctx, "engagement: AXP token fetch failed", "err", err)
	}
	s.flight = nil
	s.mu.Unlock()
	close(f.done)
}

func (c *Client) fetchToken(ctx context.Context) (*TokenResponse, error) {
	x := c.acquireExchange(fasthttp.MethodPost, c.tokenURL)
	defer x.release()
	x.req.Header.SetContentType("application/x-www-form-urlencoded")
	x.req.SetBodyRaw(c.tokenForm)
	if err := c.exchange(ctx, "token", &x, c.deadline(ctx)); err != nil {
		return nil, err
	}
	resp := x.resp
	if code := resp.StatusCode(); code < 200 || code > 299 {
		return nil, problemFrom(code, resp.Header.ContentType(), resp.Body())
	}
	var tr TokenResponse
	if err := json.Unmarshal(resp.Body(), &tr); err != nil {
		return nil, fmt.Errorf("decode token answer: %w", err)
	}
	if tr.AccessToken == "" {
		return nil, errors.New("token answer has no access_token")
	}
	return &tr, nil
}
