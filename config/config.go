// Package config is connector-proxy's configuration: a YAML file, then
// environment overrides (CONNECTOR_PROXY_ + the field's YAML path in upper
// case, "_" between levels, e.g. CONNECTOR_PROXY_AXP_CLIENT_SECRET), then
// defaults, then validation that names the field at fault. With no AXP base
// URL the proxy runs in demo mode against its embedded simulator.
//
// The items of a list of structs (the connector apps) are declared in the
// file; the environment can set their fields by index
// (CONNECTOR_PROXY_CONNECTOR_API_APPS_0_CLIENT_SECRET), so that an app can be
// described in a Kubernetes ConfigMap and its secret come from a Secret.
// Load ignores CONNECTOR_PROXY_ variables that name no field (the proxy
// logs them at start); Check, behind connector-proxy -check-config, refuses
// them, and MaskedYAML prints the resolved configuration with the fields
// tagged secret masked.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/auth"
	"github.com/connector-proxy/connector-proxy/telemetry"
)

// Config is the whole file.
type Config struct {
	// Listen is the public listener (both client faces and the AXP webhook).
	Listen string `yaml:"listen"`
	// AdminListen serves /metrics, /healthz and /readyz.
	AdminListen string `yaml:"admin_listen"`
	// AdminPprof serves Go's profiles (net/http/pprof) under /debug/pprof/
	// on the admin listener. Off by default: profiles show the process's
	// internals and a CPU profile costs CPU while it runs.
	AdminPprof bool `yaml:"admin_pprof"`
	// AdminToken guards the outbox API under /admin/outbox/ on the admin
	// listener (Authorization: Bearer <token>). Empty: that API is off and
	// answers 403.
	AdminToken string `yaml:"admin_token" secret:"true"`
	// PublicURL is how AXP reaches this proxy; the webhook callback URL is
	// built from it. Empty: http:// and the public listener's address, which
	// is right only when AXP runs on the same host (demo mode).
	PublicURL string `yaml:"public_url"`
	// DataDir holds the embedded store, the AppJWT signing key and the
	// webhook path token.
	DataDir string `yaml:"data_dir"`
	// ShutdownTimeout bounds the drain of in-flight requests on SIGTERM.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// ReplicaID names this process among replicas sharing a Redis store
	// (it holds notification delivery leases and connector registrations).
	// Empty: hostname, pid and a random suffix, new at every start.
	ReplicaID string `yaml:"replica_id"`

	Log             Log             `yaml:"log"`
	Store           Store           `yaml:"store"`
	AXP             AXP             `yaml:"axp"`
	Demo            Demo            `yaml:"demo"`
	ConnectorAPI    ConnectorAPI    `yaml:"connector_api"`
	TLS             TLS             `yaml:"tls"`
	CustomerChannel CustomerChannel `yaml:"customer_channel"`
	LegacyV1        LegacyV1        `yaml:"legacy_v1"`
	Limits          Limits          `yaml:"limits"`
	Tracing         Tracing         `yaml:"tracing"`
	Outbox          Outbox          `yaml:"outbox"`
}

// Tracing exports OpenTelemetry traces over OTLP/HTTP (package telemetry).
// It is off unless Enabled or the OTEL_* variables switch it on; those
// variables win over these fields, as OpenTelemetry has it.
type Tracing struct {
	// Enabled switches tracing on.
	Enabled bool `yaml:"enabled"`
	// Endpoint is the collector's OTLP/HTTP base URL
	// (http://otel-collector:4318; spans go to /v1/traces). Empty:
	// OTEL_EXPORTER_OTLP_ENDPOINT, else localhost:4318.
	Endpoint string `yaml:"endpoint" secret:"url"`
	// ServiceName is service.name (default connector-proxy).
	ServiceName string `yaml:"service_name"`
	// SampleRatio is the share of new traces recorded, from 0 (exclusive)
	// to 1 (default: all); a client's sampled traceparent is followed.
	SampleRatio float64 `yaml:"sample_ratio"`
}

