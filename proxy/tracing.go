package proxy

import (
	"bytes"
	"context"
	"os"
	"time"

	"github.com/connector-proxy/connector-proxy/config"
	"github.com/connector-proxy/connector-proxy/telemetry"
)

// routeTemplate is the http.route of a public path for its server span:
// the same calls routeName counts, with their ids as placeholders. The AXP
// webhook's path holds its token, so its url.path is the template too;
// Socket.IO's transport requests get no span (its events have theirs).
// It runs on every traced request, so it reads the path in place.
func routeTemplate(p []byte) telemetry.Route {
	switch routeName(p) {
	case "appjwt":
		return telemetry.Route{Template: "/sentinel/api/account/{accountId}/app/token"}
	case "send":
		return telemetry.Route{Template: "/api/account/{accountId}/messaging/consumer/conversation/send"}
	case "conversation":
		return telemetry.Route{Template: "/api/account/{accountId}/messaging/consumer/conversation"}
	case "consumerjws":
		return telemetry.Route{Template: "/api/account/{accountId}/consumer"}
	case "domain":
		if bytes.HasSuffix(p, []byte("/service/baseURI.json")) {
			return telemetry.Route{Template: "/api/account/{accountId}/service/baseURI.json"}
		}
		return telemetry.Route{Template: "/api/account/{accountId}/service/{service}/baseURI.json"}
	case "init":
		return telemetry.Route{Template: "/api/customer/init"}
	case "transcript":
		return telemetry.Route{Template: "/api/customer/transcript/{conversationId}/{type}"}
	case "socketio":
		return telemetry.Route{Skip: true}
	case "axp_webhook":
		return telemetry.Route{Template: "/webhooks/axp/{token}", SecretPath: true}
	case "legacyv1", "legacyv1_token":
		return telemetry.Route{Template: legacyTemplate(string(p))}
	case "demo_hooks":
		return telemetry.Route{Template: "/demo/hooks/{key}"}
	}
	return telemetry.Route{} // the demo console's pages and unknown paths: named by method only
}

// legacyTemplate names the ids of the legacy /api/digital/v1 paths (and
// its token path) after the collection before them.
func legacyTemplate(path string) string {
	return telemetry.PathTemplate(path, func(before []string) (string, bool) {
		switch before[len(before)-1] {
		case "sessions":
			return "{sessionId}", true
		case "engagements":
			return "{engagementId}", true
		case "channel-providers":
			return "{channelProviderId}", true
		case "webhooks":
			return "{webhookId}", true
		case "realms":
			return "{accountId}", true
		}
		return "", false
	})
}

// provisionTracing starts tracing as the configuration and the OTEL_*
// variables say (tel, when set, instead). Its shutdown, which exports the
// last spans, is the first closer, so it runs last.
func (p *Proxy) provisionTracing(ctx context.Context, tel *telemetry.Tracing) error {
	if tel != nil {
		p.tel = tel
		return nil
	}
	tc := p.cfg.TracingConfig(os.Environ())
	tc.Logger = p.log.With("component", "telemetry")
	tel, err := telemetry.New(ctx, tc)
	if err != nil {
		return &config.FieldError{Field: "tracing", Msg: err.Error()}
	}
	if tel == nil {
		return nil
	}
	p.tel = tel
	p.log.Info("tracing on: spans exported over OTLP/HTTP", "service", p.cfg.Tracing.ServiceName)
	p.closers = append(p.closers, func() error {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return tel.Shutdown(sctx)
	})
	return nil
}
