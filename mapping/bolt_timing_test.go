package mapping

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
)

func BenchmarkBolt(b *testing.B) {
	s, err := OpenBolt(filepath.Join(b.TempDir(), "state.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	benchStore(b, s)
}

// BenchmarkBoltEventPath is the embedded store's share of
// bench/webhooks.sh: 64 writers over 256 conversations, each event applied
// at once with its dedupe key (a time-based id, as AXP's are) and its
// notification, which is then removed as delivered. pages/event is what
// the group commits wrote for it: with fsync'd commits, the disk's share.
func BenchmarkBoltEventPath(b *testing.B) {
	ctx := context.Background()
	s, convs := openBenchBolt(b, ConsumerKey{Face: FaceConnectorAPI, Account: "le12345678", App: "bench-app"}, 256)
	body := []byte(`{"kind":"notification","body":{"changes":[{"sequence":12,"originatorId":"7b3c1a4e-4f0e-4b8e-9d51-6f2a0c9e8d11","originatorMetadata":{"id":"7b3c1a4e-4f0e-4b8e-9d51-6f2a0c9e8d11","role":"ASSIGNED_AGENT"},"serverTimestamp":1796287166851,"event":{"type":"ContentEvent","contentType":"text/plain","message":"Thanks for waiting, let me look at your order."},"conversationId":"0f8e1c2d3b4a5968778695a4b3c2d1e0","dialogId":"0f8e1c2d3b4a5968778695a4b3c2d1e0"}]},"type":"ms.MessagingEventNotification"}`)
	writeInParallel(b, s, convs, "event", func(c *Conversation) error {
		now := time.Now()
		it := &OutboxItem{Queue: c.ID, Face: FaceConnectorAPI, Target: "http://127.0.0.1:18095/content", Kind: "content", App: "bench-app",
			Headers: map[string]string{"Content-Type": "application/json", "X-Account-Id": "le12345678", "X-Client-Id": "bench-app"},
			Body:    body, EnqueuedAt: now, NextAttempt: now, Expires: now.Add(24 * time.Hour)}
		e := &InboxEntry{Conversation: c.ID, Key: "msg:" + uuid.Must(uuid.NewUUID()).String(), ReceivedAt: now}
		if err := s.Commit(ctx, &Change{Conv: c, Unchanged: true, Applied: e, AppliedTTL: 24 * time.Hour, Outbox: []*OutboxItem{it}}); err != nil {
			return err
		}
		_, err := s.Remove(ctx, it)
		return err
	})
}

// BenchmarkBoltLogAppend is a Socket.IO sendMessage's write: the
// customer's message appended to its conversation's record, 64 writers
// over 64 conversations (perf/run.sh's P3). pages/append is what the group
// commits wrote for it, the log's compaction included.
func BenchmarkBoltLogAppend(b *testing.B) {
	ctx := context.Background()
	s, convs := openBenchBolt(b, ConsumerKey{Face: FaceCustomerChannel, Account: "PERFAC", App: "web"}, 64)
	data := []byte(`{"i":12,"id":"5d2c7e0a-8f3b-4c1d-9e6a-2b7f4c8d1e3a","pm":"9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d","sid":"c1f0e2d3-a4b5-4c6d-8e7f-9a0b1c2d3e4f","sn":"Perf","st":"CUSTOMER","t":"load","at":"2026-12-03T10:52:28.123456789Z"}`)
	writeInParallel(b, s, convs, "append", func(c *Conversation) error {
		return s.Commit(ctx, &Change{Of: c.ID, Append: []LogRecord{{Log: "cc.messages", Data: data}}})
	})
}

// BenchmarkBoltSend is a SEND's writes: its pending record, waited for,
// then the record marked sent, not waited for; 64 writers over 256
// conversations, each SEND a new key. The records go to the send log, not
// the bbolt file (pages/send is 0); log-bytes/send is what the log's group
// commits wrote for it. Only the key is new each time (the store does not
// look at the ids), so that the allocations reported are nearly all the
// store's.
func BenchmarkBoltSend(b *testing.B) {
	ctx := context.Background()
	s, convs := openBenchBolt(b, ConsumerKey{Face: FaceConnectorAPI, Account: "PERFAC", App: "perf-app"}, 256)
	const providerID, messageID = "9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d", "5d2c7e0a-8f3b-4c1d-9e6a-2b7f4c8d1e3a"
	var n atomic.Uint64
	writeInParallel(b, s, convs, "send", func(c *Conversation) error {
		var k [64]byte // a SHA-256's hex, as the face's keys are
		for i, v := len(k)-1, n.Add(1); i >= 0; i, v = i-1, v>>4 {
			k[i] = "0123456789abcdef"[v&15]
		}
		key := string(k[:])
		rec := SendRecord{ProviderMessageID: providerID, State: SendPending, Holder: "replica-1", At: time.Now()}
		if _, _, err := s.BeginSend(ctx, c.ID, key, rec, 2*time.Minute); err != nil {
			return err
		}
		rec.State, rec.MessageID, rec.MessageIndex = SendSent, messageID, 12
		return s.MarkSent(ctx, c.ID, key, rec, 2*time.Minute)
	})
	s.sw.close() // the last MarkSents are written
	b.ReportMetric(float64(s.log.size.Load())/float64(b.N), "log-bytes/send")
}
