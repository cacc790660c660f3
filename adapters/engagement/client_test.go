package engagement

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/valyala/fasthttp"
)

func TestNewClientRejectsIncompleteConfig(t *testing.T) {
	ok := Config{BaseURL: "http://h:1", AccountID: "ABCDEF", ClientID: "i", ClientSecret: "s"}
	tests := []struct {
		name  string
		tweak func(*Config)
		want  string
	}{
		{"no base URL", func(c *Config) { c.BaseURL = "" }, "BaseURL"},
		{"base URL without scheme", func(c *Config) { c.BaseURL = "h:1" }, "BaseURL"},
		{"ftp base URL", func(c *Config) { c.BaseURL = "ftp://h" }, "BaseURL"},
		{"no account", func(c *Config) { c.AccountID = "" }, "AccountID"},
		{"no client id", func(c *Config) { c.ClientID = "" }, "ClientID"},
		{"no secret", func(c *Config) { c.ClientSecret = "" }, "ClientSecret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.tweak(&cfg)
			_, err := NewClient(cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewClient() error = %v, want one naming %s", err, tt.want)
			}
		})
	}
	if _, err := NewClient(ok); err != nil {
		t.Fatalf("NewClient(valid) = %v", err)
	}
}

// Every operation sends the method, path, query and body of the reference.
func TestOperationsSendTheReferenceRequests(t *testing.T) {
	const sid, eid, did, subID = "s-1", "e-1", "d-1", "sub-1"
	type captured struct{ method, uri, body, ctype string }
	var mu sync.Mutex
	var got captured
	answer := map[string]string{} // by method+path suffix
	f := startFake(t, func(ctx *fasthttp.RequestCtx) {
		mu.Lock()
		got = captured{string(ctx.Method()), string(ctx.RequestURI()), string(ctx.PostBody()), string(ctx.Request.Header.ContentType())}
		mu.Unlock()
		body := "{}"
		if ctx.IsGet() {
			if v, ok := answer[string(ctx.Path())[strings.LastIndexByte(string(ctx.Path()), '/'):]]; ok {
				body = v
			}
		}
		jsonAnswer(ctx, 200, body)
	})
	c, _, _ := newTestClient(t, f, nil)
	ctx := context.Background()
	ch := "/api/digital/channel/v1beta/accounts/ABCDEF"
	wh := "/api/digital/webhook/v1beta/accounts/ABCDEF"
	answer["/engagements"] = "[]"
	answer["/subscriptions"] = "[]"
	tests := []struct {
		name   string
		run    func() error
		method string
		uri    string
		body   string // JSON, compared as a value; "" means no body
	}{
		{"create session", func() error {
			_, err := c.CreateSession(ctx, &CreateSession{ChannelProviderID: "cp", CustomerIdentifiers: CustomerIdentifiers{"emailAddresses": {"a@b"}}, DisplayName: "A"})
			return err
		}, "POST", ch + "/sessions", `{"channelProviderId":"cp","customerIdentifiers":{"emailAddresses":["a@b"]},"displayName":"A"}`},
		{"get session", func() error { _, err := c.GetSession(ctx, sid); return err }, "GET", ch + "/sessions/s-1", ""},
		{"delete session with reason", func() error { return c.DeleteSession(ctx, sid, ReasonUserInactive) }, "DELETE", ch + "/sessions/s-1?reason=USER_INACTIVE", ""},
		{"delete session defaults the reason", func() error { return c.DeleteSession(ctx, sid, "") }, "DELETE", ch + "/sessions/s-1?reason=USER_CLOSED", ""},
		{"append identifiers", func() error {
			_, err := c.AppendIdentifiers(ctx, sid, CustomerIdentifiers{"phoneNumbers": {"+1"}})
			return err
		}, "POST", ch + "/sessions/s-1:appendIdentifiers", `{"phoneNumbers":["+1"]}`},
		{"update session parameters", func() error {
			_, err := c.UpdateSessionParameters(ctx, sid, Parameters{"country": "Ireland"})
			return err
		}, "POST", ch + "/sessions/s-1:updateSessionParameters", `{"country":"Ireland"}`},
		{"create engagement", func() error {
			_, err := c.CreateEngagement(ctx, &CreateEngagement{SessionID: sid, ChannelID: ChannelChat, Conversation: "sell car"})
			return err
		}, "POST", ch + "/engagements", `{"sessionId":"s-1","channelId":"Chat","conversation":"sell car"}`},
		{"list engagements", func() error { _, err := c.ListEngagements(ctx, sid); return err }, "GET", ch + "/engagements?sessionId=s-1", ""},
		{"get engagement", func() error { _, err := c.GetEngagement(ctx, eid); return err }, "GET", ch + "/engagements/e-1", ""},
		{"join engagement", func() error {
			_, err := c.JoinEngagement(ctx, eid, &JoinEngagement{SessionID: sid, DialogID: did})
			return err
		}, "POST", ch + "/engagements/e-1:join", `{"sessionId":"s-1","dialogId":"d-1"}`},
		{"disconnect engagement", func() error {
			_, err := c.DisconnectEngagement(ctx, eid, &DisconnectEngagement{SessionID: sid, DialogID: did, Reason: ReasonUserClosed})
			return err
		}, "POST", ch + "/engagements/e-1:disconnect", `{"sessionId":"s-1","dialogId":"d-1","reason":"USER_CLOSED"}`},
		{"send message", func() error {
			_, err := c.SendMessage(ctx, eid, &SendMessage{SessionID: sid, DialogID: did, Body: Body{ElementType: "text", ElementText: &ElementText{Text: "hi"}}})
			return err
		}, "POST", ch + "/engagements/e-1/messages", `{"sessionId":"s-1","dialogId":"d-1","body":{"elementType":"text","elementText":{"text":"hi"}}}`},
		{"list messages", func() error {
			_, err := c.ListMessages(ctx, eid, ListMessagesQuery{SessionID: sid, DialogID: did, PageSize: 5, PageNumber: 2})
			return err
		}, "GET", ch + "/engagements/e-1/messages?dialogId=d-1&sessionId=s-1&pageSize=5&pageNumber=2", ""},
		{"list messages with defaults", func() error {
			_, err := c.ListMessages(ctx, eid, ListMessagesQuery{SessionID: sid, DialogID: did})
			return err
		}, "GET", ch + "/engagements/e-1/messages?dialogId=d-1&sessionId=s-1", ""},
		{"create subscription", func() error {
			_, err := c.CreateSubscription(ctx, &Subscription{ChannelProviderID: "cp", CallbackURL: "https://x/y", EventTypes: []string{"ALL"}})
			return err
		}, "POST", wh + "/subscriptions", `{"channelProviderId":"cp","callbackUrl":"https://x/y","eventTypes":["ALL"]}`},
		{"list subscriptions of a provider", func() error { _, err := c.ListSubscriptions(ctx, "cp"); return err }, "GET", wh + "/subscriptions?channelProviderId=cp", ""},
		{"list all subscriptions", func() error { _, err := c.ListSubscriptions(ctx, ""); return err }, "GET", wh + "/subscriptions", ""},
		{"get subscription", func() error { _, err := c.GetSubscription(ctx, subID); return err }, "GET", wh + "/subscriptions/sub-1", ""},
		{"replace subscription", func() error {
			_, err := c.ReplaceSubscription(ctx, subID, &Subscription{ChannelProviderID: "cp", CallbackURL: "https://x/z", EventTypes: []string{"MESSAGES"}})
			return err
		}, "PUT", wh + "/subscriptions/sub-1", `{"channelProviderId":"cp","callbackUrl":"https://x/z","eventTypes":["MESSAGES"]}`},
		{"delete subscription", func() error { return c.DeleteSubscription(ctx, subID) }, "DELETE", wh + "/subscriptions/sub-1", ""},
		{"ids are path-escaped", func() error { _, err := c.GetSession(ctx, "../engagements/x?y"); return err }, "GET", ch + "/sessions/..%2Fengagements%2Fx%3Fy", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.run(); err != nil {
				t.Fatalf("call: %v", err)
			}
			mu.Lock()
			g := got
			mu.Unlock()
			if g.method != tt.method || g.uri != tt.uri {
				t.Errorf("request = %s %s, want %s %s", g.method, g.uri, tt.method, tt.uri)
			}
			if tt.body == "" {
				if strings.TrimSpace(g.body) != "" {
					t.Errorf("body = %q, want none", g.body)
				}
				return
			}
			if g.ctype != "application/json" {
				t.Errorf("Content-Type = %q", g.ctype)
			}
			var a, b any
			if err := json.Unmarshal([]byte(g.body), &a); err != nil {
				t.Fatalf("body %q: %v", g.body, err)
			}
			_ = json.Unmarshal([]byte(tt.body), &b)
			if !reflect.DeepEqual(a, b) {
				t.Errorf("body = %s, want %s", g.body, tt.body)
			}
		})
	}
	if got := f.LastAuth(); got != "Bearer tok-1" {
		t.Errorf("Authorization = %q, want the fetched bearer token", got)
	}
}

