package connectorapi

import (
	"testing"

	"github.com/valyala/fasthttp"
)

// BenchmarkAuthenticate is a SEND's token check: the AppJWT and the
// ConsumerJWS read from the request's headers and found verified in the
// cache, the app looked up, no rate limits configured.
func BenchmarkAuthenticate(b *testing.B) {
	u := newUnit(b)
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.Set("Authorization", "Bearer "+u.app)
	ctx.Request.Header.Set("X-LP-ON-BEHALF", u.jws)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := u.face.authenticate(&ctx, lpAccount); err != nil {
			b.Fatal(err)
		}
	}
}
