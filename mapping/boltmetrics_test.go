package mapping

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestBoltCollectorReportsWhatTheStoreKeepsOnDiskAndInTheIndex(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)}
	b, path := openTemp(t, WithClock(clk.now))
	// Two minutes' records and an hour's, in three files.
	for i := range 30 {
		ttl := 2 * time.Minute
		if i%3 == 0 {
			ttl = time.Hour
		}
		if _, won, err := b.BeginSend(ctx, "c", fmt.Sprint("k", i), pending(fmt.Sprint("p", i), clk.now()), ttl); err != nil || !won {
			t.Fatalf("begin k%d: won %v, %v", i, won, err)
		}
		clk.add(time.Second)
	}
	check := func(b *Bolt, when string, records int) {
		t.Helper()
		want := fmt.Sprintf(`
# HELP connector_proxy_store_file_bytes Bytes the embedded store's files take: the bbolt file, and the send log's files together.
# TYPE connector_proxy_store_file_bytes gauge
connector_proxy_store_file_bytes{file="bbolt"} %d
connector_proxy_store_file_bytes{file="send_log"} %d
# HELP connector_proxy_store_send_records Send records the send log's in-memory index holds: those in force, and expired ones until their file is deleted.
# TYPE connector_proxy_store_send_records gauge
connector_proxy_store_send_records %d
`, fileBytes(t, path), segmentBytes(t, path), records)
		if err := testutil.CollectAndCompare(NewBoltCollector(b), strings.NewReader(want)); err != nil {
			t.Errorf("%s: %v", when, err)
		}
	}
	if n := len(segmentFiles(t, path)); n < 2 || segmentBytes(t, path) == 0 {
		t.Fatalf("%d files of %d bytes: the test wants records in several", n, segmentBytes(t, path))
	}
	check(b, "after the writes", 30)
	// A replacement in the same file adds its frame; the index still has
	// one entry for the key.
	if err := b.PutSend(ctx, "c", "k1", SendRecord{ProviderMessageID: "p1", State: SendSent, MessageID: "m1"}, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	check(b, "after a replacement", 30)
	b = reopen(t, b, path, WithClock(clk.now))
	check(b, "after a reopen", 30)
	clk.add(5 * time.Minute) // the two minutes' records have expired
	if _, err := b.SweepSends(ctx); err != nil {
		t.Fatal(err)
	}
	check(b, "after the sweep", 10)
}
