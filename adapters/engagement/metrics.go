package engagement

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the Prometheus series of the AXP client and the webhook
// receiver. A nil *Metrics records nothing. Build one per process and hand it
// to both the client and the receiver.
type Metrics struct {
	requests       *prometheus.CounterVec
	duration       *prometheus.HistogramVec
	tokenRefreshes *prometheus.CounterVec
	webhooks       *prometheus.CounterVec
	webhookTime    prometheus.Histogram
}

// NewMetrics registers the series with reg (nil: not registered, which tests
// use):
//
//	connector_proxy_backend_requests_total{operation,code}
//	connector_proxy_backend_request_duration_seconds{operation}
//	connector_proxy_backend_token_refreshes_total{result}
//	connector_proxy_axp_webhooks_total{event_type,result}
//	connector_proxy_axp_webhook_duration_seconds
//
// code is the HTTP status, or dial_error, timeout, canceled or error when no
// answer came.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connector_proxy_backend_requests_total",
			Help: "Requests to AXP by operation and HTTP status (or dial_error, timeout, canceled, error), one per attempt.",
		}, []string{"operation", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "connector_proxy_backend_request_duration_seconds",
			Help:    "Latency of one attempt of a request to AXP by operation.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"operation"}),
		tokenRefreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connector_proxy_backend_token_refreshes_total",
			Help: "OAuth token fetches from AXP by result (ok, error).",
		}, []string{"result"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connector_proxy_axp_webhooks_total",
			Help: "AXP webhook callbacks by event type (other for unknown types) and result.",
		}, []string{"event_type", "result"}),
		webhookTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "connector_proxy_axp_webhook_duration_seconds",
			Help:    "Time from receiving an AXP callback to answering it.",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.duration, m.tokenRefreshes, m.webhooks, m.webhookTime)
	}
	return m
}

func (m *Metrics) observeRequest(op, code string, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(op, code).Inc()
	m.duration.WithLabelValues(op).Observe(d.Seconds())
}

func (m *Metrics) observeTokenRefresh(err error) {
	if m == nil {
		return
	}
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.tokenRefreshes.WithLabelValues(result).Inc()
}

func (m *Metrics) observeWebhook(eventType, result string, d time.Duration) {
	if m == nil {
		return
	}
	m.webhooks.WithLabelValues(eventType, result).Inc()
	m.webhookTime.Observe(d.Seconds())
}
