package connectorapi

import (
	"testing"

	"github.com/valyala/fasthttp"
)

// BenchmarkDomainAPI is one Domain API answer through the handler: with a
// configured public host (answers encoded once) and derived from the Host
// the request came to (encoded per request).
func BenchmarkDomainAPI(b *testing.B) {
	for _, bc := range []struct {
		name string
		cfg  Config
		uri  string
	}{
		{"list/public_host", Config{PublicHost: "proxy.example.com"}, "/api/account/" + lpAccount + "/service/baseURI.json?version=1.0"},
		{"list/request_host", Config{}, "/api/account/" + lpAccount + "/service/baseURI.json?version=1.0"},
		{"one/public_host", Config{PublicHost: "proxy.example.com"}, "/api/account/" + lpAccount + "/service/asyncMessagingEnt/baseURI.json?version=1.0"},
		{"one/request_host", Config{}, "/api/account/" + lpAccount + "/service/asyncMessagingEnt/baseURI.json?version=1.0"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			f := newDomainFace(b, bc.cfg)
			var ctx fasthttp.RequestCtx
			b.ReportAllocs()
			for b.Loop() {
				domainGet(f, &ctx, "GET", "proxy.internal:8443", bc.uri)
				if ctx.Response.StatusCode() != 200 {
					b.Fatalf("%d %s", ctx.Response.StatusCode(), ctx.Response.Body())
				}
			}
		})
	}
}
