package proxy

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// FuzzForwardedFor: whatever a balancer passes on, the client address is
// the peer or an address written in the header, and a trusted one only
// when every hop is trusted.
func FuzzForwardedFor(f *testing.F) {
	for _, s := range []string{"203.0.113.9", "1.1.1.1, 203.0.113.9", "10.0.0.1,10.0.0.2", "garbage", "", ",,", "2001:db8::1, ::ffff:10.0.0.1", " 203.0.113.9 ,"} {
		f.Add(s)
	}
	c := clientAddrs{trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	f.Fuzz(func(t *testing.T, xff string) {
		var ctx fasthttp.RequestCtx
		ctx.Init(&fasthttp.Request{}, &net.TCPAddr{IP: net.ParseIP("10.1.2.3"), Port: 1}, nil)
		ctx.Request.Header.Set("X-Forwarded-For", xff)
		got := c.of(&ctx)
		peer := netip.MustParseAddr("10.1.2.3")
		if got == peer {
			return
		}
		if !got.IsValid() {
			t.Fatalf("no address from %q", xff)
		}
		found, allTrusted := false, true
		for _, hop := range strings.Split(string(ctx.Request.Header.Peek("X-Forwarded-For")), ",") {
			a, err := netip.ParseAddr(strings.TrimSpace(hop))
			if err != nil {
				continue
			}
			if a.Unmap() == got {
				found = true
			}
			if !c.isTrusted(a.Unmap()) {
				allTrusted = false
			}
		}
		if !found {
			t.Fatalf("%s is not in %q", got, xff)
		}
		if c.isTrusted(got) && !allTrusted {
			t.Fatalf("a trusted hop %s chosen from %q", got, xff)
		}
	})
}

// FuzzRequestPath: the path read from a request's first bytes is a piece
// of them without space or query, whatever they are.
func FuzzRequestPath(f *testing.F) {
	for _, s := range []string{"POST /api/customer/init HTTP/1.1\r\n", "\r\n\r\nGET /socket.io/?EIO=4", "GET", " ", "A  B"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c := &edgeConn{}
		c.startLen = copy(c.start[:], b)
		p := c.requestPath()
		if bytes.ContainsAny(p, " ?\r") || len(p) > requestStartBytes {
			t.Fatalf("requestPath(%q) = %q", b, p)
		}
		if len(p) > 0 && !bytes.Contains(b, p) {
			t.Fatalf("requestPath(%q) = %q, not a piece of the input", b, p)
		}
	})
}

// FuzzRedact: nothing quoted and nothing after "contents" survives.
func FuzzRedact(f *testing.F) {
	for _, s := range []string{`missing colon: "Bearer x.y.z"`, `size=3, contents: "GET /"`, `a "b\"c" d`, `"`, `\"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := redact(s)
		rest := strings.ReplaceAll(out, `"…"`, "")
		if strings.Contains(rest, `"`) {
			t.Fatalf("redact(%q) = %q keeps a quote", s, out)
		}
		if i := strings.Index(s, "contents"); i >= 0 && strings.Contains(out, "contents") {
			t.Fatalf("redact(%q) = %q keeps the contents", s, out)
		}
		if len(out) > 210 {
			t.Fatalf("redact(%q) is %d bytes", s, len(out))
		}
	})
}

// FuzzOutboxRequest: any body is either a request whose fields are within
// their bounds or a 400 with a message, never a panic.
func FuzzOutboxRequest(f *testing.F) {
	for _, s := range []string{`{"conversation":"c","seq":3}`, `{"app":"a","limit":10}`, `{"target":"https://x?t=1","reason":"r"}`,
		`{"endpoint":"0123456789abcdef"}`, `{"state":"dropped","conversation":"c","seq":1}`, `{}`, `{"seq":-1}`, `[]`, `{"x":1}`, `{"app":"a"}{}`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req outboxRequest
		err := decodeOutboxRequest(body, &req)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.status != fasthttp.StatusBadRequest || ae.message == "" {
				t.Fatalf("refusal %v is not a 400 with a message", err)
			}
			return
		}
		if len(req.Conversation) > 256 || len(req.Reason) > outboxMaxText || req.Limit < 0 || req.Limit > outboxMaxReplay ||
			req.Endpoint != "" && !validEndpoint(req.Endpoint) || req.Endpoint != "" && req.Target != "" {
			t.Fatalf("taken out of bounds: %+v", req)
		}
		if ep := req.endpointOf(); ep != "" && !validEndpoint(ep) {
			t.Fatalf("endpoint %q of %+v is no id", ep, req)
		}
	})
}
