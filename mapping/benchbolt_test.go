package mapping

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// openBenchBolt opens a store for a benchmark with n conversations, of
// owner's account and app, one consumer each.
func openBenchBolt(b *testing.B, owner ConsumerKey, n int) (*Bolt, []*Conversation) {
	b.Helper()
	s, err := OpenBolt(filepath.Join(b.TempDir(), "state.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	convs := make([]*Conversation, n)
	for i := range convs {
		owner.Consumer = fmt.Sprint("c", i)
		convs[i] = conv(owner, fmt.Sprint("d", i), time.Unix(int64(i), 0))
		if err := s.Commit(context.Background(), &Change{Conv: convs[i]}); err != nil {
			b.Fatal(err)
		}
	}
	return s, convs
}

// writeInParallel runs b.N writes, each on the next conversation in turn,
// from 64 writers on 2 cores, and reports what the group commits wrote per
// write (pages/unit, allocated-pages/unit): with fsync'd commits, the
// disk's share.
func writeInParallel(b *testing.B, s *Bolt, convs []*Conversation, unit string, write func(*Conversation) error) {
	var next atomic.Int64
	before := s.db.Stats().TxStats
	b.SetParallelism(32)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := write(convs[next.Add(1)%int64(len(convs))]); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	st := s.db.Stats().TxStats
	b.ReportMetric(float64(st.GetWrite()-before.GetWrite())/float64(b.N), "pages/"+unit)
	b.ReportMetric(float64(st.GetPageCount()-before.GetPageCount())/float64(b.N), "allocated-pages/"+unit)
}
