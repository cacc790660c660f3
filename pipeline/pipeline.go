package pipeline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/mapping"
	"github.com/connector-proxy/connector-proxy/telemetry"
)

// Face is what a client face gives the pipeline: how an AXP event changes
// one of its conversations.
type Face interface {
	// Apply folds one event into conv, changing it in place, and returns
	// what else follows. It does no I/O and must be deterministic: when the
	// commit meets a concurrent change it runs again on the newer record.
	Apply(conv *mapping.Conversation, ev *engagement.Event, now time.Time) Effect
}

// Effect is what applying an event causes besides the conversation's new
// state.
type Effect struct {
	// Outbox items are committed with the new state, in one transaction.
	Outbox []*mapping.OutboxItem
	// After runs once the change is durable, on the conversation's worker
	// (a socket emit, a session ended): at most once, and a crash between
	// the commit and it loses it, so it is only for what a client can get
	// again (a rejoin brings a conversation's messages).
	After []func(ctx context.Context)
	// Reconcile asks AXP for the dialog's real state once the change is
	// durable; the answer comes back through the inbox as an
	// engagement.EventDialogState, in order with the other events.
	Reconcile bool
	// Append are records for the conversation's logs (its messages as they
	// pass), committed with the new state: once per event however often
	// AXP sends it.
	Append []mapping.LogRecord
}

// Merge appends o's parts to e.
func (e *Effect) Merge(o Effect) {
	e.Outbox = append(e.Outbox, o.Outbox...)
	e.After = append(e.After, o.After...)
	e.Reconcile = e.Reconcile || o.Reconcile
	e.Append = append(e.Append, o.Append...)
}

// Sender delivers the outbox items of a face.
type Sender interface {
	// Send delivers it; nil means the receiver took it. An error wrapping
	// ErrPermanent drops the item at once (it can never be delivered, e.g.
	// its app is no longer configured); any other is retried with backoff
	// until the item expires.
	Send(ctx context.Context, it *mapping.OutboxItem) error
}

// ErrPermanent marks a Send failure that retrying cannot mend.
var ErrPermanent = errors.New("pipeline: undeliverable")

// Engagements is what the pipeline asks AXP itself: a dialog's state.
type Engagements interface {
	GetEngagement(ctx context.Context, engagementID string) (*engagement.Engagement, error)
}

// Defaults of Config.
const (
	DefaultLeaseTTL        = 15 * time.Second
	DefaultDedupeTTL       = 24 * time.Hour
	DefaultParkFor         = 2 * time.Minute
	DefaultPollInterval    = 250 * time.Millisecond
	DefaultApplyWorkers    = 64
	DefaultDeliveryWorkers = 128
	DefaultDeliveryTimeout = 10 * time.Second
)

// Backoff of deliveries: 2 s doubling, capped at 5 min (LivePerson's
// retention-time retry policy).
const (
	firstBackoff = 2 * time.Second
	maxBackoff   = 5 * time.Minute
)

// Config configures a Pipeline. Store, Faces and Holder are required.
type Config struct {
	Store mapping.Store
	// Faces apply the events of their conversations; Senders deliver their
	// outbox items. Both are keyed by the conversation's face.
	Faces   map[mapping.Face]Face
	Senders map[mapping.Face]Sender
	// Engagements answers reconciliations (nil: none are made).
	Engagements Engagements
	// Holder names this replica in the shard leases.
	Holder string
	// LeaseTTL is how long a shard lease lasts unless renewed: how long a
	// dead replica's shards wait before another takes them over.
	LeaseTTL time.Duration
	// DedupeTTL is how long an event's dedupe key is kept (longer than AXP
	// re-sends).
	DedupeTTL time.Duration
	// ParkFor is how long events of a conversation that is not known (yet)
	// are kept: an event can overtake the answer of the call that made its
	// dialog. Past it they are discarded as another connector's.
	ParkFor time.Duration
	// PollInterval is how often the inbox and the outbox are swept when
	// nothing wakes the pipeline.
	PollInterval time.Duration
	// ApplyWorkers bounds the conversations applied at once;
	// DeliveryWorkers the deliveries under way (one per conversation at
	// most, so order holds within it). A worker's next send waits for its
	// last one's removal to commit (only the last notification may
	// repeat), a few ms under load, so the workers bound how many
	// notifications a second leave: 32 delivered 5,100/s in
	// bench/webhooks.sh while 8,400/s came in, and the outbox grew; 128
	// keep up.
	ApplyWorkers    int
	DeliveryWorkers int
	// DeliveryTimeout bounds one Send.
	DeliveryTimeout time.Duration
	// DroppedMax bounds the dropped notifications kept for a replay (per
	// shard: DroppedMax / mapping.Shards, rounded up), DroppedRetention how
	// long they are kept. PauseRefresh is how often the paused endpoints
	// are read (see outbox.go).
	DroppedMax       int
	DroppedRetention time.Duration
	PauseRefresh     time.Duration
	Now              func() time.Time
	Logger           *slog.Logger
	Metrics          *Metrics
	// Tracing keeps each event's trace context in the inbox and each
	// notification's in the outbox, and traces the applies (nil: off).
	Tracing *telemetry.Tracing
}

// Pipeline is the path of every AXP event: received into the durable inbox
// (HandleEvent), applied to its conversation by the one worker of its shard
// (Run), and the notifications it caused delivered from the outbox. See the
// package documentation.
type Pipeline struct {
	cfg   Config
	store mapping.Store
	log   *slog.Logger
	m     *Metrics
	now   func() time.Time

	shards *shards
	apply  *applier
	out    *deliverer
}

