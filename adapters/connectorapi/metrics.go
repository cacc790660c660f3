package connectorapi

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the face's Prometheus metrics.
type Metrics struct {
	requests   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	sessions   *prometheus.CounterVec
	noEndpoint *prometheus.CounterVec
	unknown    *prometheus.CounterVec
}

// NewMetrics builds the metrics and registers them with reg (nil: not
// registered, for tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connector_proxy_connectorapi_requests_total",
			Help: "Connector API requests by call, envelope type and answer code.",
		}, []string{"call", "type", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "connector_proxy_connectorapi_request_duration_seconds",
			Help:    "Time to answer a Connector API request, backend calls included.",
			Buckets: prometheus.DefBuckets,
		}, []string{"call"}),
		sessions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connector_proxy_connectorapi_session_lookups_total",
			Help: "Consumer to AXP session lookups: hit (a live session reused) or miss (a session created).",
		}, []string{"result"}),
		noEndpoint: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connector_proxy_connectorapi_notifications_without_endpoint_total",
			Help: "Notifications not made because the app configures no webhook for their type, by type.",
		}, []string{"type"}),
		unknown: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connector_proxy_connectorapi_unknown_outcomes_total",
			Help: "AXP writes that got no answer, by operation and by what looking for them found (landed, not_found, unresolved).",
		}, []string{"operation", "result"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.duration, m.sessions, m.noEndpoint, m.unknown)
	}
	return m
}

func (m *Metrics) request(call, typ string, code int) {
	// Only known types become label values, so a client cannot grow the set.
	switch typ {
	case typeSetUserProfile, typeRequestConversation, typeUpdateField, "", "batch",
		typePublishEvent + ".ContentEvent", typePublishEvent + ".ChatStateEvent", typePublishEvent + ".AcceptStatusEvent":
	default:
		typ = "other"
	}
	m.requests.WithLabelValues(call, typ, codeLabel(code)).Inc()
}

func codeLabel(code int) string {
	switch code {
	case 200:
		return "200"
	case 201:
		return "201"
	case 400:
		return "400"
	case 401:
		return "401"
	case 404:
		return "404"
	case 413:
		return "413"
	case 429:
		return "429"
	case 503:
		return "503"
	}
	if code >= 500 {
		return "5xx"
	}
	return "4xx"
}
