package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/mapping"
)

// waitFor bounds every wait of these tests.
const waitFor = 10 * time.Second

const testFace mapping.Face = "test"

// clock is a settable clock, so that backoff and parking are crossed by
// moving it.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// logFace records what it applied in the conversation itself (so a lost or
// doubled application shows in the committed state) and makes one
// notification per event, carrying the event's key.
type logFace struct {
	mu        sync.Mutex
	calls     int
	reconcile map[string]bool // keys whose application asks AXP
}

func (f *logFace) Apply(conv *mapping.Conversation, ev *engagement.Event, now time.Time) Effect {
	f.mu.Lock()
	f.calls++
	rec := f.reconcile[ev.DedupeKey()]
	f.mu.Unlock()
	key := ev.DedupeKey()
	if ev.DialogState != nil {
		key = "state:" + ev.DialogState.Dialog.DialogStatus
	}
	if conv.Attrs == nil {
		conv.Attrs = map[string]string{}
	}
	conv.Attrs["log"] += key + ","
	return Effect{Reconcile: rec, Outbox: []*mapping.OutboxItem{{
		Queue: conv.ID, Face: testFace, Target: "test://", Body: []byte(key), Kind: "k",
		EnqueuedAt: now, NextAttempt: now, Expires: now.Add(time.Hour),
	}}}
}

// sender records what it delivered, per queue, and fails while fail says
// so.
type sender struct {
	mu   sync.Mutex
	got  map[string][]string
	fail func(it *mapping.OutboxItem) error
}

func (s *sender) Send(_ context.Context, it *mapping.OutboxItem) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		if err := s.fail(it); err != nil {
			return err
		}
	}
	if s.got == nil {
		s.got = map[string][]string{}
	}
	s.got[it.Queue] = append(s.got[it.Queue], string(it.Body))
	return nil
}

func (s *sender) of(queue string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.got[queue]...)
}

// waitDelivered waits until queue got want, in order, and nothing else.
func (s *sender) waitDelivered(t *testing.T, queue string, want ...string) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		got := s.of(queue)
		if strings.Join(got, ",") == strings.Join(want, ",") {
			return
		}
		if len(got) > len(want) || time.Now().After(deadline) {
			t.Fatalf("queue %s delivered %v, want %v", queue, got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// rig is a pipeline over a bolt store with the logFace and the sender.
type rig struct {
	t     *testing.T
	store mapping.Store
	face  *logFace
	send  *sender
	clock *clock
	p     *Pipeline
	stop  context.CancelFunc
	done  chan struct{}
}

func newRig(t *testing.T, store mapping.Store, tweak func(*Config)) *rig {
	t.Helper()
	if store == nil {
		b, err := mapping.OpenBolt(filepath.Join(t.TempDir(), "p.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		store = b
	}
	r := &rig{t: t, store: store, face: &logFace{reconcile: map[string]bool{}}, send: &sender{}, clock: &clock{t: time.Unix(1_000_000, 0)}}
	cfg := Config{
		Store:        store,
		Faces:        map[mapping.Face]Face{testFace: r.face},
		Senders:      map[mapping.Face]Sender{testFace: r.send},
		Holder:       "replica-1",
		Now:          r.clock.Now,
		PollInterval: 5 * time.Millisecond,
		LeaseTTL:     time.Hour,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.p = p
	return r
}

// run starts the pipeline; it stops at the test's cleanup.
func (r *rig) run() *rig {
	ctx, stop := context.WithCancel(context.Background())
	r.stop, r.done = stop, make(chan struct{})
	go func() { defer close(r.done); _ = r.p.Run(ctx) }()
	r.t.Cleanup(r.halt)
	return r
}

func (r *rig) halt() {
	if r.stop != nil {
		r.stop()
		<-r.done
		r.stop = nil
	}
}

var owner = mapping.ConsumerKey{Face: testFace, Account: "a", Consumer: "c"}

// conversation commits a new conversation of the test face.
func (r *rig) conversation() *mapping.Conversation {
	r.t.Helper()
	c := &mapping.Conversation{ID: mapping.NewConversationID(owner), Owner: owner, EngagementID: "eng", DialogID: "dlg-" + fmt.Sprint(time.Now().UnixNano()),
		State: mapping.StateOpen, CreatedAt: time.Unix(1, 0), Attrs: map[string]string{}}
	if err := r.store.Commit(context.Background(), &mapping.Change{Conv: c}); err != nil {
		r.t.Fatal(err)
	}
	return c
}

// message is a MESSAGES webhook of conversation conv (its
// providerDialogId), decoded as the receiver decodes it.
func message(t testing.TB, conv, id string) *engagement.Event {
	t.Helper()
	raw, _ := json.Marshal(map[string]any{"eventType": "MESSAGES", "messageId": id, "providerDialogId": conv,
		"dialogId": "d", "senderParticipantType": "AGENT", "body": map[string]any{"elementType": "text", "elementText": map[string]string{"text": id}}})
	ev, err := engagement.DecodeEvent(raw)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func (r *rig) receive(conv string, ids ...string) {
	r.t.Helper()
	for _, id := range ids {
		if err := r.p.HandleEvent(context.Background(), message(r.t, conv, id)); err != nil {
			r.t.Fatalf("receive %s: %v", id, err)
		}
	}
}

// applied returns the committed application log of a conversation.
func (r *rig) applied(conv string) string {
	r.t.Helper()
	c, err := r.store.Conversation(context.Background(), conv)
	if err != nil {
		r.t.Fatal(err)
	}
	return c.Attrs["log"]
}

func (r *rig) waitApplied(conv, want string) {
	r.t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		got := r.applied(conv)
		if got == want {
			return
		}
		if len(got) > len(want) || time.Now().After(deadline) {
			r.t.Fatalf("conversation applied %q, want %q", got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// inbox returns a conversation's waiting entries.
func (r *rig) inbox(conv string) []*mapping.InboxEntry {
	r.t.Helper()
	es, err := r.store.InboxOf(context.Background(), conv, 1000)
	if err != nil {
		r.t.Fatal(err)
	}
	return es
}

var errDown = errors.New("receiver down")
