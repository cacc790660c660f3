package console

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the console's series.
type Metrics struct {
	hooks       *prometheus.CounterVec
	subscribers prometheus.Gauge
	dropped     prometheus.Counter
}

// NewMetrics registers the console's series with reg (nil: not exported).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		hooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connector_proxy_console_hooks_total",
			Help: "Notifications the demo console's sink received, by result (verified, bad_signature, unknown_app, bad_body, too_large, unknown_key).",
		}, []string{"result"}),
		subscribers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "connector_proxy_console_subscribers",
			Help: "Pages connected to the demo console's notification stream.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "connector_proxy_console_subscribers_dropped_total",
			Help: "Pages whose notification stream was ended because they fell behind.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.hooks, m.subscribers, m.dropped)
	}
	return m
}
