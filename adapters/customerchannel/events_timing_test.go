package customerchannel

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkSocketMessagesToAXP measures sendMessage throughput from joined
// sockets through the face and the engagement client to the simulator,
// each message acknowledged only once AXP accepted it.
func BenchmarkSocketMessagesToAXP(b *testing.B) {
	for _, sockets := range []int{1, 16} {
		b.Run(fmt.Sprintf("sockets=%d", sockets), func(b *testing.B) {
			r := newRig(b, nil)
			clients := make([]*sioClient, sockets)
			convs := make([]string, sockets)
			for i := range clients {
				res := r.init(b, InitRequest{FirstName: "Bench", Email: fmt.Sprintf("bench%d@example.com", i), Channel: "web"})
				c, err := dialSIO(r.proxyURL, nil)
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				if a, err := c.call(EventJoinConversation, JoinRequest{ConversationID: res.ConversationID, ID: res.Participant.ID}); err != nil || a.Status != "ok" {
					b.Fatalf("join: %+v %v", a, err)
				}
				clients[i], convs[i] = c, res.ConversationID
			}
			var next atomic.Int64
			var failed atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for i, c := range clients {
				wg.Go(func() {
					for next.Add(1) <= int64(b.N) {
						a, err := c.call(EventSendMessage, SendRequest{ConversationID: convs[i], Text: "benchmark message"})
						if err != nil || a.Status != "ok" {
							failed.Add(1)
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			if n := failed.Load(); n > 0 {
				b.Fatalf("%d sends failed", n)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}
