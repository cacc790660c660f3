package connectorapi

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/connector-proxy/connector-proxy/auth"
	"github.com/valyala/fasthttp"
)

// The custom headers of a manifest's webhook (headers: [{header_name,
// header_value}]) go with that event key's notifications, beside the
// proxy's own, which they cannot replace.
func TestManifestWebhookHeadersAreSent(t *testing.T) {
	type seen struct{ key, tenant, account, signature string }
	var (
		mu  sync.Mutex
		got []seen
	)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		mu.Lock()
		defer mu.Unlock()
		h := &ctx.Request.Header
		got = append(got, seen{string(h.Peek("X-Api-Key")), string(h.Peek("X-Tenant")), string(h.Peek("X-Liveperson-Account-Id")), string(h.Peek(auth.SignatureHeader))})
	}}
	go srv.Serve(ln) //nolint:errcheck // ends with Shutdown
	t.Cleanup(func() { _ = srv.Shutdown() })
	url := "http://" + ln.Addr().String() + "/hooks"

	s := newStack(t, stackOpts{apps: func(hooksURL string) []auth.App {
		apps := defaultApps(hooksURL)
		apps[0].Webhooks = map[string]string{auth.WebhookContentEvent: url}
		apps[0].WebhookHeaders = map[string]map[string]string{auth.WebhookContentEvent: {"X-Api-Key": "s3cret", "X-Tenant": "acme"}}
		return apps
	}})
	s.agentTalks(s.openConversation(s.newConsumer("headers")), 1)
	deadline := time.Now().Add(waitFor)
	for {
		mu.Lock()
		n := len(got)
		var first seen
		if n > 0 {
			first = got[0]
		}
		mu.Unlock()
		if n > 0 {
			if first.key != "s3cret" || first.tenant != "acme" || first.account != lpAccount || first.signature == "" {
				t.Fatalf("notification headers %+v", first)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no notification reached the endpoint")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