func TestTokenIsCachedUntilShortlyBeforeExpiry(t *testing.T) {
	f := startFake(t, func(ctx *fasthttp.RequestCtx) { jsonAnswer(ctx, 200, sessionJSON) })
	c, clk, _ := newTestClient(t, f, nil)
	ctx := context.Background()
	steps := []struct {
		advance time.Duration
		want    int // token fetches so far
	}{
		{0, 1},
		{0, 1},
		{869 * time.Second, 1}, // 900 s token, refreshed 30 s early
		{2 * time.Second, 2},
		{100 * time.Second, 2},
	}
	for i, s := range steps {
		clk.Advance(s.advance)
		if _, err := c.GetSession(ctx, "s"); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got := f.TokenHits(); got != s.want {
			t.Fatalf("step %d: token fetches = %d, want %d", i, got, s.want)
		}
	}
}

func TestConcurrentCallersShareOneTokenFetch(t *testing.T) {
	release := make(chan struct{})
	f := startFake(t, func(ctx *fasthttp.RequestCtx) { jsonAnswer(ctx, 200, "{}") })
	f.tokenBody = func(n int) (int, string) {
		<-release
		return 200, `{"access_token":"tok-` + itoa(n) + `","expires_in":900}`
	}
	c, _, _ := newTestClient(t, f, nil)
	const callers = 16
	var wg sync.WaitGroup
	toks := make([]string, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() { toks[i], errs[i] = c.Token(context.Background()) })
	}
	// Let every caller reach the shared fetch before the token endpoint answers.
	deadline := time.Now().Add(2 * time.Second)
	for f.TokenHits() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	for i := range callers {
		if errs[i] != nil || toks[i] != "tok-1" {
			t.Fatalf("caller %d: %q, %v", i, toks[i], errs[i])
		}
	}
	if got := f.TokenHits(); got != 1 {
		t.Fatalf("token fetches = %d, want 1", got)
	}
}

