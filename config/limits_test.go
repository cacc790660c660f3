package config

import (
	"strings"
	"testing"
	"time"
)

func TestLimitsDefaults(t *testing.T) {
	c, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Limits, DefaultLimits(); got.MaxConnsPerIP != want.MaxConnsPerIP || got.IdleTimeout != want.IdleTimeout ||
		got.MaxHeaderBytes != want.MaxHeaderBytes || got.Rate != want.Rate || got.MaxConns != 0 {
		t.Fatalf("limits = %+v, want the defaults %+v", got, want)
	}
	if c.AXP.SubscriptionCheckInterval != time.Minute {
		t.Errorf("axp.subscription_check_interval = %s, want 1m", c.AXP.SubscriptionCheckInterval)
	}
}

func TestLimitsOffByDefault(t *testing.T) {
	l := DefaultLimits()
	if l.MaxConnsPerIP != 0 || l.Rate != (RateLimits{}) {
		t.Fatalf("defaults cap a client address or rate: %+v (a sidecar's clients all come from its chat server)", l)
	}
}

func TestLimitsZeroTurnsOff(t *testing.T) {
	// The file turns the caps on, as the Kubernetes manifests do; an
	// explicit 0 from the environment turns them off again.
	file := "limits:\n  max_conns_per_ip: 1000\n  rate:\n    app: {per_second: 100, burst: 200}\n    consumer:\n      per_second: 20\n      burst: 50\n"
	tests := []struct {
		name string
		env  []string
		want Limits
	}{
		{"the file's values", nil, Limits{MaxConnsPerIP: 1000, Rate: RateLimits{App: Rate{PerSecond: 100}, Consumer: Rate{PerSecond: 20}}}},
		{"zeros from the environment", []string{"CONNECTOR_PROXY_LIMITS_MAX_CONNS_PER_IP=0",
			"CONNECTOR_PROXY_LIMITS_RATE_APP_PER_SECOND=0", "CONNECTOR_PROXY_LIMITS_RATE_CONSUMER_PER_SECOND=0"}, Limits{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(writeFile(t, file), tt.env)
			if err != nil {
				t.Fatal(err)
			}
			l := c.Limits
			if l.MaxConnsPerIP != tt.want.MaxConnsPerIP || l.Rate.App.PerSecond != tt.want.Rate.App.PerSecond ||
				l.Rate.Consumer.PerSecond != tt.want.Rate.Consumer.PerSecond {
				t.Fatalf("limits = %+v, want cap %d, app %v/s, consumer %v/s", l, tt.want.MaxConnsPerIP,
					tt.want.Rate.App.PerSecond, tt.want.Rate.Consumer.PerSecond)
			}
			if l.Rate.Init != DefaultLimits().Rate.Init || l.IdleTimeout != DefaultLimits().IdleTimeout {
				t.Fatalf("fields not named lost their defaults: %+v", l)
			}
		})
	}
}

func TestLimitsFromEnvironment(t *testing.T) {
	c, err := Load("", []string{
		"CONNECTOR_PROXY_LIMITS_IDLE_TIMEOUT=5s",
		"CONNECTOR_PROXY_LIMITS_RATE_INIT_PER_SECOND=0.5",
		"CONNECTOR_PROXY_LIMITS_RATE_INIT_BURST=3",
		"CONNECTOR_PROXY_LIMITS_TRUSTED_PROXIES=10.0.0.0/8, 192.0.2.1",
		"CONNECTOR_PROXY_AXP_SUBSCRIPTION_CHECK_INTERVAL=250ms",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Limits.IdleTimeout != 5*time.Second || c.Limits.Rate.Init != (Rate{PerSecond: 0.5, Burst: 3}) ||
		c.AXP.SubscriptionCheckInterval != 250*time.Millisecond {
		t.Fatalf("not applied: %+v %s", c.Limits, c.AXP.SubscriptionCheckInterval)
	}
	got := c.Limits.TrustedPrefixes()
	if len(got) != 2 || got[0].String() != "10.0.0.0/8" || got[1].String() != "192.0.2.1/32" {
		t.Fatalf("trusted prefixes = %v", got)
	}
}

func TestLimitsValidationNamesTheField(t *testing.T) {
	tests := []struct {
		env   string
		field string
	}{
		{"CONNECTOR_PROXY_LIMITS_MAX_CONNS=-1", "limits.max_conns"},
		{"CONNECTOR_PROXY_LIMITS_MAX_CONNS_PER_IP=-5", "limits.max_conns_per_ip"},
		{"CONNECTOR_PROXY_LIMITS_IDLE_TIMEOUT=10ms", "limits.idle_timeout"},
		{"CONNECTOR_PROXY_LIMITS_READ_TIMEOUT=0s", "limits.read_timeout"},
		{"CONNECTOR_PROXY_LIMITS_MAX_HEADER_BYTES=4096", "limits.max_header_bytes"},
		{"CONNECTOR_PROXY_LIMITS_MAX_HEADER_BYTES=99999999", "limits.max_header_bytes"},
		{"CONNECTOR_PROXY_LIMITS_TRUSTED_PROXIES=10.0.0.0/8,nonsense", "limits.trusted_proxies[1]"},
		{"CONNECTOR_PROXY_LIMITS_RATE_SOCKETIO_PER_SECOND=-1", "limits.rate.socketio.per_second"},
		{"CONNECTOR_PROXY_LIMITS_RATE_CONSUMER_PER_SECOND=20 CONNECTOR_PROXY_LIMITS_RATE_CONSUMER_BURST=0", "limits.rate.consumer.burst"},
		{"CONNECTOR_PROXY_LIMITS_RATE_APP_PER_SECOND=fast", "limits.rate.app.per_second"},
		{"CONNECTOR_PROXY_AXP_SUBSCRIPTION_CHECK_INTERVAL=1ms", "axp.subscription_check_interval"},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			_, err := Load("", strings.Fields(tt.env))
			if err == nil || !strings.Contains(err.Error(), "config: "+tt.field+":") {
				t.Fatalf("%s: err = %v, want one naming %s", tt.env, err, tt.field)
			}
		})
	}
}
