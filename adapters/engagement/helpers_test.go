package engagement

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// fakeClock is the injected clock of the tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// SleepRecorder replaces Config.Sleep: it records the waits and returns at
// once. Exported for the contract tests of package engagement_test.
type SleepRecorder struct {
	mu sync.Mutex
	ds []time.Duration
}

func (s *SleepRecorder) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.ds = append(s.ds, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *SleepRecorder) Waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.ds...)
}

// fakeAXP is an in-memory AXP: a token endpoint handing out "tok-1",
// "tok-2", … and an API handler the test supplies.
type fakeAXP struct {
	ln *fasthttputil.InmemoryListener

	mu        sync.Mutex
	tokenHits int
	apiHits   int
	lastAuth  string
	tokenBody func(n int) (int, string) // answer of the n-th token request
	api       fasthttp.RequestHandler
	connClose bool // answer every request with Connection: close
}

const testAccount = "ABCDEF"

func startFake(t *testing.T, api fasthttp.RequestHandler) *fakeAXP {
	t.Helper()
	f := &fakeAXP{ln: fasthttputil.NewInmemoryListener(), api: api}
	srv := &fasthttp.Server{Handler: f.handle}
	go func() { _ = srv.Serve(f.ln) }()
	t.Cleanup(func() { _ = srv.Shutdown(); _ = f.ln.Close() })
	return f
}

func (f *fakeAXP) handle(ctx *fasthttp.RequestCtx) {
	if f.connClose {
		ctx.SetConnectionClose()
	}
	if string(ctx.Path()) == "/auth/realms/"+testAccount+"/protocol/openid-connect/token" {
		f.mu.Lock()
		f.tokenHits++
		n := f.tokenHits
		tb := f.tokenBody
		f.mu.Unlock()
		status, body := 200, `{"access_token":"tok-`+itoa(n)+`","expires_in":900,"token_type":"Bearer"}`
		if tb != nil {
			status, body = tb(n)
		}
		ctx.SetStatusCode(status)
		ctx.SetContentType("application/json")
		ctx.SetBodyString(body)
		return
	}
	f.mu.Lock()
	f.apiHits++
	f.lastAuth = string(ctx.Request.Header.Peek("Authorization"))
	f.mu.Unlock()
	f.api(ctx)
}

func (f *fakeAXP) TokenHits() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokenHits
}

func (f *fakeAXP) APIHits() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.apiHits
}

func (f *fakeAXP) LastAuth() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastAuth
}

func (f *fakeAXP) dial(string, time.Duration) (net.Conn, error) { return f.ln.Dial() }

func itoa(n int) string {
	return string(fasthttp.AppendUint(nil, n))
}

// newTestClient builds a client on f with a fake clock and sleep.
func newTestClient(t *testing.T, f *fakeAXP, tweak func(*Config)) (*Client, *fakeClock, *SleepRecorder) {
	t.Helper()
	clk, sl := newFakeClock(), &SleepRecorder{}
	cfg := Config{
		BaseURL: "http://axp.test", AccountID: testAccount, ClientID: "id", ClientSecret: "secret",
		Timeout: 2 * time.Second, Now: clk.Now, Sleep: sl.Sleep, Dial: f.dial,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, clk, sl
}

func jsonAnswer(ctx *fasthttp.RequestCtx, status int, body string) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBodyString(body)
}

const sessionJSON = `{"sessionId":"10494b78-710c-11eb-9439-0242ac130002","accountId":"ABCDEF","channelProviderId":"cp","sessionStatus":"ACTIVE","createdAt":"2018-11-13T20:25:39.534Z","lastUpdatedAt":"2018-11-13T20:25:39.734Z","url":"/x"}`