func TestTokenWaitHonoursTheCallersContext(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	f := startFake(t, func(ctx *fasthttp.RequestCtx) {})
	f.tokenBody = func(int) (int, string) { <-release; return 200, `{"access_token":"x","expires_in":900}` }
	c, _, _ := newTestClient(t, f, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Token(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Token() = %v, want the caller's deadline", err)
	}
}

func TestTokenEndpointRejectionIsAProblem(t *testing.T) {
	f := startFake(t, func(ctx *fasthttp.RequestCtx) { t.Error("API called without a token") })
	f.tokenBody = func(int) (int, string) {
		return 401, `{"error":"unauthorized_client","error_description":"Invalid client secret"}`
	}
	c, _, _ := newTestClient(t, f, nil)
	_, err := c.GetSession(context.Background(), "s")
	var p *Problem
	if !errors.As(err, &p) || p.Status != 401 {
		t.Fatalf("GetSession() = %v, want a 401 Problem", err)
	}
	// A failure is not cached: the next call asks again.
	_, _ = c.GetSession(context.Background(), "s")
	if got := f.TokenHits(); got != 2 {
		t.Fatalf("token fetches = %d, want 2", got)
	}
}

func TestUnauthorizedRefreshesTheTokenOnceAndRetries(t *testing.T) {
	tests := []struct {
		name      string
		acceptTok string // the only token the API accepts; "" accepts none
		wantErr   int    // Problem status, 0 for success
		wantAPI   int
		wantToken int
	}{
		{"revoked token is replaced", "Bearer tok-2", 0, 2, 2},
		{"second 401 is returned", "", 401, 2, 2},
		{"valid token is used once", "Bearer tok-1", 0, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startFake(t, func(ctx *fasthttp.RequestCtx) {
				if string(ctx.Request.Header.Peek("Authorization")) != tt.acceptTok {
					jsonAnswer(ctx, 401, `{"title":"Unauthorized","status":401}`)
					return
				}
				jsonAnswer(ctx, 200, sessionJSON)
			})
			m := NewMetrics(nil)
			c, _, _ := newTestClient(t, f, func(cfg *Config) { cfg.Metrics = m })
			_, err := c.GetSession(context.Background(), "s")
			var p *Problem
			switch {
			case tt.wantErr == 0 && err != nil:
				t.Fatalf("GetSession() = %v", err)
			case tt.wantErr != 0 && (!errors.As(err, &p) || p.Status != tt.wantErr):
				t.Fatalf("GetSession() = %v, want Problem %d", err, tt.wantErr)
			}
			if f.APIHits() != tt.wantAPI || f.TokenHits() != tt.wantToken {
				t.Fatalf("API hits %d, token fetches %d; want %d, %d", f.APIHits(), f.TokenHits(), tt.wantAPI, tt.wantToken)
			}
			if got := testutil.ToFloat64(m.tokenRefreshes.WithLabelValues("ok")); int(got) != tt.wantToken {
				t.Errorf("token refresh metric = %v, want %d", got, tt.wantToken)
			}
		})
	}
}

