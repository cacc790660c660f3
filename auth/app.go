package auth

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// The webhook keys of a LivePerson app manifest (capabilities.webhooks).
const (
	WebhookContentEvent       = "ms.MessagingEventNotification.ContentEvent"
	WebhookRichContentEvent   = "ms.MessagingEventNotification.RichContentEvent"
	WebhookAcceptStatusEvent  = "ms.MessagingEventNotification.AcceptStatusEvent"
	WebhookChatStateEvent     = "ms.MessagingEventNotification.ChatStateEvent"
	WebhookConversationChange = "cqm.ExConversationChangeNotification"
)

// WebhookKeys lists the manifest keys, for validation and documentation.
func WebhookKeys() []string {
	return []string{WebhookContentEvent, WebhookRichContentEvent, WebhookAcceptStatusEvent,
		WebhookChatStateEvent, WebhookConversationChange}
}

// Originator roles an app may ask agent events to carry.
const (
	RoleAssignedAgent = "ASSIGNED_AGENT"
	RoleManager       = "MANAGER"
	RoleController    = "CONTROLLER"
)

// Defaults of an App.
const (
	DefaultRetention = time.Hour
	MinRetention     = 2 * time.Second
	MaxRetention     = 72 * time.Hour
)

// App is an installed connector application: its credentials, the account it
// acts in, where its notifications go and how long undelivered ones are kept.
// A field tagged secret:"true" is masked where the configuration is printed
// (connector-proxy -check-config).
type App struct {
	Name         string `json:"name,omitempty" yaml:"name,omitempty"`
	ClientID     string `json:"client_id" yaml:"client_id"`
	ClientSecret string `json:"client_secret" yaml:"client_secret" secret:"true"`
	AccountID    string `json:"account_id" yaml:"account_id"`
	// Webhooks maps a manifest event key to its endpoint. The configuration
	// also takes a manifest's object form ({endpoint, max_retries,
	// headers}), which it reduces to this and WebhookHeaders.
	Webhooks map[string]string `json:"webhooks,omitempty" yaml:"webhooks,omitempty"`
	// WebhookHeaders are custom headers sent with the notifications of an
	// event key (a manifest's "headers": [{header_name, header_value}]).
	WebhookHeaders map[string]map[string]string `json:"webhook_headers,omitempty" yaml:"webhook_headers,omitempty"`
	// Retention is how long a notification is retried before it is dropped
	// (LivePerson's retry.retention_time; 2 s to 3 days, default 1 h).
	Retention time.Duration `json:"retention,omitempty" yaml:"retention,omitempty"`
	// AgentRole is the originator role agent events carry (default
	// ASSIGNED_AGENT; some connectors only accept MANAGER).
	AgentRole string `json:"agent_role,omitempty" yaml:"agent_role,omitempty"`
	// AllowInsecureWebhooks lets webhooks use plain http to hosts other than
	// the loopback.
	AllowInsecureWebhooks bool `json:"allow_insecure_webhooks,omitempty" yaml:"allow_insecure_webhooks,omitempty"`
}

// withDefaults fills the defaults and checks the app.
func (a App) withDefaults() (App, error) {
	if a.ClientID == "" || a.ClientSecret == "" || a.AccountID == "" {
		return a, fmt.Errorf("auth: app %q needs client_id, client_secret and account_id", a.ClientID)
	}
	if a.Retention == 0 {
		a.Retention = DefaultRetention
	}
	if a.Retention < MinRetention || a.Retention > MaxRetention {
		return a, fmt.Errorf("auth: app %s: retention %v outside %v..%v", a.ClientID, a.Retention, MinRetention, MaxRetention)
	}
	switch a.AgentRole {
	case "":
		a.AgentRole = RoleAssignedAgent
	case RoleAssignedAgent, RoleManager, RoleController:
	default:
		return a, fmt.Errorf("auth: app %s: agent_role %q is not ASSIGNED_AGENT, MANAGER or CONTROLLER", a.ClientID, a.AgentRole)
	}
	known := map[string]bool{}
	for _, k := range WebhookKeys() {
		known[k] = true
	}
	hooks := make(map[string]string, len(a.Webhooks))
	for k, v := range a.Webhooks {
		if !known[k] {
			return a, fmt.Errorf("auth: app %s: unknown webhook key %q", a.ClientID, k)
		}
		if err := checkEndpoint(v, a.AllowInsecureWebhooks); err != nil {
			return a, fmt.Errorf("auth: app %s: webhook %s: %w", a.ClientID, k, err)
		}
		hooks[k] = v
	}
	a.Webhooks = hooks
	for k, hs := range a.WebhookHeaders {
		if _, ok := hooks[k]; !ok {
			return a, fmt.Errorf("auth: app %s: webhook_headers for %q, which has no endpoint", a.ClientID, k)
		}
		for name, v := range hs {
			if err := CheckWebhookHeader(name, v); err != nil {
				return a, fmt.Errorf("auth: app %s: webhook %s: %w", a.ClientID, k, err)
			}
		}
	}
	return a, nil
}

// CheckWebhookHeader refuses a custom notification header that is not a
// valid HTTP field, or that would replace one the proxy sets itself
// (Content-Type, the x-liveperson-* headers, the signature).
func CheckWebhookHeader(name, value string) error {
	if name == "" {
		return errors.New("a header without a name")
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return fmt.Errorf("header name %q is not an HTTP token", name)
		}
	}
	switch l := strings.ToLower(name); {
	case l == "content-type", l == "content-length", l == "host", strings.HasPrefix(l, "x-liveperson-"):
		return fmt.Errorf("header %q is the proxy's own", name)
	}
	if strings.ContainsAny(value, "\r\n\x00") {
		return fmt.Errorf("header %q has a line break or NUL in its value", name)
	}
	return nil
}

// CheckEndpoint reports what is wrong with a webhook endpoint: https
// anywhere, plain http only on the loopback unless allowInsecure.
func CheckEndpoint(raw string, allowInsecure bool) error { return checkEndpoint(raw, allowInsecure) }

// checkEndpoint accepts https anywhere and http on the loopback, where
// connectors under development listen; elsewhere http needs allowInsecure.
func checkEndpoint(raw string, allowInsecure bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("bad URL: %w", err)
	}
	if u.Host == "" {
		return fmt.Errorf("URL %q has no host", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); (ip != nil && ip.IsLoopback()) || host == "localhost" || allowInsecure {
			return nil
		}
		return fmt.Errorf("URL %q is plain http to a remote host (set allow_insecure_webhooks to permit it)", raw)
	}
	return fmt.Errorf("URL %q is not http(s)", raw)
}

// Webhook returns the endpoint configured for a manifest key, "" for none.
func (a *App) Webhook(key string) string { return a.Webhooks[key] }

// WebhookHeadersOf returns the custom headers of a manifest key's
// notifications, nil for none.
func (a *App) WebhookHeadersOf(key string) map[string]string { return a.WebhookHeaders[key] }
