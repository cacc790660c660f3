package mapping

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkOpenSendLog is what a restart pays for the send log: opening a
// store whose log holds 2.5 minutes of SENDs at 2,000 a second (300,000
// keys, each a pending record and its sent one, in five files, as
// BenchmarkBoltSend writes them), read from the page cache. One op is one
// open and close; ns/record is per frame read.
func BenchmarkOpenSendLog(b *testing.B) {
	const keys = 300_000
	path := filepath.Join(b.TempDir(), "state.db")
	s, err := OpenBolt(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	files := map[int64][]byte{}
	var seq uint64
	for i := range keys {
		at := start.Add(time.Duration(i) * time.Second / 2000)
		key := sendKey(fmt.Sprintf("conv-%03d", i%256), fmt.Sprintf("%064x", i))
		rec := SendRecord{ProviderMessageID: "9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d", State: SendPending, Holder: "replica-1", At: at}
		for _, state := range []string{SendPending, SendSent} {
			rec.State = state
			if state == SendSent {
				rec.MessageID, rec.MessageIndex = "5d2c7e0a-8f3b-4c1d-9e6a-2b7f4c8d1e3a", 12
			}
			expires := at.Add(time.Hour) // in force whenever the benchmark opens it
			seq++
			span := spanOf(expires.UnixNano())
			files[span] = appendTestFrame(b, files[span], seq, key, rec, expires)
		}
	}
	var size int64
	for span, data := range files {
		if err := os.WriteFile(filepath.Join(path+".sends", segmentName(span)), data, 0o600); err != nil {
			b.Fatal(err)
		}
		size += int64(len(data))
	}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		s, err := OpenBolt(path)
		if err != nil {
			b.Fatal(err)
		}
		if n := sendsInForce(s); n != keys {
			b.Fatalf("%d records in force, want %d", n, keys)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(2*keys), "ns/record")
	b.ReportMetric(float64(len(files)), "files")
}
