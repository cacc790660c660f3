package pipeline

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/mapping"
)

// Outcomes of an event at the webhook.
const (
	outcomeAccepted  = "accepted"  // kept in the inbox, 200
	outcomeDuplicate = "duplicate" // seen before, 200, not kept again
	outcomeUnrouted  = "unrouted"  // names no conversation of ours, 200, dropped
	outcomeFailed    = "failed"    // the store failed, 503: AXP re-sends
)

// Results of a delivery attempt.
const (
	resultDelivered = "delivered"
	resultFailed    = "failed" // rescheduled
	resultDropped   = "dropped"
)

// Metrics are the pipeline's Prometheus metrics.
type Metrics struct {
	events     *prometheus.CounterVec
	applies    *prometheus.CounterVec
	applySecs  prometheus.Histogram
	conflicts  prometheus.Counter
	parked     prometheus.Counter
	discards   prometheus.Counter
	shards     prometheus.Gauge
	items      *prometheus.CounterVec
	depth      prometheus.Gauge
	oldest     prometheus.Gauge
	dropped    prometheus.Gauge
	paused     prometheus.Gauge
	commitSize *prometheus.HistogramVec
	commitSecs *prometheus.HistogramVec
}

// NewMetrics builds the metrics and registers them with reg (nil: not
// registered, for tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connector_proxy_pipeline_events_total",
			Help: "AXP events at the webhook by type and outcome (accepted into the inbox, duplicate, unrouted, failed).",
		}, []string{"event_type", "outcome"}),
		applies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connector_proxy_pipeline_events_applied_total",
			Help: "AXP events applied to their conversation, by type.",
		}, []string{"event_type"}),
		applySecs: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "connector_proxy_pipeline_apply_duration_seconds",
			Help:    "Time to apply one batch of a conversation's events and commit it.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}),
		conflicts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "connector_proxy_pipeline_conflicts_total",
			Help: "Event applications reapplied because a client command changed the conversation first.",
		}),
		parked: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "connector_proxy_pipeline_parked_total",
			Help: "Times events waited for a conversation not known yet.",
		}),
		discards: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "connector_proxy_pipeline_events_discarded_total",
			Help: "Events discarded after waiting in vain for their conversation (another connector's dialogs).",
		}),
		shards: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "connector_proxy_pipeline_shards_held",
			Help: "Shards whose lease this replica holds (it applies their events and delivers their notifications).",
		}),
		items: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connector_proxy_outbox_items_total",
			Help: "Outbox items by face, kind and result (queued, delivered, failed attempt, dropped).",
		}, []string{"face", "kind", "result"}),
		depth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "connector_proxy_outbox_depth",
			Help: "Notifications waiting in the outbox.",
		}),
		oldest: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "connector_proxy_outbox_oldest_age_seconds",
			Help: "Age of the oldest notification waiting in the outbox (0 when none waits).",
		}),
		dropped: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "connector_proxy_outbox_dropped_kept",
			Help: "Dropped notifications kept for a replay (bounded by outbox.dropped_max, for outbox.dropped_retention).",
		}),
		paused: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "connector_proxy_outbox_paused_endpoints",
			Help: "Webhook endpoints whose delivery is paused, as this replica last read them.",
		}),
		commitSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "connector_proxy_store_commit_writes",
			Help:    "Writes that shared one commit of the embedded store, by file: bbolt's, or the send log's.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512},
		}, []string{"file"}),
		commitSecs: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "connector_proxy_store_commit_duration_seconds",
			Help:    "Time of one commit of the embedded store, fsync included, by file: bbolt's, or the send log's.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1},
		}, []string{"file"}),
	}
	if reg != nil {
		reg.MustRegister(m.events, m.applies, m.applySecs, m.conflicts, m.parked, m.discards, m.shards,
			m.items, m.depth, m.oldest, m.dropped, m.paused, m.commitSize, m.commitSecs)
	}
	return m
}

// eventLabel bounds the event_type label to the known types.
func eventLabel(t string) string {
	switch t {
	case engagement.EventMessages, engagement.EventParticipantAdded, engagement.EventParticipantDisconnected,
		engagement.EventEngagementCreated, engagement.EventEngagementError, engagement.EventDialogState:
		return t
	}
	return "other"
}

func (m *Metrics) event(eventType, outcome string) {
	m.events.WithLabelValues(eventLabel(eventType), outcome).Inc()
}

func (m *Metrics) applied(events []*engagement.Event, took time.Duration) {
	for _, ev := range events {
		m.applies.WithLabelValues(eventLabel(ev.EventType)).Inc()
	}
	m.applySecs.Observe(took.Seconds())
}

func (m *Metrics) discarded(n int) { m.discards.Add(float64(n)) }

func (m *Metrics) queued(it *mapping.OutboxItem) {
	m.items.WithLabelValues(string(it.Face), it.Kind, "queued").Inc()
}

func (m *Metrics) delivery(it *mapping.OutboxItem, result string) {
	m.items.WithLabelValues(string(it.Face), it.Kind, result).Inc()
}

// CommitObserver is a mapping.WithCommitObserver (file "bbolt") or
// WithSendCommitObserver (file "send_log") for the embedded store.
func (m *Metrics) CommitObserver(file string) func(writes int, took time.Duration) {
	size, secs := m.commitSize.WithLabelValues(file), m.commitSecs.WithLabelValues(file)
	return func(writes int, took time.Duration) {
		size.Observe(float64(writes))
		secs.Observe(took.Seconds())
	}
}
