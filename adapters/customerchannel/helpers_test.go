package customerchannel

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/connector-proxy/connector-proxy/internal/siotest"
	"iter"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/mapping"
)

// fakeBackend is a Backend whose answers a test sets.
type fakeBackend struct {
	mu         sync.Mutex
	messages   []*engagement.Message
	dialog     engagement.Dialog
	errs       map[string]error // by method name
	sent       []*engagement.SendMessage
	sessions   int
	engs       int
	disconnect int
	deleted    []string
	lists      int // AllMessages calls
}

func (b *fakeBackend) err(name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.errs[name]
}

func (b *fakeBackend) CreateSession(_ context.Context, req *engagement.CreateSession) (*engagement.Session, error) {
	if err := b.err("CreateSession"); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sessions++
	return &engagement.Session{SessionID: "sess-1", ParticipantID: "axp-customer", DisplayName: req.DisplayName}, nil
}

func (b *fakeBackend) DeleteSession(_ context.Context, id, _ string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.deleted = append(b.deleted, id)
	return b.errs["DeleteSession"]
}

func (b *fakeBackend) CreateEngagement(_ context.Context, req *engagement.CreateEngagement) (*engagement.Engagement, error) {
	if err := b.err("CreateEngagement"); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.engs++
	return &engagement.Engagement{EngagementID: "eng-1", Dialogs: []engagement.Dialog{{DialogID: "dlg-1"}}}, nil
}

// FindMessage and FindDialog find nothing: the fake never leaves an
// outcome unknown.
func (b *fakeBackend) FindMessage(context.Context, string, string, string, string) (*engagement.Message, error) {
	return nil, nil
}

func (b *fakeBackend) FindDialog(context.Context, string, string) (*engagement.Engagement, *engagement.Dialog, error) {
	return nil, nil, nil
}

func (b *fakeBackend) GetEngagement(context.Context, string) (*engagement.Engagement, error) {
	if err := b.err("GetEngagement"); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	d := b.dialog
	d.DialogID = "dlg-1"
	return &engagement.Engagement{EngagementID: "eng-1", Dialogs: []engagement.Dialog{d}}, nil
}

func (b *fakeBackend) DisconnectEngagement(_ context.Context, _ string, req *engagement.DisconnectEngagement) (*engagement.DisconnectEngagement, error) {
	if err := b.err("DisconnectEngagement"); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.disconnect++
	return req, nil
}

func (b *fakeBackend) SendText(_ context.Context, _ string, m engagement.TextMessage) (engagement.SentMessage, error) {
	if err := b.err("SendMessage"); err != nil {
		return engagement.SentMessage{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sent = append(b.sent, m.SendMessage()) // what the general call would send
	return engagement.SentMessage{MessageID: "msg-sent"}, nil
}

func (b *fakeBackend) AllMessages(context.Context, string, string, string) iter.Seq2[*engagement.Message, error] {
	return func(yield func(*engagement.Message, error) bool) {
		b.mu.Lock()
		b.lists++
		b.mu.Unlock()
		if err := b.err("AllMessages"); err != nil {
			yield(nil, err)
			return
		}
		b.mu.Lock()
		msgs := append([]*engagement.Message(nil), b.messages...)
		b.mu.Unlock()
		for _, m := range msgs {
			if !yield(m, nil) {
				return
			}
		}
	}
}

// fakeSocket records what the face emits.
type fakeSocket struct {
	id   string
	data any
	mu   sync.Mutex
	got  []siotest.Event
}

func (s *fakeSocket) ID() string        { return s.id }
func (s *fakeSocket) Data() any         { return s.data }
func (s *fakeSocket) Disconnect() error { return nil }
func (s *fakeSocket) Emit(event string, args ...any) error {
	var raw []json.RawMessage
	for _, a := range args {
		b, err := json.Marshal(a)
		if err != nil {
			return err
		}
		raw = append(raw, b)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, siotest.Event{Name: event, Args: raw})
	return nil
}

func (s *fakeSocket) events(name string) []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []json.RawMessage
	for _, e := range s.got {
		if e.Name == name && len(e.Args) > 0 {
			out = append(out, e.Args[0])
		}
	}
	return out
}

var testNow = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// newUnitFace is a face over a fake backend and a bolt store, with a fixed
// clock.
func newUnitFace(t testing.TB, b *fakeBackend) (*Face, *mapping.Bolt) {
	t.Helper()
	store, err := mapping.OpenBolt(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	f, err := New(Config{
		ChannelProviderID: rigProvider, AllowedOrigins: []string{"https://shop.example"}, ConnectorSecret: rigSecret,
		Now: func() time.Time { return testNow }, Logger: slog.New(slog.DiscardHandler),
	}, b, store)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f, store
}

// newCachedUnitFace is newUnitFace with the store behind its cache, as the
// process wires it.
func newCachedUnitFace(t testing.TB, b *fakeBackend) (*Face, mapping.Store) {
	t.Helper()
	bolt, err := mapping.OpenBolt(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bolt.Close() })
	store := mapping.NewCached(bolt, 1000, false, nil)
	f, err := New(Config{ChannelProviderID: rigProvider, Logger: slog.New(slog.DiscardHandler)}, b, store)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f, store
}

// openConv writes an open conversation the way init does (again, open,
// when it exists).
func openConv(t testing.TB, store mapping.Store, id, channel, refID string) *mapping.Conversation {
	t.Helper()
	c := &mapping.Conversation{
		ID: id, Owner: consumerKey(channel, refID), SessionID: "sess-1", EngagementID: "eng-1", DialogID: "dlg-" + id,
		ParticipantID: "axp-customer", Channel: channel, RefID: refID, State: mapping.StateOpen, CreatedAt: testNow.Add(-time.Hour),
		Attrs: map[string]string{attrParticipant: "proof-" + id, attrName: "Cleo Customer", attrEmail: "cleo@example.com", attrSubject: "sales"},
	}
	if cur, err := store.Conversation(context.Background(), id); err == nil {
		c.Version = cur.Version // written again over whatever the test did
	}
	if err := store.Commit(context.Background(), &mapping.Change{Conv: c}); err != nil {
		t.Fatal(err)
	}
	return c
}

// apply does with one event of a conversation what the pipeline does: the
// face's Apply on the stored record, the commit, then the effects.
func apply(t testing.TB, f *Face, store mapping.Store, id string, ev *engagement.Event) {
	t.Helper()
	ctx := context.Background()
	conv, err := store.Conversation(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	eff := f.Apply(conv, ev, f.now())
	if err := store.Commit(ctx, &mapping.Change{Conv: conv, Outbox: eff.Outbox, Append: eff.Append}); err != nil {
		t.Fatal(err)
	}
	for _, fn := range eff.After {
		fn(ctx)
	}
	if !eff.Reconcile || ev.DialogState != nil {
		return
	}
	// The pipeline asks AXP and feeds the answer back in.
	eng, err := f.backend.GetEngagement(ctx, conv.EngagementID)
	if err != nil {
		return
	}
	state, err := engagement.DecodeEvent(engagement.NewDialogStateEvent(eng, conv.DialogID, engagement.NewTime(f.now())))
	if err != nil {
		t.Fatal(err)
	}
	apply(t, f, store, id, state)
}

var errBoom = errors.New("boom")

// jsonOf is v's JSON, for failure messages.
func jsonOf(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// hasParticipant reports whether a participant of that name is listed.
func hasParticipant(ps []Participant, name string) bool {
	for _, p := range ps {
		if p.Name == name {
			return true
		}
	}
	return false
}
