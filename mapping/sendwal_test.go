package mapping

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestAReplacedRecordIsNotBroughtBackWhenTheSweepDeletesItsReplacement(t *testing.T) {
	// A record is put in the file of its expiry's span, but never before
	// the file of the record it replaces: were the replacement's file
	// deleted first, the next open would find the replaced record again.
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		replace func(b *Bolt) error
	}{
		{"by a record of a shorter TTL", func(b *Bolt) error {
			return b.PutSend(ctx, "c", "k", SendRecord{ProviderMessageID: "p1", State: SendSent, MessageID: "m1"}, time.Minute)
		}},
		{"by a drop", func(b *Bolt) error { return b.DropSend(ctx, "c", "k") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{t: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)}
			b, path := openTemp(t, WithClock(clk.now))
			if _, won, err := b.BeginSend(ctx, "c", "k", pending("p1", clk.now()), time.Hour); err != nil || !won {
				t.Fatalf("begin: won %v, %v", won, err)
			}
			if err := tc.replace(b); err != nil {
				t.Fatal(err)
			}
			clk.add(5 * time.Minute)
			if _, err := b.SweepSends(ctx); err != nil {
				t.Fatal(err)
			}
			noRecord(t, b, "c", "k", "after the sweep")
			b2 := reopen(t, b, path, WithClock(clk.now))
			noRecord(t, b2, "c", "k", "the replaced record came back after a reopen")
		})
	}
}

func TestSweepSendsDeletesTheFilesOfEndedSpansOnly(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	clk := &clock{t: start}
	b, path := openTemp(t, WithClock(clk.now))
	// Three minutes of SENDs, one a second, every tenth kept an hour: a
	// file of each 30 s of expiries, the hour's among them.
	const total = 180
	for i := range total {
		ttl := time.Minute
		if i%10 == 0 {
			ttl = time.Hour
		}
		if _, won, err := b.BeginSend(ctx, "c", fmt.Sprint("k", i), pending(fmt.Sprint("p", i), clk.now()), ttl); err != nil || !won {
			t.Fatalf("begin k%d: won %v, %v", i, won, err)
		}
		clk.add(time.Second)
	}
	files := segmentFiles(t, path)
	// The minute's records expire from 09:01:00 to 09:03:59: six spans;
	// the hour's from 10:00:00 to 10:02:50, six more.
	if len(files) != 12 {
		t.Fatalf("%d files, want 12: %v", len(files), files)
	}
	clk.t = start.Add(2 * time.Minute) // the first two spans have ended
	n, err := b.SweepSends(ctx)
	if err != nil || n != 54 {
		t.Fatalf("swept %d, %v; want the 54 minute records of 09:01:00 to 09:01:59", n, err)
	}
	if left := segmentFiles(t, path); !slices.Equal(left, files[2:]) {
		t.Fatalf("files left %v, want %v", left, files[2:])
	}
	clk.t = start.Add(5 * time.Minute)
	if n, err := b.SweepSends(ctx); err != nil || n != 108 {
		t.Fatalf("swept %d, %v; want the other 108 minute records", n, err)
	}
	if n, err := b.SweepSends(ctx); err != nil || n != 0 {
		t.Fatalf("a second sweep removed %d, %v; want none", n, err)
	}
	b2 := reopen(t, b, path, WithClock(clk.now))
	if n := sendsInForce(b2); n != total/10 {
		t.Fatalf("%d records in force after a reopen, want the %d of an hour", n, total/10)
	}
	for _, i := range []int{0, 90, 170} {
		if got, ok, err := b2.Send(ctx, "c", fmt.Sprint("k", i)); err != nil || !ok || got.ProviderMessageID != fmt.Sprint("p", i) {
			t.Errorf("k%d after the sweeps: %+v, %v, %v", i, got, ok, err)
		}
	}
}

