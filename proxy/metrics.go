package proxy

import (
	"bytes"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
)

// httpMetrics counts the public listener's requests by route and code.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connector_proxy_http_requests_total",
			Help: "Requests on the public listener by route and HTTP status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "connector_proxy_http_request_duration_seconds",
			Help:    "Time to answer a request on the public listener, by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// instrument wraps h so that each request is counted under route(path).
// Socket.IO polling GETs are long by design; they are counted but their
// duration says nothing, so the route name keeps them apart.
func (m *httpMetrics) instrument(route func(path []byte) string, h fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		start := time.Now()
		h(ctx)
		r := route(ctx.Path())
		m.requests.WithLabelValues(r, strconv.Itoa(ctx.Response.StatusCode())).Inc()
		m.duration.WithLabelValues(r).Observe(time.Since(start).Seconds())
	}
}

// routeName maps a path to a bounded label set: the call a path names, never
// the ids in it. It runs on every request, so it reads the path in place.
func routeName(p []byte) string {
	has := func(prefix string) bool { return bytes.HasPrefix(p, []byte(prefix)) }
	ends := func(suffix string) bool { return bytes.HasSuffix(p, []byte(suffix)) }
	switch {
	case has("/sentinel/"):
		return "appjwt"
	case has("/api/account/"):
		switch {
		case ends("/conversation/send"):
			return "send"
		case ends("/conversation"):
			return "conversation"
		case ends("/consumer"):
			return "consumerjws"
		case bytes.Contains(p, []byte("/service/")):
			return "domain"
		}
		return "connectorapi_other"
	case string(p) == "/api/customer/init":
		return "init"
	case has("/api/customer/transcript/"):
		return "transcript"
	case has("/socket.io/"):
		return "socketio"
	case has("/webhooks/axp/"):
		return "axp_webhook"
	case has("/api/digital/v1/"):
		return "legacyv1"
	case has("/auth/realms/"):
		return "legacyv1_token"
	case has("/demo/hooks/"):
		return "demo_hooks"
	case has("/demo/agent/"):
		return "demo_agent"
	case string(p) == "/demo/notifications":
		return "demo_notifications"
	case has("/demo/"), string(p) == "/demo":
		return "demo"
	}
	return "other"
}
