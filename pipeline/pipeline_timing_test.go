package pipeline

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connector-proxy/connector-proxy/mapping"
)

// countingSender counts deliveries, for the benchmark.
type countingSender struct{ n atomic.Int64 }

func (s *countingSender) Send(context.Context, *mapping.OutboxItem) error { s.n.Add(1); return nil }

// BenchmarkPipeline is the whole pipeline in process, on fsync'd bbolt: 64
// callers receive MESSAGES events for 256 conversations; each is applied
// and its notification delivered (to a sender that only counts). One op is
// one event, received, applied and delivered.
func BenchmarkPipeline(b *testing.B) {
	var commits, writes atomic.Int64
	var took atomic.Int64
	store, err := mapping.OpenBolt(filepath.Join(b.TempDir(), "bench.db"), mapping.WithCommitObserver(func(n int, d time.Duration) {
		commits.Add(1)
		writes.Add(int64(n))
		took.Add(int64(d))
	}))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	sent := &countingSender{}
	p, err := New(Config{
		Store:   store,
		Faces:   map[mapping.Face]Face{testFace: &logFace{}},
		Senders: map[mapping.Face]Sender{testFace: sent},
		Holder:  "bench",
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(ctx) }()
	defer func() { stop(); <-done }()
	convs := make([]string, 256)
	for i := range convs {
		c := &mapping.Conversation{ID: mapping.NewConversationID(owner), Owner: owner, State: mapping.StateOpen, CreatedAt: time.Unix(1, 0)}
		if err := store.Commit(ctx, &mapping.Change{Conv: c}); err != nil {
			b.Fatal(err)
		}
		convs[i] = c.ID
	}
	var seq atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(32) // 64 callers on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			ev := message(b, convs[n%int64(len(convs))], fmt.Sprint("m", n))
			if err := p.HandleEvent(ctx, ev); err != nil {
				b.Error(err)
				return
			}
		}
	})
	for sent.n.Load() < seq.Load() {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	if c := commits.Load(); c > 0 {
		b.ReportMetric(float64(writes.Load())/float64(c), "writes/commit")
		b.ReportMetric(float64(took.Load())/float64(c)/1e6, "ms/commit")
	}
}