// Outbox configures what the notification outbox keeps of what it could
// not deliver, and how fast replicas see an endpoint paused.
type Outbox struct {
	// DroppedMax bounds the dropped notifications kept for a replay
	// (default 10000; kept per shard, so up to DroppedMax rounded up to a
	// multiple of 64).
	DroppedMax int `yaml:"dropped_max"`
	// DroppedRetention is how long a dropped notification is kept
	// (default 168h).
	DroppedRetention time.Duration `yaml:"dropped_retention"`
	// PauseRefresh is how often each replica reads the paused endpoints
	// (default 2s): a pause made on another replica is honoured within it.
	PauseRefresh time.Duration `yaml:"pause_refresh"`
}

// MinAdminToken is the shortest admin_token taken.
const MinAdminToken = 16

// LegacyV1 serves clients of AXP's legacy /api/digital/v1 engagement API
// (package adapters/legacyv1) on the public listener. It is on when a
// client id is set; in demo mode it is on with the demo client.
type LegacyV1 struct {
	// ClientID and ClientSecret are what the legacy client sends to the
	// realm token endpoint (/auth/realms/{axp.account_id}/…).
	ClientID     string `yaml:"client_id"`
	ClientSecret string `yaml:"client_secret" secret:"true"`
	// IdentifierKey is the Customer Journey identifier name the legacy
	// single customerIdentifier is filed under (default customerIdentifier).
	IdentifierKey string `yaml:"identifier_key"`
	// AllowInsecureWebhooks accepts plain-http webhook callbacks to hosts
	// other than the loopback.
	AllowInsecureWebhooks bool `yaml:"allow_insecure_webhooks"`
}

// Enabled reports whether the legacy face is served.
func (l LegacyV1) Enabled() bool { return l.ClientID != "" }

// Log configures log/slog.
type Log struct {
	// Format is json (default) or text.
	Format string `yaml:"format"`
	// Level is debug, info (default), warn or error.
	Level string `yaml:"level"`
}

// Store chooses where state lives.
type Store struct {
	// Driver is bolt (default, one replica) or redis (several replicas).
	Driver string `yaml:"driver"`
	// RedisURL is redis://[user:pass@]host:port/db when Driver is redis;
	// with RedisCluster, one seed node and each other as an addr parameter
	// (redis://h1:7000?addr=h2:7001&addr=h3:7002).
	RedisURL string `yaml:"redis_url" secret:"url"`
	// RedisCluster says RedisURL names a Redis Cluster.
	RedisCluster bool `yaml:"redis_cluster"`
	// Retention is how long a closed conversation's mappings are kept.
	Retention time.Duration `yaml:"retention"`
	// CacheSize is the number of entries of each LRU in front of the store.
	CacheSize int `yaml:"cache_size"`
}

// AXP is the backend.
type AXP struct {
	// BaseURL is the host root, e.g. https://na.cc.avayacloud.com. Empty
	// means demo mode.
	BaseURL           string        `yaml:"base_url"`
	AccountID         string        `yaml:"account_id"`
	ClientID          string        `yaml:"client_id"`
	ClientSecret      string        `yaml:"client_secret" secret:"true"`
	ChannelProviderID string        `yaml:"channel_provider_id"`
	Timeout           time.Duration `yaml:"timeout"`
	// WebhookToken is the unguessable path segment of the callback URL;
	// generated and kept in DataDir when empty.
	WebhookToken string `yaml:"webhook_token" secret:"true"`
	// APIVersion is the generation of AXP's Digital API: v1beta (default,
	// on {region}.cc.avayacloud.com) or v1, the GA API (on
	// {region}.api.avayacloud.com, with an appkey on every call).
	APIVersion string `yaml:"api_version"`
	// AppKey is the GA API's application key, sent as the appkey header;
	// required when APIVersion is v1 (in demo mode it defaults to the
	// embedded simulator's).
	AppKey string `yaml:"app_key" secret:"true"`
	// SubscriptionCheckInterval is how often the proxy checks that AXP
	// still holds its webhook subscription, and makes it again if not.
	SubscriptionCheckInterval time.Duration `yaml:"subscription_check_interval"`
	// UnconfirmedWindow is how long after it was sent a write AXP did not
	// answer (a create, a message) may still land there. Until it has
	// passed, a client's retry looks for the write at AXP instead of
	// making it again, and is told "not confirmed" while it is not there.
	UnconfirmedWindow time.Duration `yaml:"unconfirmed_window"`
}