func TestTooManyRequestsHonoursRetryAfterOnce(t *testing.T) {
	clk := newFakeClock()
	httpDate := clk.Now().Add(3 * time.Second).Format(time.RFC1123)
	httpDate = strings.Replace(httpDate, "UTC", "GMT", 1)
	tests := []struct {
		name       string
		retryAfter []string // header of each 429 before the 200; "-" for none
		want429    bool
		wantWaits  []time.Duration
		wantHits   int
		// wantRetryAfter is the returned Problem's, carried to the faces.
		wantRetryAfter time.Duration
	}{
		{"seconds within the limit", []string{"2"}, false, []time.Duration{2 * time.Second}, 2, 0},
		{"HTTP date within the limit", []string{httpDate}, false, []time.Duration{3 * time.Second}, 2, 0},
		{"zero seconds", []string{"0"}, false, []time.Duration{0}, 2, 0},
		{"beyond MaxRetryAfter", []string{"6"}, true, nil, 1, 6 * time.Second},
		{"no header", []string{"-"}, true, nil, 1, 0},
		{"garbage header", []string{"soon"}, true, nil, 1, 0},
		{"second 429 is returned", []string{"1", "1"}, true, []time.Duration{time.Second}, 2, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int32
			f := startFake(t, func(ctx *fasthttp.RequestCtx) {
				i := int(n.Add(1)) - 1
				if i < len(tt.retryAfter) {
					if h := tt.retryAfter[i]; h != "-" {
						ctx.Response.Header.Set("Retry-After", h)
					}
					jsonAnswer(ctx, 429, `{"title":"Too Many Requests","status":429,"detail":"Spike limit has been exhausted"}`)
					return
				}
				jsonAnswer(ctx, 202, `{"status":"SENT"}`)
			})
			c, _, sl := newTestClient(t, f, func(cfg *Config) {
				cfg.Now = clk.Now
				cfg.MaxRetryAfter = 5 * time.Second
				cfg.Timeout = 10 * time.Second
			})
			_, err := c.SendMessage(context.Background(), "e", &SendMessage{SessionID: "s", DialogID: "d"})
			var p *Problem
			if tt.want429 {
				if !errors.As(err, &p) || p.Status != 429 || p.Detail == "" {
					t.Fatalf("SendMessage() = %v, want the 429 Problem", err)
				}
				if p.RetryAfter != tt.wantRetryAfter {
					t.Errorf("Problem.RetryAfter = %v, want %v", p.RetryAfter, tt.wantRetryAfter)
				}
			} else if err != nil {
				t.Fatalf("SendMessage() = %v", err)
			}
			if got := sl.Waits(); !reflect.DeepEqual(got, tt.wantWaits) {
				t.Errorf("waits = %v, want %v", got, tt.wantWaits)
			}
			if got := f.APIHits(); got != tt.wantHits {
				t.Errorf("hits = %d, want %d", got, tt.wantHits)
			}
		})
	}
}

