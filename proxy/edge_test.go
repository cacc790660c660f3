package proxy

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/config"
)

func TestConnectionCaps(t *testing.T) {
	tests := []struct {
		name   string
		env    []string
		reason string
	}{
		{"per client address", []string{"CONNECTOR_PROXY_LIMITS_MAX_CONNS_PER_IP=3"}, "per_ip"},
		{"in all", []string{"CONNECTOR_PROXY_LIMITS_MAX_CONNS=3", "CONNECTOR_PROXY_LIMITS_MAX_CONNS_PER_IP=0"}, "max_conns"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := startDemo(t, tt.env...)
			waitReady(t, p)
			held := make([]net.Conn, 3)
			for i := range held {
				held[i] = dialIdle(t, p.PublicAddr())
			}
			waitMetric(t, p, "connector_proxy_http_connections", 3)
			extra := dialIdle(t, p.PublicAddr())
			if !closedByPeer(extra, 5*time.Second) {
				t.Fatal("a connection over the cap was kept open")
			}
			waitMetric(t, p, `connector_proxy_http_connections_refused_total{reason="`+tt.reason+`"}`, 1)
			if code, _ := get(t, "http://"+p.AdminAddr()+"/healthz"); code != 200 {
				t.Fatalf("admin while the public listener is full: %d", code)
			}
			held[0].Close()
			// Served again once a place is free (the release is not
			// instant: retry the fresh connection until it is taken).
			deadline := time.Now().Add(10 * time.Second)
			for {
				resp, body, err := rawExchange(t, p.PublicAddr(), []byte("GET /api/customer/nothing HTTP/1.1\r\nHost: proxy\r\n\r\n"))
				if err == nil && resp.StatusCode == 404 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("not served after a connection closed: %v %s", err, body)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

func TestTimeoutsCloseAndAreCounted(t *testing.T) {
	p, _ := startDemo(t, "CONNECTOR_PROXY_LIMITS_IDLE_TIMEOUT=1s", "CONNECTOR_PROXY_LIMITS_READ_TIMEOUT=1s")
	waitReady(t, p)
	t.Run("an idle keep-alive connection", func(t *testing.T) {
		c := dialIdle(t, p.PublicAddr())
		if _, err := c.Write([]byte("GET /api/customer/nothing HTTP/1.1\r\nHost: proxy\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		var buf [4096]byte
		if n, err := c.Read(buf[:]); err != nil || !strings.Contains(string(buf[:n]), "404") {
			t.Fatalf("first answer: %q %v", buf[:n], err)
		}
		if !closedByPeer(c, 5*time.Second) {
			t.Fatal("the idle connection was kept past limits.idle_timeout")
		}
		waitMetric(t, p, `connector_proxy_http_connection_timeouts_total{kind="idle"}`, 1)
	})
	t.Run("a half-sent request", func(t *testing.T) {
		c := dialIdle(t, p.PublicAddr())
		if _, err := c.Write([]byte("POST /api/customer/init HTTP/1.1\r\nHost: proxy\r\nContent-Le")); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufioReader(c), nil)
		if err != nil {
			t.Fatalf("no answer to a request cut off: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != 408 {
			t.Errorf("answered %d, want 408", resp.StatusCode)
		}
		waitMetric(t, p, `connector_proxy_http_connection_timeouts_total{kind="read"}`, 1)
		waitMetric(t, p, `connector_proxy_http_refusals_total{reason="timeout",route="init"}`, 1)
	})
}

// TestHalfSentRequestsLeaveNoTokenInTheLogs: connections broken in every
// way fasthttp reports, each carrying tokens, log nothing of them, even at
// debug; they are counted instead.
func TestHalfSentRequestsLeaveNoTokenInTheLogs(t *testing.T) {
	cfg := demoConfig(t, "CONNECTOR_PROXY_LIMITS_READ_TIMEOUT=1s", "CONNECTOR_PROXY_LOG_LEVEL=debug")
	p, logs := startLogged(t, cfg)
	waitReady(t, p)
	app, jws := demoTokens(t, "http://"+p.PublicAddr(), "secret-consumer")
	const cookie = "session=cookie-secret-6f1d2"
	head := "POST /api/account/" + config.DemoAccount + "/messaging/consumer/conversation/send?v=3 HTTP/1.1\r\nHost: proxy\r\n" +
		"Authorization: " + app + "\r\nX-LP-ON-BEHALF: " + jws + "\r\nCookie: " + cookie + "\r\n"
	cases := []string{
		head,                                 // cut off before the head ends: read timeout
		head + "Content-Length: 99\r\n\r\n{", // cut off in the body: closed early
		head + "Bad Header Line\r\n\r\n",     // malformed
		head + "Content-Length: 1\r\nContent-Length: 2\r\n\r\n", // duplicate length
		"GE\x00T / HTTP/1.1\r\n" + head[strings.Index(head, "Host"):] + "\r\n",
		head + "X-Big: " + strings.Repeat("a", 20<<10) + "\r\n\r\n", // head too large
	}
	for i, raw := range cases {
		c := dialIdle(t, p.PublicAddr())
		if _, err := c.Write([]byte(raw)); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if i == 1 {
			c.Close() // the client goes away mid-body
			continue
		}
		closedByPeer(c, 5*time.Second) // the server answers or times out, then closes
	}
	waitMetric(t, p, `connector_proxy_http_refusals_total{reason="malformed",route="send"}`, 1)
	waitMetric(t, p, `connector_proxy_http_refusals_total{reason="head_too_large",route="send"}`, 1)
	waitMetric(t, p, `connector_proxy_http_refusals_total{reason="timeout",route="send"}`, 1)
	out := logs.String()
	for _, secret := range []string{app, jws, app[len(app)-40:], jws[len(jws)-40:], "cookie-secret-6f1d2"} {
		if strings.Contains(out, secret) {
			t.Fatalf("a token or cookie reached the log:\n%s", out)
		}
	}
	if strings.Contains(out, `"level":"WARN","msg":"error when`) {
		t.Errorf("fasthttp's connection errors are still logged as warnings:\n%s", out)
	}
}

func TestRateLimitsAnswer429InEachFacesFormat(t *testing.T) {
	p, _ := startDemo(t,
		"CONNECTOR_PROXY_LIMITS_RATE_CONSUMER_PER_SECOND=0.001", "CONNECTOR_PROXY_LIMITS_RATE_CONSUMER_BURST=1",
		"CONNECTOR_PROXY_LIMITS_RATE_INIT_PER_SECOND=0.001", "CONNECTOR_PROXY_LIMITS_RATE_INIT_BURST=1",
		"CONNECTOR_PROXY_LIMITS_RATE_SOCKETIO_PER_SECOND=0.001", "CONNECTOR_PROXY_LIMITS_RATE_SOCKETIO_BURST=1")
	waitReady(t, p)
	base := "http://" + p.PublicAddr()
	app, jws := demoTokens(t, base, "limited")
	lp := map[string]string{"Authorization": app, "X-LP-ON-BEHALF": jws}
	convURL := base + "/api/account/" + config.DemoAccount + "/messaging/consumer/conversation?v=3"
	initBody := `{"channel":"web","email":"limited@example.com"}`
	handshake := base + "/socket.io/?EIO=4&transport=polling"
	tests := []struct {
		name   string
		call   func() (int, http.Header, []byte)
		want   string
		metric string
	}{
		{"Connector API, per consumer", func() (int, http.Header, []byte) { return post(t, convURL, lp, conversationRequest) },
			`"code":429`, "consumer"},
		{"init, per client address", func() (int, http.Header, []byte) { return post(t, base+"/api/customer/init", nil, initBody) },
			`{"status":429,"code":"RATE_LIMITED"`, "init"},
		{"Socket.IO handshake, per client address", func() (int, http.Header, []byte) {
			resp, err := http.Get(handshake)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b := make([]byte, 4096)
			n, _ := resp.Body.Read(b)
			return resp.StatusCode, resp.Header, b[:n]
		}, `{"code":4,"message":"Too many requests"}`, "socketio"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code, _, body := tt.call(); code != 200 {
				t.Fatalf("first call: %d %s", code, body)
			}
			code, h, body := tt.call()
			if code != 429 || !strings.Contains(string(body), tt.want) {
				t.Fatalf("second call: %d %s, want 429 with %s", code, body, tt.want)
			}
			if ra := h.Get("Retry-After"); ra == "" || ra == "0" {
				t.Errorf("Retry-After %q", ra)
			}
			if got := metricValue(t, p, `connector_proxy_rate_limited_total{limit="`+tt.metric+`"}`); got != 1 {
				t.Errorf("rate_limited_total{limit=%q} = %v, want 1", tt.metric, got)
			}
		})
	}
}

// TestBigCookieOnBothTransports runs test/socketio/headers.test.mjs: the
// stock socket.io-client with a 6 KB Cookie header, on polling, on
// WebSocket and through the upgrade.
func TestBigCookieOnBothTransports(t *testing.T) {
	dir, err := filepath.Abs("../test/socketio")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "socket.io-client")); err != nil {
		t.Fatalf("socket.io-client is not installed: run `npm ci --prefix test/socketio` (%v)", err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is required for this test: %v", err)
	}
	p, _ := startDemo(t)
	waitReady(t, p)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", "headers.test.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PROXY_URL=http://"+p.PublicAddr(), "COOKIE_BYTES=6144")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node --test failed: %v\n%s", err, out)
	}
	// And init, with the same cookies.
	code, _, body := post(t, "http://"+p.PublicAddr()+"/api/customer/init", map[string]string{"Cookie": "c=" + strings.Repeat("v", 6144)},
		`{"channel":"web","email":"cookies@example.com"}`)
	if code != 200 {
		t.Fatalf("init with a 6 KB cookie: %d %s", code, body)
	}
}

// TestLostSubscriptionIsMadeAgain deletes the proxy's subscription at the
// simulator while AXP refuses to create one: /readyz turns 503 naming the
// subscription; once AXP accepts again the proxy makes a new one and
// /readyz is 200 again.
func TestLostSubscriptionIsMadeAgain(t *testing.T) {
	p, cfg := startDemo(t, "CONNECTOR_PROXY_AXP_SUBSCRIPTION_CHECK_INTERVAL=100ms")
	waitReady(t, p)
	axp, err := engagement.NewClient(engagement.Config{BaseURL: p.SimulatorURL(), AccountID: cfg.AXP.AccountID,
		ClientID: cfg.AXP.ClientID, ClientSecret: cfg.AXP.ClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	subs, err := axp.ListSubscriptions(ctx, cfg.AXP.ChannelProviderID)
	if err != nil || len(subs) != 1 {
		t.Fatalf("subscriptions before: %v %v", subs, err)
	}
	old := subs[0].SubscriptionID
	if code, body := postJSON(t, p.SimulatorURL()+"/sim/faults", `{"status":503,"count":0,"pathContains":"/subscriptions","method":"POST"}`); code/100 != 2 {
		t.Fatalf("fault: %d %s", code, body)
	}
	if err := axp.DeleteSubscription(ctx, old); err != nil {
		t.Fatal(err)
	}
	admin := "http://" + p.AdminAddr()
	waitFor(t, "readyz to report the lost subscription", func() (bool, string) {
		code, body := get(t, admin+"/readyz")
		return code == 503 && strings.Contains(body, `"axp_subscription":{"ok":false`), body
	})
	req, _ := http.NewRequest("DELETE", p.SimulatorURL()+"/sim/faults", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	waitFor(t, "readyz to be 200 again", func() (bool, string) {
		code, body := get(t, admin+"/readyz")
		return code == 200, body
	})
	subs, err = axp.ListSubscriptions(ctx, cfg.AXP.ChannelProviderID)
	if err != nil || len(subs) != 1 || subs[0].SubscriptionID == old {
		t.Fatalf("subscriptions after: %+v %v, want one new", subs, err)
	}
}

func postJSON(t *testing.T, url, body string) (int, string) {
	t.Helper()
	code, _, b := post(t, url, nil, body)
	return code, string(b)
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %s", what, detail)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestClientAddress(t *testing.T) {
	trusted := clientAddrs{trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.1/32")}}
	tests := []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"a direct client", "198.51.100.7", nil, "198.51.100.7"},
		{"a direct client's own header is ignored", "198.51.100.7", []string{"203.0.113.9"}, "198.51.100.7"},
		{"behind a trusted balancer", "10.1.2.3", []string{"203.0.113.9"}, "203.0.113.9"},
		{"a forged left part proves nothing", "10.1.2.3", []string{"1.1.1.1, 203.0.113.9"}, "203.0.113.9"},
		{"trusted hops are skipped", "10.1.2.3", []string{"203.0.113.9, 192.0.2.1", "10.9.9.9"}, "203.0.113.9"},
		{"no header: the balancer", "10.1.2.3", nil, "10.1.2.3"},
		{"an unreadable hop: the balancer", "10.1.2.3", []string{"203.0.113.9, garbage"}, "10.1.2.3"},
		{"every hop trusted: the furthest", "10.1.2.3", []string{"10.0.0.1, 10.0.0.2"}, "10.0.0.1"},
		{"IPv6", "10.1.2.3", []string{"2001:db8::1"}, "2001:db8::1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ctx fasthttp.RequestCtx
			ctx.Init(&fasthttp.Request{}, &net.TCPAddr{IP: net.ParseIP(tt.peer), Port: 4000}, nil)
			for _, h := range tt.xff {
				ctx.Request.Header.Add("X-Forwarded-For", h)
			}
			if got := trusted.of(&ctx); got.String() != tt.want {
				t.Errorf("client = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestClientKeyGroupsIPv6By64(t *testing.T) {
	a, b := netip.MustParseAddr("2001:db8:1:2:aaaa::1"), netip.MustParseAddr("2001:db8:1:2:bbbb::2")
	if clientKey(a) != clientKey(b) {
		t.Error("two hosts of one /64 are two clients")
	}
	if clientKey(netip.MustParseAddr("2001:db8:1:3::1")) == clientKey(a) {
		t.Error("two /64s are one client")
	}
	if got := clientKey(netip.MustParseAddr("::ffff:192.0.2.7")); got.String() != "192.0.2.7" {
		t.Errorf("a mapped IPv4 is keyed %s", got)
	}
}

func TestRequestPath(t *testing.T) {
	tests := []struct{ start, want string }{
		{"POST /api/customer/init HTTP/1.1\r\n", "/api/customer/init"},
		{"\r\nGET /socket.io/?EIO=4&transport=polling HTTP/1.1", "/socket.io/"},
		{"POST /api/account/DEMOAC/messaging/consumer/conversation/send?v=3 HTTP/1.1", "/api/account/DEMOAC/messaging/consumer/conversation/send"},
		{"POST /" + strings.Repeat("a", 200), "/" + strings.Repeat("a", requestStartBytes-6)},
		{"GARBAGE", ""},
		{"", ""},
	}
	for _, tt := range tests {
		c := &edgeConn{}
		c.startLen = copy(c.start[:], tt.start)
		if got := string(c.requestPath()); got != tt.want {
			t.Errorf("requestPath(%q) = %q, want %q", tt.start, got, tt.want)
		}
	}
}

// fdListener fails Accept with an error n times, then hands out conns.
type fdListener struct {
	net.Listener
	err   error
	fails chan struct{} // one per failure, so the test can count them
	n     int
}

func (l *fdListener) Accept() (net.Conn, error) {
	if l.n > 0 {
		l.n--
		l.fails <- struct{}{}
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", l.err)}
	}
	return l.Listener.Accept()
}

func TestAcceptWaitsOutDescriptorExhaustion(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS} {
		t.Run(errno.Error(), func(t *testing.T) {
			inner, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			fl := &fdListener{Listener: inner, err: errno, fails: make(chan struct{}, 4), n: 4}
			m := newEdgeMetrics(nopRegisterer{})
			ln := newEdgeListener(fl, newEdgeGuard(0, 0, nil, m), m, nil, discardLog())
			defer ln.Close()
			// The kernel completes the dial before any Accept.
			client, err := net.Dial("tcp", inner.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()
			c, err := ln.Accept()
			if err != nil {
				t.Fatalf("Accept after %v: %v", errno, err)
			}
			c.Close()
			if len(fl.fails) != 4 {
				t.Fatalf("%d failures seen", len(fl.fails))
			}
		})
	}
	t.Run("a closed listener ends Accept", func(t *testing.T) {
		inner, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		fl := &fdListener{Listener: inner, err: syscall.EMFILE, fails: make(chan struct{}, 1000), n: 1000}
		ln := newEdgeListener(fl, nil, newEdgeMetrics(nopRegisterer{}), nil, discardLog())
		done := make(chan error, 1)
		go func() { _, err := ln.Accept(); done <- err }()
		<-fl.fails // Accept is in its backoff now
		ln.Close()
		select {
		case err := <-done:
			if !errors.Is(err, net.ErrClosed) {
				t.Fatalf("Accept = %v, want net.ErrClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Close did not end an Accept in its backoff")
		}
	})
	t.Run("other errors end Accept", func(t *testing.T) {
		inner, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer inner.Close()
		fl := &fdListener{Listener: inner, err: syscall.EINVAL, fails: make(chan struct{}, 1), n: 1}
		ln := newEdgeListener(fl, nil, newEdgeMetrics(nopRegisterer{}), nil, discardLog())
		if _, err := ln.Accept(); !errors.Is(err, syscall.EINVAL) {
			t.Fatalf("Accept = %v, want EINVAL", err)
		}
	})
}

func TestMaxConnsFromTheFileLimit(t *testing.T) {
	if got := maxConns(42, discardLog()); got != 42 {
		t.Errorf("configured 42: %d", got)
	}
	limit := fdLimit()
	if limit == 0 {
		t.Fatal("the open-file limit cannot be read here")
	}
	got := maxConns(0, discardLog())
	if got <= 0 || got >= limit || limit-got < min(128, limit-16) {
		t.Errorf("from a limit of %d: %d, want a reserve of at least 128", limit, got)
	}
}

func TestRedactDropsRequestBytes(t *testing.T) {
	tests := []struct{ in, want string }{
		{`error when reading request headers: malformed mime header: missing colon: "Bearer eyJhbGci.secret"`,
			`error when reading request headers: malformed mime header: missing colon: "…"`},
		{`error when reading request headers: cannot find http request method: buffer size=80, contents: "GET / HTTP/1.1\r\nAuthorization: tok"`,
			`error when reading request headers: cannot find http request method: buffer size=80`},
		{`bad "a\"b secret" then "c"`, `bad "…" then "…"`},
		{`read tcp 127.0.0.1:1->127.0.0.1:2: i/o timeout`, `read tcp 127.0.0.1:1->127.0.0.1:2: i/o timeout`},
	}
	for _, tt := range tests {
		if got := redact(tt.in); got != tt.want {
			t.Errorf("redact(%q)\n = %q\nwant %q", tt.in, got, tt.want)
		}
	}
}