// Demo configures the embedded simulator used when AXP.BaseURL is empty.
type Demo struct {
	// SimListen is the simulator's own listener (its agent API).
	SimListen string `yaml:"sim_listen"`
	// ManualAgent turns the simulator's auto-agent off: the agent then joins
	// and answers only through the simulator's agent API.
	ManualAgent bool `yaml:"manual_agent"`
	// Console serves the demo console (package console) at /demo/ on the
	// public listener. Default: on in demo mode, off otherwise.
	Console *bool `yaml:"console"`
}

// ConsoleEnabled reports whether /demo/ is served.
func (c *Config) ConsoleEnabled() bool { return c.Demo.Console != nil && *c.Demo.Console }

// ConnectorAPI configures the Messaging Connector API face.
type ConnectorAPI struct {
	// KeyFile is the PEM RSA key that signs AppJWTs; generated into DataDir
	// when empty.
	KeyFile string `yaml:"key_file"`
	// Issuer is the AppJWT iss claim.
	Issuer string `yaml:"issuer"`
	// PublicHost is the host[:port] the Domain API names for sentinel, idp
	// and asyncMessagingEnt (connectors call https://{host}/…). Empty: the
	// host of public_url when set, else the Host each request came to.
	PublicHost string `yaml:"public_host"`
	// LeaseTTL is how long one replica's hold on a conversation's
	// notification delivery lasts unless renewed: how long the queues of a
	// replica that died wait before another takes them over.
	LeaseTTL time.Duration `yaml:"lease_ttl"`
	// Apps are the installed connector applications (package auth
	// documents each field and its defaults).
	Apps []auth.App `yaml:"apps"`
}

// TLS serves the public listener over https (TLS 1.2 and up), which
// LivePerson connectors expect: they hard-code https:// for every service.
type TLS struct {
	// CertFile is the PEM certificate chain, leaf first; KeyFile its PEM
	// private key. Both set turn TLS on.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// PlainListen, with TLS on, is a plain-http listener beside it serving
	// the same routes (some clients call the Domain API over http).
	PlainListen string `yaml:"plain_listen"`
}

// Enabled reports whether the public listener serves TLS.
func (t TLS) Enabled() bool { return t.CertFile != "" || t.KeyFile != "" }

// CustomerChannel configures the Customer Channel face.
type CustomerChannel struct {
	// AllowedOrigins are the browser origins allowed by CORS ("*" for any).
	AllowedOrigins []string `yaml:"allowed_origins"`
	// ConnectorSecret authenticates registerConnector sockets.
	ConnectorSecret string        `yaml:"connector_secret" secret:"true"`
	PingInterval    time.Duration `yaml:"ping_interval"`
	PingTimeout     time.Duration `yaml:"ping_timeout"`
	MaxPayload      int           `yaml:"max_payload"`
	SMTP            SMTP          `yaml:"smtp"`
	Transcript      Transcript    `yaml:"transcript"`
}

// SMTP is where email transcripts go.
type SMTP struct {
	Addr     string `yaml:"addr"`
	From     string `yaml:"from"`
	Username string `yaml:"username"`
	Password string `yaml:"password" secret:"true"`
}

// EnvPrefix starts every environment override.
const EnvPrefix = "CONNECTOR_PROXY_"