var _ engagement.Sink = (*Pipeline)(nil)

// New checks cfg and builds a pipeline; Run starts its work.
func New(cfg Config) (*Pipeline, error) {
	if cfg.Store == nil || len(cfg.Faces) == 0 || cfg.Holder == "" {
		return nil, errors.New("pipeline: Store, Faces and Holder are required")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.LeaseTTL, DefaultLeaseTTL)
	def(&cfg.DedupeTTL, DefaultDedupeTTL)
	def(&cfg.ParkFor, DefaultParkFor)
	def(&cfg.PollInterval, DefaultPollInterval)
	def(&cfg.DeliveryTimeout, DefaultDeliveryTimeout)
	def(&cfg.DroppedRetention, DefaultDroppedRetention)
	def(&cfg.PauseRefresh, DefaultPauseRefresh)
	if cfg.DroppedMax <= 0 {
		cfg.DroppedMax = DefaultDroppedMax
	}
	if cfg.ApplyWorkers <= 0 {
		cfg.ApplyWorkers = DefaultApplyWorkers
	}
	if cfg.DeliveryWorkers <= 0 {
		cfg.DeliveryWorkers = DefaultDeliveryWorkers
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil)
	}
	p := &Pipeline{cfg: cfg, store: cfg.Store, log: cfg.Logger, m: cfg.Metrics, now: cfg.Now}
	p.shards = newShards(p)
	p.apply = newApplier(p)
	p.out = newDeliverer(p)
	return p, nil
}

// HandleEvent is the webhook's side: the event is written to its
// conversation's inbox with its dedupe key, in one atomic step, and only
// then acknowledged. A duplicate is acknowledged and not kept again. An
// event that names no conversation of ours (no providerDialogId, and a
// dialog the proxy does not know) is acknowledged and dropped.
//
// When this replica holds the conversation's shard, no worker has it and
// nothing waits in its inbox, the event is applied at once instead: its
// dedupe key, the conversation's new state and its notifications are
// written in the one transaction, and the event never needs queueing.
func (p *Pipeline) HandleEvent(ctx context.Context, ev *engagement.Event) error {
	conv := ev.ProviderDialogID()
	if conv == "" {
		dialog := ev.DialogID()
		if dialog == "" {
			p.m.event(ev.EventType, outcomeUnrouted)
			return nil
		}
		c, err := p.store.ConversationByDialog(ctx, dialog)
		switch {
		case errors.Is(err, mapping.ErrNotFound):
			p.m.event(ev.EventType, outcomeUnrouted)
			return nil
		case err != nil:
			p.m.event(ev.EventType, outcomeFailed)
			return fmt.Errorf("pipeline: look up dialog %s: %w", dialog, err)
		}
		conv = c.ID
	}
	e := &mapping.InboxEntry{Conversation: conv, Key: ev.DedupeKey(), Event: ev.Raw, ReceivedAt: p.now(), Trace: p.cfg.Tracing.Carry(ctx)}
	if p.apply.inline(ctx, e, ev) {
		return nil
	}
	dup, err := p.store.Receive(ctx, e, p.cfg.DedupeTTL)
	if err != nil {
		p.m.event(ev.EventType, outcomeFailed)
		return fmt.Errorf("pipeline: keep %s of %s: %w", ev.EventType, conv, err)
	}
	if dup {
		p.m.event(ev.EventType, outcomeDuplicate)
		return nil
	}
	p.m.event(ev.EventType, outcomeAccepted)
	p.apply.ready(conv)
	return nil
}

// Poke tells the pipeline that a conversation changed outside it (it was
// just created, or a client command committed notifications): events that
// waited for it may apply now, and its outbox may be due.
func (p *Pipeline) Poke(conversation string) {
	p.apply.ready(conversation)
	p.out.hint(conversation)
}

// Run works the shards this replica holds until ctx ends: it takes and
// renews shard leases, applies their inboxes and delivers their outboxes.
// It returns once the work under way has finished and its leases are
// released.
func (p *Pipeline) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { p.shards.run(ctx) })
	wg.Go(func() { p.apply.run(ctx) })
	wg.Go(func() { p.out.run(ctx) })
	wg.Wait()
	p.shards.releaseAll()
	return nil
}

// stamp gives the outbox items that carry no trace context that of ctx
// (the apply that made them), the parent of their delivery attempts.
func (p *Pipeline) stamp(ctx context.Context, items []*mapping.OutboxItem) {
	if !p.cfg.Tracing.On() {
		return
	}
	tc := p.cfg.Tracing.Carry(ctx)
	for _, it := range items {
		if it.Trace == "" {
			it.Trace = tc
		}
	}
}

// backoff is the wait after the n-th failed delivery: 2 s doubling, capped
// at 5 minutes.
func backoff(n int) time.Duration {
	d := firstBackoff
	for i := 1; i < n && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

// DefaultReplicaID names this process among replicas: its host and pid.
func DefaultReplicaID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "replica"
	}
	return fmt.Sprintf("%s-%d", host, os.Getpid())
}

// RunID is a random name for this run of the process, so that a replica
// restarted under the same id is never taken for the one that held a lease,
// a claim or a send before it.
func RunID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b) // crypto/rand does not fail on supported platforms
	return hex.EncodeToString(b)
}

// Endpoint is how an outbox item's target is named in errors and logs: its
// scheme, host and path, without the user info or query a webhook URL may
// carry a secret in.
func Endpoint(target string) string {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		return "(an unparsable URL)"
	}
	return u.Scheme + "://" + u.Host + u.EscapedPath()
}
