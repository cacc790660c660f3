package connectorapi

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/auth"
	"github.com/connector-proxy/connector-proxy/mapping"
)

// fakeBackend answers like AXP without a network, numbering messages per
// dialog, for the handler-alone benchmark and the fuzz target.
type fakeBackend struct {
	mu    sync.Mutex
	n     int
	index map[string]int
}

func (f *fakeBackend) next() int { f.mu.Lock(); defer f.mu.Unlock(); f.n++; return f.n }

func (f *fakeBackend) CreateSession(_ context.Context, in *engagement.CreateSession) (*engagement.Session, error) {
	n := f.next()
	return &engagement.Session{SessionID: fmt.Sprintf("s%d", n), ParticipantID: fmt.Sprintf("p%d", n), SessionStatus: engagement.SessionActive}, nil
}
func (f *fakeBackend) DeleteSession(context.Context, string, string) error { return nil }
func (f *fakeBackend) AppendIdentifiers(context.Context, string, engagement.CustomerIdentifiers) (*engagement.Session, error) {
	return &engagement.Session{}, nil
}
func (f *fakeBackend) UpdateSessionParameters(context.Context, string, engagement.Parameters) (*engagement.Session, error) {
	return &engagement.Session{}, nil
}
func (f *fakeBackend) CreateEngagement(_ context.Context, in *engagement.CreateEngagement) (*engagement.Engagement, error) {
	n := f.next()
	return &engagement.Engagement{EngagementID: fmt.Sprintf("e%d", n), Dialogs: []engagement.Dialog{{DialogID: fmt.Sprintf("d%d", n)}}}, nil
}
func (f *fakeBackend) DisconnectEngagement(_ context.Context, _ string, in *engagement.DisconnectEngagement) (*engagement.DisconnectEngagement, error) {
	return in, nil
}
func (f *fakeBackend) SendText(_ context.Context, _ string, m engagement.TextMessage) (engagement.SentMessage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.index == nil {
		f.index = map[string]int{}
	}
	f.index[m.DialogID]++
	return engagement.SentMessage{MessageIndex: f.index[m.DialogID]}, nil
}

// FindMessage and FindDialog find nothing: the fake never leaves an
// outcome unknown.
func (f *fakeBackend) FindMessage(context.Context, string, string, string, string) (*engagement.Message, error) {
	return nil, nil
}

func (f *fakeBackend) FindDialog(context.Context, string, string) (*engagement.Engagement, *engagement.Dialog, error) {
	return nil, nil, nil
}

// boltAndTokens opens a bolt store, closed at cleanup, and a token service
// for defaultApps(hooksURL): what a face over the fake backend needs.
func boltAndTokens(tb testing.TB, hooksURL string) (*mapping.Bolt, *auth.Service) {
	tb.Helper()
	store, err := mapping.OpenBolt(filepath.Join(tb.TempDir(), "face.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = store.Close() })
	tokens, err := auth.New(auth.Options{Apps: defaultApps(hooksURL), Key: genKey(tb)})
	if err != nil {
		tb.Fatal(err)
	}
	return store, tokens
}

// gatedBackend holds SendText until released, counting the sends.
type gatedBackend struct {
	*fakeBackend
	sends   atomic.Int32
	arrived chan struct{}
	release chan struct{}
}

func (g *gatedBackend) SendText(ctx context.Context, id string, m engagement.TextMessage) (engagement.SentMessage, error) {
	if g.sends.Add(1) == 1 {
		close(g.arrived)
		<-g.release
	}
	return g.fakeBackend.SendText(ctx, id, m)
}