// Load reads path (none when empty), applies the environment and the
// defaults, and validates.
func Load(path string, environ []string) (*Config, error) {
	c, _, err := Read(path, environ)
	return c, err
}

// Read is Load that also returns the CONNECTOR_PROXY_ variables of environ
// that it ignored because they name no field (see Check).
func Read(path string, environ []string) (c *Config, ignored []string, err error) {
	// Limits' defaults come first: there, an explicit 0 means off.
	c = &Config{Limits: DefaultLimits()}
	if path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, nil, fmt.Errorf("config: %w", err)
		}
		if err := decodeFile(path, raw, c); err != nil {
			return nil, nil, err
		}
	}
	if err := applyEnv(c, environ); err != nil {
		return nil, nil, err
	}
	// Before the defaults: the demo app they add takes no app variables.
	ignored = unknownEnv(c, environ)
	c.defaults()
	if err := c.Validate(); err != nil {
		return nil, ignored, err
	}
	return c, ignored, nil
}

// Check is what -check-config runs: Load, and also refused what Load lets
// pass but an operator means otherwise: a CONNECTOR_PROXY_ variable that
// names no field (a typo would leave the setting unapplied), and a
// connector_api.key_file that does not hold an RSA private key (found only
// when the face starts otherwise). Every fault is named.
func Check(path string, environ []string) (*Config, error) {
	c, ignored, err := Read(path, environ)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	for _, name := range ignored {
		errs = append(errs, &FieldError{Field: name, Msg: "names no configuration field (misspelt, or an app index the file does not have)"})
	}
	if c != nil && c.ConnectorAPI.KeyFile != "" {
		if err := checkKeyFile(c.ConnectorAPI.KeyFile); err != nil {
			errs = append(errs, err)
		}
	}
	if c != nil {
		// The OTEL_* variables the start would refuse (an exporter or a
		// protocol this build has not).
		if err := telemetry.Check(c.TracingConfig(environ)); err != nil {
			errs = append(errs, &FieldError{Field: "tracing", Msg: err.Error()})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

func checkKeyFile(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return &FieldError{Field: "connector_api.key_file", Msg: err.Error()}
	}
	if _, err := auth.ParseKey(raw); err != nil {
		return &FieldError{Field: "connector_api.key_file", Msg: err.Error()}
	}
	return nil
}

// TracingConfig is the tracing configuration, reading the OTEL_*
// variables from environ.
func (c *Config) TracingConfig(environ []string) telemetry.Config {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "OTEL_") {
			env[k] = v
		}
	}
	return telemetry.Config{
		Enabled:     c.Tracing.Enabled,
		Endpoint:    c.Tracing.Endpoint,
		ServiceName: c.Tracing.ServiceName,
		SampleRatio: c.Tracing.SampleRatio,
		Getenv:      func(k string) string { return env[k] },
	}
}

// DemoMode reports whether the proxy runs against its embedded simulator.
func (c *Config) DemoMode() bool { return c.AXP.BaseURL == "" }

// Demo credentials, said at start-up in demo mode.
const (
	DemoAccount         = "DEMOAC"
	DemoClientID        = "demo-client"
	DemoClientSecret    = "demo-secret"
	DemoChannelProvider = "ConnectorProxyDemo"
	DemoAppClientID     = "demo-app"
	DemoAppClientSecret = "demo-app-secret"
	DemoConnectorSecret = "demo-connector-secret"
	DemoAppKey          = "demo-appkey"
	DemoLegacyClientID  = "demo-legacy"
	DemoLegacySecret    = "demo-legacy-secret"
	defaultListen       = ":8080"
	defaultAdminListen  = ":9090"
	defaultSimListen    = "127.0.0.1:8090"
)

