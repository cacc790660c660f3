package socketio

import "github.com/prometheus/client_golang/prometheus"

// Metrics counts Socket.IO connections and events. A nil *Metrics counts
// nothing.
type Metrics struct {
	connections *prometheus.GaugeVec
	events      *prometheus.CounterVec
}

// Results of an event, the result label of connector_proxy_socketio_events_total.
const (
	ResultOK       = "ok"       // a handler ran (or a CONNECT was accepted)
	ResultRefused  = "refused"  // CONNECT refused by Authenticate or for its namespace
	ResultUnknown  = "unknown"  // no handler for the event; the client got an "error" event
	ResultDropped  = "dropped"  // the connection's event queue was full; it was closed
	ResultOverflow = "overflow" // an outbound packet found the write queue full; it was closed
)

// eventUnknown is the event label of events with no handler, so that clients
// cannot grow the label set.
const eventUnknown = "_unknown"

// NewMetrics builds the metrics and registers them with reg (when not nil):
// connector_proxy_socketio_connections{transport} and
// connector_proxy_socketio_events_total{event,result}. The event label only
// takes the names given to Server.On, "connect", "disconnect", "emit", "ack" and
// "_unknown".
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		connections: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "connector_proxy_socketio_connections",
			Help: "Open Engine.IO sessions by their current transport.",
		}, []string{"transport"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connector_proxy_socketio_events_total",
			Help: "Socket.IO events by name and result.",
		}, []string{"event", "result"}),
	}
	if reg != nil {
		reg.MustRegister(m.connections, m.events)
	}
	return m
}

func (m *Metrics) addConn(transport string, d float64) {
	if m != nil {
		m.connections.WithLabelValues(transport).Add(d)
	}
}

func (m *Metrics) event(name, result string) {
	if m != nil {
		m.events.WithLabelValues(name, result).Inc()
	}
}