func TestPostIsNotRetriedAfterAServerError(t *testing.T) {
	for _, status := range []int{500, 502, 503, 504} {
		t.Run(itoa(status), func(t *testing.T) {
			f := startFake(t, func(ctx *fasthttp.RequestCtx) { ctx.SetStatusCode(status); ctx.SetBodyString("upstream trouble") })
			c, _, sl := newTestClient(t, f, nil)
			_, err := c.SendMessage(context.Background(), "e", &SendMessage{SessionID: "s", DialogID: "d"})
			var p *Problem
			if !errors.As(err, &p) || p.Status != status || p.Detail != "upstream trouble" {
				t.Fatalf("SendMessage() = %v, want Problem %d carrying the body", err, status)
			}
			if f.APIHits() != 1 || len(sl.Waits()) != 0 {
				t.Fatalf("hits = %d, waits = %v; a POST must be sent once", f.APIHits(), sl.Waits())
			}
		})
	}
}

func TestPostIsNotRetriedWhenTheConnectionDropsAfterSending(t *testing.T) {
	for _, method := range []string{"POST", "GET"} {
		t.Run(method, func(t *testing.T) {
			f := startFake(t, func(ctx *fasthttp.RequestCtx) {
				// The request arrived; the answer is lost.
				ctx.Hijack(func(c net.Conn) {})
				ctx.HijackSetNoResponse(true)
			})
			c, _, _ := newTestClient(t, f, nil)
			var err error
			if method == "POST" {
				_, err = c.CreateEngagement(context.Background(), &CreateEngagement{SessionID: "s", ChannelID: ChannelChat})
			} else {
				_, err = c.GetEngagement(context.Background(), "e")
			}
			if !errors.Is(err, ErrUnreachable) {
				t.Fatalf("err = %v, want ErrUnreachable", err)
			}
			want := 1
			if method == "GET" {
				want = 2 // fasthttp may retry an idempotent request once
			}
			if got := f.APIHits(); got != want {
				t.Fatalf("hits = %d, want %d", got, want)
			}
		})
	}
}

// flakyDialer refuses the first n dials, then dials the fake.
type flakyDialer struct {
	f      *fakeAXP
	refuse atomic.Int32
	dials  atomic.Int32
}

func (d *flakyDialer) dial(addr string, timeout time.Duration) (net.Conn, error) {
	d.dials.Add(1)
	if d.refuse.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	}
	return d.f.dial(addr, timeout)
}

func TestDialErrorsAreRetriedWithBackoff(t *testing.T) {
	tests := []struct {
		name      string
		refuse    int32
		wantErr   bool
		wantWaits []time.Duration
	}{
		{"first dial refused", 1, false, []time.Duration{100 * time.Millisecond}},
		{"two dials refused", 2, false, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}},
		{"every dial refused", 100, true, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startFake(t, func(ctx *fasthttp.RequestCtx) { jsonAnswer(ctx, 202, `{"status":"SENT","messageIndex":1}`) })
			f.connClose = true // every call dials
			d := &flakyDialer{f: f}
			c, _, sl := newTestClient(t, f, func(cfg *Config) { cfg.Dial = d.dial })
			// The token is fetched first so that the refusals hit the POST.
			if _, err := c.Token(context.Background()); err != nil {
				t.Fatal(err)
			}
			d.refuse.Store(tt.refuse)
			d.dials.Store(0)
			m, err := c.SendMessage(context.Background(), "e", &SendMessage{SessionID: "s", DialogID: "d"})
			if tt.wantErr {
				if !errors.Is(err, ErrUnreachable) {
					t.Fatalf("SendMessage() = %v, want ErrUnreachable", err)
				}
				if got := d.dials.Load(); got != 3 {
					t.Errorf("dials = %d, want 3", got)
				}
			} else if err != nil || m.MessageIndex != 1 {
				t.Fatalf("SendMessage() = %+v, %v", m, err)
			}
			if got := sl.Waits(); !reflect.DeepEqual(got, tt.wantWaits) {
				t.Errorf("waits = %v, want %v", got, tt.wantWaits)
			}
			wantHits := 1
			if tt.wantErr {
				wantHits = 0
			}
			if got := f.APIHits(); got != wantHits {
				t.Errorf("hits = %d, want %d", got, wantHits)
			}
		})
	}
}