func TestOpeningCutsATornEndOffTheSendLog(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		tail func(frame []byte) []byte // what a crash left after the last whole frame
	}{
		{"half a frame's head", func(frame []byte) []byte { return frame[:5] }},
		{"a frame without its end", func(frame []byte) []byte { return frame[:len(frame)-3] }},
		{"a frame whose payload is not its CRC's", func(frame []byte) []byte {
			torn := slices.Clone(frame)
			torn[len(torn)-2] ^= 0x20
			return torn
		}},
		{"zeros", func(frame []byte) []byte { return make([]byte, 4096) }},
		{"a length past any record", func([]byte) []byte { return []byte{0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, path := openTemp(t)
			at := time.Now()
			if _, won, err := b.BeginSend(ctx, "c", "kept", pending("p-kept", at), time.Hour); err != nil || !won {
				t.Fatalf("begin: won %v, %v", won, err)
			}
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			files := segmentFiles(t, path)
			if len(files) != 1 {
				t.Fatalf("files %v, want one", files)
			}
			name := segmentPath(path, files[0])
			whole, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			// A second record's frame, as the log writes it (a sequence
			// past any the test wrote), torn.
			frame := appendTestFrame(t, nil, 1<<40, []byte("c|torn"), pending("p-torn", at), at.Add(time.Hour))
			if err := os.WriteFile(name, append(slices.Clone(whole), tc.tail(frame)...), 0o600); err != nil {
				t.Fatal(err)
			}
			b2 := openAt(t, path)
			if got, ok, err := b2.Send(ctx, "c", "kept"); err != nil || !ok || got.ProviderMessageID != "p-kept" {
				t.Fatalf("the record before the torn end: %+v, %v, %v", got, ok, err)
			}
			noRecord(t, b2, "c", "torn", "a torn record is in force")
			if fi, err := os.Stat(name); err != nil || fi.Size() != int64(len(whole)) {
				t.Fatalf("file after opening: %v, %v; want it cut to %d bytes", fi.Size(), err, len(whole))
			}
			// What comes next follows the whole frames, and is found again.
			if _, won, err := b2.BeginSend(ctx, "c", "next", pending("p-next", at), time.Hour); err != nil || !won {
				t.Fatalf("begin after the cut: won %v, %v", won, err)
			}
			b3 := reopen(t, b2, path)
			for _, key := range []string{"kept", "next"} {
				if _, ok, err := b3.Send(ctx, "c", key); err != nil || !ok {
					t.Errorf("%s after another reopen: %v, %v", key, ok, err)
				}
			}
		})
	}
}

func TestAWriteTheSendLogCannotMakeIsRefusedAndLeavesNothing(t *testing.T) {
	ctx := context.Background()
	b, path := openTemp(t)
	at := time.Now()
	if _, won, err := b.BeginSend(ctx, "c", "before", pending("p-before", at), time.Hour); err != nil || !won {
		t.Fatalf("begin: won %v, %v", won, err)
	}
	// The file goes from under the log: its write and its cut fail.
	for _, seg := range b.log.segs {
		seg.f.Close()
	}
	_, _, err := b.BeginSend(ctx, "c", "failed", pending("p-failed", at), time.Hour)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("begin on a broken log: %v, want ErrUnavailable", err)
	}
	noRecord(t, b, "c", "failed", "a refused write is in force")
	// Past a cut that failed, the log takes nothing more: what lies past
	// its end could be found by the next open.
	if _, _, err := b.BeginSend(ctx, "c", "later", pending("p-later", at), time.Hour); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("begin after the failed cut: %v, want ErrUnavailable", err)
	}
	if err := b.Ping(ctx); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("ping of a store whose send log takes no writes: %v, want ErrUnavailable", err)
	}
	b.Close()
	b2 := openAt(t, path)
	if _, ok, err := b2.Send(ctx, "c", "before"); err != nil || !ok {
		t.Fatalf("the record before, after a reopen: %v, %v", ok, err)
	}
	noRecord(t, b2, "c", "failed", "a refused write is in force after a reopen")
}

func TestAcknowledgedSendRecordsSurviveSIGKILL(t *testing.T) {
	// A child writes send records as fast as it can and is killed; every
	// record it was told is stored is found, as it was told, and a retry
	// of it is not a new message. Three rounds on one store: each opens
	// what the last one's kill left.
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	for round := range 3 {
		acked := killedSendChild(t, path, fmt.Sprint("r", round), 3000)
		b := openAt(t, path)
		for key, state := range acked {
			got, ok, err := b.Send(ctx, "conv", key)
			if err != nil || !ok || got.ProviderMessageID != key {
				t.Fatalf("round %d: acknowledged %s: %+v, %v, %v", round, key, got, ok, err)
			}
			if state == SendSent && (got.State != SendSent || got.MessageID != "m-"+key) {
				t.Fatalf("round %d: %s was put as sent, found %+v", round, key, got)
			}
			if _, won, err := b.BeginSend(ctx, "conv", key, pending("again", time.Now()), time.Hour); err != nil || won {
				t.Fatalf("round %d: a retry of %s: won %v, %v", round, key, won, err)
			}
		}
		t.Logf("round %d: %d acknowledged records found after SIGKILL", round, len(acked))
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