func (c *Config) defaults() {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	defDur := func(p *time.Duration, v time.Duration) {
		if *p == 0 {
			*p = v
		}
	}
	def(&c.Listen, defaultListen)
	def(&c.AdminListen, defaultAdminListen)
	def(&c.DataDir, "data")
	defDur(&c.ShutdownTimeout, 15*time.Second)
	defDur(&c.ConnectorAPI.LeaseTTL, 15*time.Second)
	def(&c.Log.Format, "json")
	def(&c.Log.Level, "info")
	def(&c.Store.Driver, "bolt")
	defDur(&c.Store.Retention, 72*time.Hour)
	if c.Store.CacheSize == 0 {
		c.Store.CacheSize = 10_000
	}
	defDur(&c.AXP.Timeout, 10*time.Second)
	def(&c.AXP.APIVersion, engagement.APIV1Beta)
	defDur(&c.AXP.SubscriptionCheckInterval, time.Minute)
	defDur(&c.AXP.UnconfirmedWindow, max(30*time.Second, 3*c.AXP.Timeout))
	def(&c.Demo.SimListen, defaultSimListen)
	if c.Demo.Console == nil {
		on := c.DemoMode()
		c.Demo.Console = &on
	}
	def(&c.ConnectorAPI.Issuer, "connector-proxy")
	defDur(&c.CustomerChannel.PingInterval, 25*time.Second)
	defDur(&c.CustomerChannel.PingTimeout, 20*time.Second)
	if c.CustomerChannel.MaxPayload == 0 {
		c.CustomerChannel.MaxPayload = 1_000_000
	}
	c.CustomerChannel.Transcript.defaults()
	def(&c.Tracing.ServiceName, "connector-proxy")
	if c.Tracing.SampleRatio == 0 {
		c.Tracing.SampleRatio = 1
	}
	if c.Outbox.DroppedMax == 0 {
		c.Outbox.DroppedMax = 10_000
	}
	defDur(&c.Outbox.DroppedRetention, 7*24*time.Hour)
	defDur(&c.Outbox.PauseRefresh, 2*time.Second)
	if c.DemoMode() {
		// Demo mode: everything is on this machine, with credentials the
		// start-up message prints.
		def(&c.AXP.AccountID, DemoAccount)
		def(&c.AXP.ClientID, DemoClientID)
		def(&c.AXP.ClientSecret, DemoClientSecret)
		def(&c.AXP.ChannelProviderID, DemoChannelProvider)
		if c.AXP.APIVersion == engagement.APIV1 {
			def(&c.AXP.AppKey, DemoAppKey)
		}
		if len(c.ConnectorAPI.Apps) == 0 {
			c.ConnectorAPI.Apps = []auth.App{{ClientID: DemoAppClientID, ClientSecret: DemoAppClientSecret, AccountID: DemoAccount}}
		}
		def(&c.CustomerChannel.ConnectorSecret, DemoConnectorSecret)
		if c.LegacyV1.ClientID == "" {
			c.LegacyV1.ClientID, c.LegacyV1.ClientSecret = DemoLegacyClientID, DemoLegacySecret
		}
		if len(c.CustomerChannel.AllowedOrigins) == 0 {
			c.CustomerChannel.AllowedOrigins = []string{"*"}
		}
	}
	for i := range c.ConnectorAPI.Apps {
		// auth applies the same defaults; set here, they are what
		// -check-config prints.
		a := &c.ConnectorAPI.Apps[i]
		defDur(&a.Retention, auth.DefaultRetention)
		def(&a.AgentRole, auth.RoleAssignedAgent)
	}
}

// checkListen accepts what net.Listen("tcp", addr) accepts: [host]:port
// with a numeric port (0: the kernel picks).
func checkListen(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("must be [host]:port, got %q", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port must be a number from 0 to 65535, got %q", port)
	}
	return nil
}

