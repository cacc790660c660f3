package proxy

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/connector-proxy/connector-proxy/config"
	"github.com/connector-proxy/connector-proxy/telemetry"
)

// NewLogger builds the process logger from the configuration: JSON for
// production, text for a terminal.
func NewLogger(w io.Writer, c config.Log) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level)) // validated by config
	opts := &slog.HandlerOptions{Level: level}
	// Records logged with a traced context carry trace_id and span_id.
	if c.Format == "text" {
		return slog.New(telemetry.NewLogHandler(slog.NewTextHandler(w, opts)))
	}
	return slog.New(telemetry.NewLogHandler(slog.NewJSONHandler(w, opts)))
}

// Announce says where the proxy listens and, in demo mode, what to try.
func Announce(w io.Writer, cfg *config.Config, p *Proxy) {
	base := p.publicURL()
	fmt.Fprintf(w, "connector-proxy listening on %s (public) and %s (admin: /metrics /healthz /readyz)\n", p.PublicAddr(), p.AdminAddr())
	if cfg.TLS.Enabled() {
		fmt.Fprintf(w, "the public listener serves TLS (certificate %s)", cfg.TLS.CertFile)
		if pl := p.PlainAddr(); pl != "" {
			fmt.Fprintf(w, "; plain http on %s", pl)
		}
		fmt.Fprintln(w)
	}
	if !cfg.DemoMode() {
		fmt.Fprintf(w, "AXP: %s (API %s), account %s, channel provider %s\n", cfg.AXP.BaseURL, cfg.AXP.APIVersion, cfg.AXP.AccountID, cfg.AXP.ChannelProviderID)
		if u := p.ConsoleURL(); u != "" {
			fmt.Fprintf(w, "demo console (demo.console is on): %s\n", u)
		}
		return
	}
	if u := p.ConsoleURL(); u != "" {
		fmt.Fprintf(w, "\nOPEN THE DEMO CONSOLE: %s\n(a customer's chat, a LivePerson connector and an agent desk on one page)\n", u)
	}
	app := cfg.ConnectorAPI.Apps[0]
	fmt.Fprintf(w, `
DEMO MODE: no AXP configured, so the embedded AXP simulator answers at %[1]s
(API %[8]s; its agent joins and replies by itself; drive it by hand through %[1]s/sim/...).
State is kept in %[2]s.

Try the Messaging Connector API (demo app %[3]s / %[4]s, account %[5]s):
  curl -s -X POST '%[6]s/sentinel/api/account/%[5]s/app/token?v=1.0&grant_type=client_credentials&client_id=%[3]s&client_secret=%[4]s'

Try the Customer Channel API:
  curl -s -X POST %[6]s/api/customer/init -H 'content-type: application/json' \
    -d '{"channel":"web","firstName":"Ada","email":"ada@example.com"}'
  then connect socket.io-client to %[6]s and emit joinConversation.
  Channel connectors authenticate with {"secret":"%[7]s"}.

Legacy /api/digital/v1 clients: their token from
  %[6]s/auth/realms/%[5]s/protocol/openid-connect/token (client %[9]s / %[10]s),
  then %[6]s/api/digital/v1/sessions, /engagements, ...

The README walks through a whole conversation.
`, p.SimulatorURL(), cfg.DataDir, app.ClientID, app.ClientSecret, app.AccountID, base, cfg.CustomerChannel.ConnectorSecret, cfg.AXP.APIVersion,
		cfg.LegacyV1.ClientID, cfg.LegacyV1.ClientSecret)
}