func TestSlowAnswerTimesOutAsUnreachable(t *testing.T) {
	release := make(chan struct{})
	f := startFake(t, func(ctx *fasthttp.RequestCtx) { <-release; jsonAnswer(ctx, 201, "{}") })
	t.Cleanup(func() { close(release) })
	c, _, _ := newTestClient(t, f, func(cfg *Config) { cfg.Timeout = 100 * time.Millisecond })
	if _, err := c.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := c.CreateSession(context.Background(), &CreateSession{ChannelProviderID: "cp"})
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("CreateSession() = %v, want ErrUnreachable", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("returned after %v, want about the 100 ms timeout", el)
	}
	if f.APIHits() != 1 {
		t.Fatalf("hits = %d, want 1 (a POST that timed out is not re-sent)", f.APIHits())
	}
}

func TestCancelledContextAbandonsTheCall(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	f := startFake(t, func(ctx *fasthttp.RequestCtx) { arrived <- struct{}{}; <-release; jsonAnswer(ctx, 200, sessionJSON) })
	t.Cleanup(func() { close(release) })
	c, _, _ := newTestClient(t, f, func(cfg *Config) { cfg.Timeout = 5 * time.Second })
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := c.GetSession(ctx, "s"); errc <- err }()
	select {
	case <-arrived:
	case <-time.After(2 * time.Second):
		t.Fatal("request never arrived")
	}
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) || errors.Is(err, ErrUnreachable) {
			t.Fatalf("GetSession() = %v, want context.Canceled only", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("GetSession did not return after cancel")
	}
}

func TestErrorAnswersBecomeProblems(t *testing.T) {
	tests := []struct {
		name   string
		status int
		ctype  string
		body   string
		want   Problem
	}{
		{"problem with violations", 400, "application/problem+json",
			`{"type":"https://developers.avayacloud.com/onecloud-ccaas/docs/error-handling#constraint-violation","title":"Constraint Violation","status":400,"detail":"bad","violations":[{"field":"channelId","message":"must not be null","code":20002}]}`,
			Problem{Type: "https://developers.avayacloud.com/onecloud-ccaas/docs/error-handling#constraint-violation", Title: "Constraint Violation", Status: 400, Detail: "bad", Violations: []Violation{{Field: "channelId", Message: "must not be null", Code: 20002}}}},
		{"status as a string", 400, "application/problem+json",
			`{"type":"about:blank","title":"Invalid AccountID","status":"400","detail":"x"}`,
			Problem{Type: "about:blank", Title: "Invalid AccountID", Status: 400, Detail: "x"}},
		{"violation code as a string", 400, "application/json",
			`{"title":"Bad","status":400,"violations":[{"field":"f","message":"m","code":"20006"}]}`,
			Problem{Title: "Bad", Status: 400, Violations: []Violation{{Field: "f", Message: "m", Code: 20006}}}},
		{"plain text body", 502, "text/plain", "bad gateway from the edge",
			Problem{Title: "Bad Gateway", Status: 502, Detail: "bad gateway from the edge"}},
		{"empty body", 404, "", "", Problem{Title: "Not Found", Status: 404}},
		{"status line wins over the body", 404, "application/json", `{"title":"Gone","status":410}`,
			Problem{Title: "Gone", Status: 404}},
		{"broken JSON", 500, "application/json", `{"title":`, Problem{Title: "Internal Server Error", Status: 500, Detail: `{"title":`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startFake(t, func(ctx *fasthttp.RequestCtx) {
				ctx.SetStatusCode(tt.status)
				if tt.ctype != "" {
					ctx.SetContentType(tt.ctype)
				}
				ctx.SetBodyString(tt.body)
			})
			c, _, _ := newTestClient(t, f, nil)
			_, err := c.GetEngagement(context.Background(), "e")
			var p *Problem
			if !errors.As(err, &p) {
				t.Fatalf("err = %v, want a *Problem", err)
			}
			if !reflect.DeepEqual(*p, tt.want) {
				t.Fatalf("Problem = %+v, want %+v", *p, tt.want)
			}
			if errors.Is(err, ErrUnreachable) {
				t.Fatal("an answer from AXP must not count as unreachable")
			}
		})
	}
}