// checkAPIVersion checks the AXP generation, its app key, and that the base
// URL is not AXP's host of the other generation (a v1 call to
// *.cc.avayacloud.com, or a v1beta one to *.api.avayacloud.com, could only
// ever answer 404).
func (c *Config) checkAPIVersion(bad func(field, format string, args ...any)) {
	switch c.AXP.APIVersion {
	case engagement.APIV1Beta:
	case engagement.APIV1:
		if c.AXP.AppKey == "" {
			bad("axp.app_key", "is required when axp.api_version is v1 (AXP's GA API refuses every call without an appkey)")
		}
	default:
		bad("axp.api_version", "must be v1beta or v1, got %q", c.AXP.APIVersion)
		return
	}
	if c.DemoMode() {
		return
	}
	u, err := url.Parse(c.AXP.BaseURL)
	if err != nil {
		return // reported as axp.base_url
	}
	host := strings.ToLower(u.Hostname())
	switch {
	case c.AXP.APIVersion == engagement.APIV1 && strings.HasSuffix(host, ".cc.avayacloud.com"):
		bad("axp.base_url", "%s is AXP's v1beta host; the GA v1 API is served on {region}.api.avayacloud.com", host)
	case c.AXP.APIVersion == engagement.APIV1Beta && strings.HasSuffix(host, ".api.avayacloud.com"):
		bad("axp.base_url", "%s is AXP's GA host; v1beta is served on {region}.cc.avayacloud.com (or set axp.api_version: v1)", host)
	}
}

// sixLetters is AXP's accountId rule, ^[a-zA-Z]{6}$.
func sixLetters(s string) bool {
	if len(s) != 6 {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') {
			return false
		}
	}
	return true
}

// FieldError names the configuration field at fault.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return "config: " + e.Field + ": " + e.Msg }

