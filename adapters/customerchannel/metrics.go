package customerchannel

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the face's Prometheus collectors. Sockets by transport are the
// socketio package's; these count what the face does with them.
type Metrics struct {
	// InitRequests counts POST /api/customer/init answers by status code.
	InitRequests *prometheus.CounterVec
	// TranscriptRequests counts transcript answers by type and status code.
	TranscriptRequests *prometheus.CounterVec
	// Events counts socket events handled, by event name and result.
	Events *prometheus.CounterVec
	// Deliveries counts AXP events turned into socket emits, by kind
	// (message, activity, participant, unknown; relayed for what another
	// replica published) and result (delivered, published, undelivered,
	// whisper, skipped).
	Deliveries *prometheus.CounterVec
	// InitSeconds is how long init takes, AXP calls included.
	InitSeconds prometheus.Histogram
	// HistoryReads counts the reads of a conversation's messages, by use
	// (conversation_info, transcript) and source (record: the proxy's own
	// record; axp: AXP's list, when the record is not complete).
	HistoryReads *prometheus.CounterVec
}

// NewMetrics builds the collectors and registers them with reg (nil: not
// registered, for tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		InitRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connector_proxy_customerchannel_init_requests_total",
			Help: "Customer Channel init requests by HTTP status code.",
		}, []string{"code"}),
		TranscriptRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connector_proxy_customerchannel_transcript_requests_total",
			Help: "Customer Channel transcript requests by type and HTTP status code.",
		}, []string{"type", "code"}),
		Events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connector_proxy_customerchannel_events_total",
			Help: "Customer Channel socket events by event name and result.",
		}, []string{"event", "result"}),
		Deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connector_proxy_customerchannel_deliveries_total",
			Help: "AXP events delivered to Customer Channel sockets by kind and result.",
		}, []string{"kind", "result"}),
		InitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "connector_proxy_customerchannel_init_seconds",
			Help:    "Duration of Customer Channel init requests, AXP calls included.",
			Buckets: prometheus.DefBuckets,
		}),
		HistoryReads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connector_proxy_customerchannel_history_reads_total",
			Help: "Reads of a conversation's messages by use and source (the proxy's record, or AXP's list when the record is not complete).",
		}, []string{"use", "source"}),
	}
	if reg != nil {
		reg.MustRegister(m.InitRequests, m.TranscriptRequests, m.Events, m.Deliveries, m.InitSeconds, m.HistoryReads)
	}
	return m
}

func (m *Metrics) initDone(code int) { m.InitRequests.WithLabelValues(strconv.Itoa(code)).Inc() }

func (m *Metrics) transcriptDone(typ string, code int) {
	switch typ {
	case "pdf", "email":
	default:
		typ = "other" // the path segment is client input: keep the label set bounded
	}
	m.TranscriptRequests.WithLabelValues(typ, strconv.Itoa(code)).Inc()
}

// eventDone counts an event; the caller folds unknown event names into
// "unknown".
func (m *Metrics) eventDone(event, result string) { m.Events.WithLabelValues(event, result).Inc() }

func (m *Metrics) delivered(kind, result string) { m.Deliveries.WithLabelValues(kind, result).Inc() }

// Uses of a conversation's history (the metric's label).
const (
	useConversationInfo = "conversation_info"
	useTranscript       = "transcript"
)

func (m *Metrics) historyRead(use, source string) { m.HistoryReads.WithLabelValues(use, source).Inc() }