func TestProblemErrorNamesTheViolations(t *testing.T) {
	p := &Problem{Status: 400, Title: "Constraint Violation", Violations: []Violation{{Field: "channelId", Message: "must not be null"}, {Field: "sessionId", Message: "bad"}}}
	want := "engagement: AXP answered 400 Constraint Violation (channelId: must not be null; sessionId: bad)"
	if got := p.Error(); got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	if v := p.Violation("sessionId"); v == nil || v.Message != "bad" {
		t.Fatalf("Violation(sessionId) = %v", v)
	}
	if p.Violation("nope") != nil {
		t.Fatal("Violation of an unnamed field should be nil")
	}
}

func TestAllMessagesWalksEveryPage(t *testing.T) {
	tests := []struct {
		name     string
		stored   int
		total    int // what the server claims; -1 for stored
		pageSize int
		want     int
		requests int
	}{
		{"seven messages in pages of three", 7, -1, 3, 7, 3},
		{"exact multiple stops on total", 6, -1, 3, 6, 2},
		{"empty dialog", 0, -1, 3, 0, 1},
		{"server over-counting stops at a short page", 4, 100, 3, 4, 2},
		{"server under-counting stops at total", 9, 3, 3, 3, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startFake(t, func(ctx *fasthttp.RequestCtx) {
				args := ctx.QueryArgs()
				size, _ := args.GetUint("pageSize")
				page, _ := args.GetUint("pageNumber")
				total := tt.stored
				if tt.total >= 0 {
					total = tt.total
				}
				var msgs []Message
				for i := (page - 1) * size; i < page*size && i < tt.stored; i++ {
					msgs = append(msgs, Message{MessageIndex: i + 1, Status: MessageDelivered})
				}
				b, _ := json.Marshal(Messages{Pagination: Pagination{PageNumber: page, PageSize: size, Total: total}, Messages: msgs})
				jsonAnswer(ctx, 200, string(b))
			})
			c, _, _ := newTestClient(t, f, nil)
			var got []int
			for m, err := range c.allMessages(context.Background(), "e", "s", "d", tt.pageSize) {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, m.MessageIndex)
			}
			if len(got) != tt.want {
				t.Fatalf("got %d messages %v, want %d", len(got), got, tt.want)
			}
			for i, idx := range got {
				if idx != i+1 {
					t.Fatalf("message %d has index %d", i, idx)
				}
			}
			if f.APIHits() != tt.requests {
				t.Fatalf("requests = %d, want %d", f.APIHits(), tt.requests)
			}
		})
	}
}

func TestAllMessagesYieldsTheErrorAndStops(t *testing.T) {
	f := startFake(t, func(ctx *fasthttp.RequestCtx) { jsonAnswer(ctx, 404, `{"title":"Not Found","status":404}`) })
	c, _, _ := newTestClient(t, f, nil)
	n := 0
	for m, err := range c.AllMessages(context.Background(), "e", "s", "d") {
		n++
		var p *Problem
		if m != nil || !errors.As(err, &p) || p.Status != 404 {
			t.Fatalf("yielded %v, %v", m, err)
		}
	}
	if n != 1 {
		t.Fatalf("yielded %d times, want 1", n)
	}
}

// subStore is an in-memory subscriptions endpoint.
type subStore struct {
	mu      sync.Mutex
	subs    map[string]Subscription
	next    int
	created int
	puts    int
	deletes []string
}

func (s *subStore) handle(ctx *fasthttp.RequestCtx) {
	s.mu.Lock()
	defer s.mu.Unlock()
	path := string(ctx.Path())
	const base = "/api/digital/webhook/v1beta/accounts/ABCDEF/subscriptions"
	id := strings.TrimPrefix(strings.TrimPrefix(path, base), "/")
	switch {
	case string(ctx.Method()) == "GET" && id == "":
		out := []Subscription{}
		for _, v := range s.subs {
			out = append(out, v)
		}
		b, _ := json.Marshal(out)
		jsonAnswer(ctx, 200, string(b))
	case string(ctx.Method()) == "POST":
		var in Subscription
		_ = json.Unmarshal(ctx.PostBody(), &in)
		s.next++
		in.SubscriptionID = "new-" + itoa(s.next)
		s.subs[in.SubscriptionID] = in
		s.created++
		b, _ := json.Marshal(in)
		jsonAnswer(ctx, 201, string(b))
	case string(ctx.Method()) == "PUT":
		var in Subscription
		_ = json.Unmarshal(ctx.PostBody(), &in)
		in.SubscriptionID = id
		s.subs[id] = in
		s.puts++
		b, _ := json.Marshal(in)
		jsonAnswer(ctx, 200, string(b))
	case string(ctx.Method()) == "DELETE":
		delete(s.subs, id)
		s.deletes = append(s.deletes, id)
		ctx.SetStatusCode(204)
	}
}