// Validate checks the configuration and names the first bad field.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	for _, l := range []struct{ field, addr string }{
		{"listen", c.Listen}, {"admin_listen", c.AdminListen}, {"tls.plain_listen", c.TLS.PlainListen}, {"demo.sim_listen", c.Demo.SimListen},
	} {
		if err := checkListen(l.addr); l.addr != "" && err != nil {
			bad(l.field, "%v", err)
		}
	}
	if c.ShutdownTimeout < 0 {
		bad("shutdown_timeout", "must not be negative, got %s", c.ShutdownTimeout)
	}
	if u, err := url.Parse(c.PublicURL); c.PublicURL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		bad("public_url", "must be an absolute http(s) URL, got %q", c.PublicURL)
	}
	if h := c.ConnectorAPI.PublicHost; h != "" {
		if u, err := url.Parse("//" + h); err != nil || u.Host != h || u.User != nil || u.Hostname() == "" {
			bad("connector_api.public_host", "must be host or host:port, without scheme or path, got %q", h)
		}
	}
	if err := c.TLS.check(); err != nil {
		errs = append(errs, err)
	}
	switch c.Log.Format {
	case "json", "text":
	default:
		bad("log.format", "must be json or text, got %q", c.Log.Format)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "must be debug, info, warn or error, got %q", c.Log.Level)
	}
	switch c.Store.Driver {
	case "bolt":
	case "redis":
		if c.Store.RedisURL == "" {
			bad("store.redis_url", "is required when store.driver is redis")
		}
	default:
		bad("store.driver", "must be bolt or redis, got %q", c.Store.Driver)
	}
	if !c.DemoMode() {
		if u, err := url.Parse(c.AXP.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("axp.base_url", "must be an absolute http(s) URL, got %q", c.AXP.BaseURL)
		}
		for field, v := range map[string]string{"axp.client_id": c.AXP.ClientID, "axp.client_secret": c.AXP.ClientSecret} {
			if v == "" {
				bad(field, "is required")
			}
		}
	}
	c.checkAPIVersion(bad)
	if e := c.Tracing.Endpoint; e != "" {
		if u, err := url.Parse(e); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("tracing.endpoint", "must be the collector's OTLP/HTTP base URL, such as http://otel-collector:4318, got %q", e)
		}
	}
	if r := c.Tracing.SampleRatio; r <= 0 || r > 1 {
		bad("tracing.sample_ratio", "must be above 0 and at most 1, got %v", r)
	}
	if !sixLetters(c.AXP.AccountID) {
		bad("axp.account_id", "must be six letters, got %q", c.AXP.AccountID)
	}
	if n := len(c.AXP.ChannelProviderID); n < 3 || n > 256 {
		bad("axp.channel_provider_id", "must be 3 to 256 characters, got %q", c.AXP.ChannelProviderID)
	}
	if c.AXP.WebhookToken != "" {
		if err := engagement.CheckWebhookToken(c.AXP.WebhookToken); err != nil {
			bad("axp.webhook_token", "%v (it must not be guessable)", err)
		}
	}
	seen := map[string]bool{}
	for i, a := range c.ConnectorAPI.Apps {
		f := fmt.Sprintf("connector_api.apps[%d]", i)
		if a.ClientID == "" {
			bad(f+".client_id", "is required")
		}
		if seen[a.ClientID] {
			bad(f+".client_id", "%q is configured twice", a.ClientID)
		}
		seen[a.ClientID] = true
		if a.ClientSecret == "" {
			bad(f+".client_secret", "is required")
		}
		if a.AccountID == "" {
			bad(f+".account_id", "is required")
		}
		if errs := checkAppFields(a, f); len(errs) > 0 {
			for _, e := range errs {
				bad(e.Field, "%s", e.Msg)
			}
		} else if err := auth.CheckApp(a); err != nil {
			bad(f, "%v", err)
		}
	}
	errs = append(errs, c.CustomerChannel.Transcript.check("customer_channel.transcript")...)
	if c.LegacyV1.Enabled() && c.LegacyV1.ClientSecret == "" {
		bad("legacy_v1.client_secret", "is required when legacy_v1.client_id is set")
	}
	if n := len(c.LegacyV1.IdentifierKey); n > 50 {
		bad("legacy_v1.identifier_key", "must be at most 50 characters (a Customer Journey identifier name), got %d", n)
	}
	if c.CustomerChannel.MaxPayload < 1024 {
		bad("customer_channel.max_payload", "must be at least 1024 bytes")
	}
	if c.ConnectorAPI.LeaseTTL < 100*time.Millisecond {
		bad("connector_api.lease_ttl", "must be at least 100ms, got %s", c.ConnectorAPI.LeaseTTL)
	}
	if c.CustomerChannel.PingTimeout <= 0 || c.CustomerChannel.PingInterval <= 0 {
		bad("customer_channel.ping_interval", "ping_interval and ping_timeout must be positive")
	}
	if c.AXP.SubscriptionCheckInterval < 100*time.Millisecond {
		bad("axp.subscription_check_interval", "must be at least 100ms, got %s", c.AXP.SubscriptionCheckInterval)
	}
	if c.AXP.UnconfirmedWindow < 2*c.AXP.Timeout {
		bad("axp.unconfirmed_window", "must be at least twice axp.timeout (%s: the proxy looks for an unanswered write that long), got %s", 2*c.AXP.Timeout, c.AXP.UnconfirmedWindow)
	}
	c.Limits.check(bad)
	if t := c.AdminToken; t != "" && (len(t) < MinAdminToken || strings.ContainsAny(t, " \t\r\n")) {
		bad("admin_token", "must be at least %d characters without spaces (it guards the outbox API)", MinAdminToken)
	}
	if c.Outbox.DroppedMax < 0 || c.Outbox.DroppedMax > 10_000_000 {
		bad("outbox.dropped_max", "must be from 1 to 10000000, got %d", c.Outbox.DroppedMax)
	}
	if d := c.Outbox.DroppedRetention; d < time.Minute || d > 90*24*time.Hour {
		bad("outbox.dropped_retention", "must be from 1m to 2160h, got %s", d)
	}
	if d := c.Outbox.PauseRefresh; d < 10*time.Millisecond || d > time.Minute {
		bad("outbox.pause_refresh", "must be from 10ms to 1m, got %s", d)
	}
	return errors.Join(errs...)
}
