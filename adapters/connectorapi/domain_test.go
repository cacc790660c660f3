package connectorapi

import (
	"encoding/json"
	"testing"

	"github.com/valyala/fasthttp"
)

// newDomainFace is a face over the fake backend with cfg's Domain API
// settings, driven by calling Handler.
func newDomainFace(tb testing.TB, cfg Config) *Face {
	tb.Helper()
	store, tokens := boltAndTokens(tb, "http://127.0.0.1:9")
	cfg.ChannelProviderID = provider
	f, err := newFace(cfg, &fakeBackend{}, store, tokens)
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

// domainGet sends a GET to the face as if it came to host over plain http.
func domainGet(f *Face, ctx *fasthttp.RequestCtx, method, host, uri string) {
	ctx.Request.Reset()
	ctx.Response.Reset()
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(uri)
	ctx.Request.Header.SetHost(host)
	f.Handler(ctx)
}

func TestDomainAPIAnswers(t *testing.T) {
	f := newDomainFace(t, Config{PublicHost: "proxy.example.com"})
	// LivePerson's field order: service, account, baseURI.
	entry := func(svc, acct string) string {
		return `{"service":"` + svc + `","account":"` + acct + `","baseURI":"proxy.example.com"}`
	}
	list := func(acct string) string {
		return `{"baseURIs":[` + entry("sentinel", acct) + "," + entry("idp", acct) + "," + entry("asyncMessagingEnt", acct) + "]}"
	}
	one := func(svc string) string { return entry(svc, lpAccount) }
	tests := []struct {
		name, method, uri string
		status, errorCode int
		body              string
	}{
		{"list with .json and version", "GET", "/api/account/" + lpAccount + "/service/baseURI.json?version=1.0", 200, 0, list(lpAccount)},
		{"list without .json", "GET", "/api/account/" + lpAccount + "/service/baseURI?version=1.0", 200, 0, list(lpAccount)},
		{"list without version", "GET", "/api/account/" + lpAccount + "/service/baseURI.json", 200, 0, list(lpAccount)},
		{"list of another configured account", "GET", "/api/account/le99999999/service/baseURI.json?version=1.0", 200, 0, list("le99999999")},
		{"sentinel alone", "GET", "/api/account/" + lpAccount + "/service/sentinel/baseURI.json?version=1.0", 200, 0, one("sentinel")},
		{"idp alone", "GET", "/api/account/" + lpAccount + "/service/idp/baseURI.json?version=1.0", 200, 0, one("idp")},
		{"asyncMessagingEnt alone", "GET", "/api/account/" + lpAccount + "/service/asyncMessagingEnt/baseURI.json?version=1.0", 200, 0, one("asyncMessagingEnt")},
		{"one service without .json", "GET", "/api/account/" + lpAccount + "/service/idp/baseURI?version=1.0", 200, 0, one("idp")},
		{"HEAD is answered like GET", "HEAD", "/api/account/" + lpAccount + "/service/baseURI.json?version=1.0", 200, 0, ""},
		{"account no app has", "GET", "/api/account/le00000000/service/baseURI.json?version=1.0", 404, 40400, ""},
		{"account no app has, one service", "GET", "/api/account/le00000000/service/idp/baseURI.json?version=1.0", 404, 40400, ""},
		{"service the proxy does not serve", "GET", "/api/account/" + lpAccount + "/service/swift/baseURI.json?version=1.0", 404, 40400, ""},
		{"version 2.0", "GET", "/api/account/" + lpAccount + "/service/baseURI.json?version=2.0", 400, 40000, ""},
		{"version 1", "GET", "/api/account/" + lpAccount + "/service/sentinel/baseURI.json?version=1", 400, 40000, ""},
		{"POST", "POST", "/api/account/" + lpAccount + "/service/baseURI.json?version=1.0", 405, 40500, ""},
		{"nested service name", "GET", "/api/account/" + lpAccount + "/service/a/b/baseURI.json", 404, 40400, ""},
	}
	var ctx fasthttp.RequestCtx
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			domainGet(f, &ctx, tt.method, "ignored.example:1", tt.uri)
			code, body := ctx.Response.StatusCode(), ctx.Response.Body()
			if code != tt.status {
				t.Fatalf("status %d, want %d: %s", code, tt.status, body)
			}
			if tt.errorCode != 0 {
				e := decodeLPError(t, code, body)
				if e.Body.ErrorCode != tt.errorCode {
					t.Fatalf("errorCode %d, want %d: %s", e.Body.ErrorCode, tt.errorCode, body)
				}
				if code == 400 && e.Body.Field != "version" {
					t.Fatalf("400 names field %q, want version", e.Body.Field)
				}
				return
			}
			if tt.method == "HEAD" {
				return
			}
			if string(body) != tt.body {
				t.Fatalf("body\n%s\nwant\n%s", body, tt.body)
			}
			if ct := string(ctx.Response.Header.ContentType()); ct != "application/json;charset=utf-8" {
				t.Fatalf("content type %q", ct)
			}
		})
	}
}

func TestDomainAPIWithoutPublicHostAnswersTheHostReached(t *testing.T) {
	tests := []struct {
		name, host, tlsPort, want string
	}{
		{"host and port as reached", "127.0.0.1:8080", "", "127.0.0.1:8080"},
		{"name without port", "proxy.internal", "", "proxy.internal"},
		{"plain http pointed at the TLS port", "proxy.internal:8080", "8443", "proxy.internal:8443"},
		{"plain http without port pointed at the TLS port", "proxy.internal", "8443", "proxy.internal:8443"},
		{"IPv6 pointed at the TLS port", "[::1]:8080", "8443", "[::1]:8443"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{}
			if tt.tlsPort != "" {
				cfg.TLSPort = func() string { return tt.tlsPort }
			}
			f := newDomainFace(t, cfg)
			var ctx fasthttp.RequestCtx
			domainGet(f, &ctx, "GET", tt.host, "/api/account/"+lpAccount+"/service/sentinel/baseURI.json?version=1.0")
			var got baseURI
			if err := json.Unmarshal(ctx.Response.Body(), &got); err != nil || ctx.Response.StatusCode() != 200 {
				t.Fatalf("%d %s", ctx.Response.StatusCode(), ctx.Response.Body())
			}
			if got.BaseURI != tt.want || got.Service != "sentinel" || got.Account != lpAccount {
				t.Fatalf("answer %+v, want baseURI %q", got, tt.want)
			}
		})
	}
}

func TestParseDomainPaths(t *testing.T) {
	tests := []struct {
		path string
		ok   bool
		want route
	}{
		{"/api/account/le1/service/baseURI.json", true, route{call: "domain", account: "le1"}},
		{"/api/account/le1/service/baseURI", true, route{call: "domain", account: "le1"}},
		{"/api/account/le1/service/idp/baseURI.json", true, route{call: "domain", account: "le1", service: "idp"}},
		{"/api/account/le1/service/idp/baseURI", true, route{call: "domain", account: "le1", service: "idp"}},
		{"/api/account/le1/service//baseURI.json", false, route{}},
		{"/api/account/le1/service/baseURI.xml", false, route{}},
		{"/api/account/le1/service/idp/baseURIs", false, route{}},
		{"/api/account//service/baseURI.json", false, route{}},
		{"/api/account/le1/services/baseURI.json", false, route{}},
	}
	for _, tt := range tests {
		got, ok := parsePath(tt.path)
		if ok != tt.ok || got != tt.want {
			t.Errorf("parsePath(%q) = %+v, %v; want %+v, %v", tt.path, got, ok, tt.want, tt.ok)
		}
	}
}