func TestEnsureSubscriptionKeepsExactlyOneOfOurs(t *testing.T) {
	const cb = "https://proxy.example.com/webhooks/axp/TOKEN-NEW"
	events := []string{"CC_MESSAGES", "PARTICIPANT_ADDED"}
	ours := func(id, url string, ev ...string) Subscription {
		return Subscription{SubscriptionID: id, ChannelProviderID: "cp", CallbackURL: url, EventTypes: ev}
	}
	tests := []struct {
		name        string
		existing    []Subscription
		wantCreated int
		wantPuts    int
		wantDeletes []string
		wantID      string
		wantLeft    int
	}{
		{"none yet: created", nil, 1, 0, nil, "new-1", 1},
		{"same URL and events (any order): untouched", []Subscription{ours("a", cb, "PARTICIPANT_ADDED", "CC_MESSAGES")}, 0, 0, nil, "a", 1},
		{"rotated token: replaced", []Subscription{ours("a", "https://proxy.example.com/webhooks/axp/TOKEN-OLD", events...)}, 0, 1, nil, "a", 1},
		{"other events: replaced", []Subscription{ours("a", cb, "ALL")}, 0, 1, nil, "a", 1},
		{"duplicates: extra deleted", []Subscription{ours("a", cb, events...), ours("b", "https://proxy.example.com/webhooks/axp/OLD", events...)}, 0, 0, []string{"b"}, "a", 1},
		{"another connector's: left alone", []Subscription{ours("x", "https://other.example.com/hook", events...)}, 1, 0, nil, "new-1", 2},
		{"another provider's: left alone", []Subscription{{SubscriptionID: "y", ChannelProviderID: "cp2", CallbackURL: cb, EventTypes: events}}, 1, 0, nil, "new-1", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &subStore{subs: map[string]Subscription{}}
			for _, s := range tt.existing {
				st.subs[s.SubscriptionID] = s
			}
			f := startFake(t, st.handle)
			c, _, _ := newTestClient(t, f, nil)
			got, err := c.EnsureSubscription(context.Background(), "cp", cb, events)
			if err != nil {
				t.Fatal(err)
			}
			if got.SubscriptionID != tt.wantID || got.CallbackURL != cb || !sameSet(got.EventTypes, events) {
				t.Fatalf("EnsureSubscription() = %+v, want id %s pointing at %s", got, tt.wantID, cb)
			}
			if st.created != tt.wantCreated || st.puts != tt.wantPuts || !reflect.DeepEqual(st.deletes, tt.wantDeletes) {
				t.Fatalf("created %d, replaced %d, deleted %v; want %d, %d, %v", st.created, st.puts, st.deletes, tt.wantCreated, tt.wantPuts, tt.wantDeletes)
			}
			if len(st.subs) != tt.wantLeft {
				t.Fatalf("%d subscriptions left, want %d", len(st.subs), tt.wantLeft)
			}
		})
	}
}

func TestBackendMetricsCountEveryAttempt(t *testing.T) {
	var n atomic.Int32
	f := startFake(t, func(ctx *fasthttp.RequestCtx) {
		if n.Add(1) == 1 {
			ctx.Response.Header.Set("Retry-After", "1")
			jsonAnswer(ctx, 429, `{}`)
			return
		}
		jsonAnswer(ctx, 202, `{}`)
	})
	m := NewMetrics(nil)
	c, _, _ := newTestClient(t, f, func(cfg *Config) { cfg.Metrics = m })
	if _, err := c.SendMessage(context.Background(), "e", &SendMessage{}); err != nil {
		t.Fatal(err)
	}
	for code, want := range map[string]float64{"429": 1, "202": 1} {
		if got := testutil.ToFloat64(m.requests.WithLabelValues("send_message", code)); got != want {
			t.Errorf("send_message %s = %v, want %v", code, got, want)
		}
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("token", "200")); got != 1 {
		t.Errorf("token 200 = %v, want 1", got)
	}
}
