package proxy

import (
	"fmt"
	"net"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/auth"
	"github.com/connector-proxy/connector-proxy/console"
)

// consoleHooks are the webhooks demo mode points at the console's sink:
// the two kinds of notification the Connector API face sends.
func consoleHooks() []string {
	return []string{auth.WebhookContentEvent, auth.WebhookConversationChange}
}

// provisionConsole builds the demo console when demo.console is on. It runs
// once the public listener is bound: in demo mode the sink's URL, given to
// the apps that have no webhooks of their own, is made of its address.
func (p *Proxy) provisionConsole() error {
	if !p.cfg.ConsoleEnabled() {
		return nil
	}
	page := console.PageConfig{Demo: p.cfg.DemoMode()}
	var agent fasthttp.RequestHandler
	if p.sim != nil {
		agent = p.sim.Sim.Handler
		page.SimAccount = p.cfg.AXP.AccountID
	}
	if apps := p.cfg.ConnectorAPI.Apps; len(apps) > 0 {
		page.Account = apps[0].AccountID
		if page.Demo {
			// The banner prints them too: they are the demo's, not secrets.
			page.ClientID, page.ClientSecret = apps[0].ClientID, apps[0].ClientSecret
		}
	}
	if page.Demo {
		base := p.sinkBase()
		for _, a := range p.cfg.ConnectorAPI.Apps {
			if len(a.Webhooks) > 0 {
				continue // the operator chose where they go
			}
			hooks := map[string]string{}
			for _, key := range consoleHooks() {
				hooks[key] = base + console.HookPath(key)
			}
			if err := p.tokens.SetWebhooks(a.ClientID, hooks); err != nil {
				// A demo without its notifications is still a demo.
				p.log.Warn("the demo app's notifications cannot go to the console", "app", a.ClientID, "err", err)
			}
		}
		if strings.HasPrefix(base, "https:") {
			p.log.Warn("with TLS and no tls.plain_listen, the demo app's notifications reach the console over https: the proxy's own certificate must be trusted by this machine", "sink", base+console.Prefix+"hooks/")
		}
	}
	// Whether any app (the demo's, or one an operator pointed here) sends
	// its notifications to the sink.
	for _, a := range p.tokens.Apps() {
		for _, key := range consoleHooks() {
			page.Notifications = page.Notifications || strings.HasSuffix(a.Webhook(key), console.HookPath(key))
		}
	}
	c, err := console.New(console.Config{
		Agent: agent,
		Secret: func(account, clientID string) (string, bool) {
			a, ok := p.tokens.App(account, clientID)
			if !ok {
				return "", false
			}
			return a.ClientSecret, true
		},
		Page:    page,
		Metrics: console.NewMetrics(p.reg),
		Logger:  p.log.With("component", "console"),
	})
	if err != nil {
		return fmt.Errorf("proxy: demo console: %w", err)
	}
	p.console = c
	p.closers = append(p.closers, c.Close)
	return nil
}

// sinkBase is how this process reaches its own public listener: the sink
// is in the same process, so the notifications the demo app is sent go
// over the loopback (the plain listener beside TLS when there is one),
// whatever public_url says the world uses.
func (p *Proxy) sinkBase() string {
	addr, scheme := p.PublicAddr(), "http"
	if p.cfg.TLS.Enabled() {
		if scheme = "https"; p.plainLn != nil {
			addr, scheme = p.PlainAddr(), "http"
		}
	}
	host, port, _ := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// ConsoleURL is where the demo console is served, "" when it is off.
func (p *Proxy) ConsoleURL() string {
	if p.console == nil {
		return ""
	}
	return p.publicURL() + console.Prefix
}
