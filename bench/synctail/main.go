// Command synctail measures the disk's fdatasync latency the way the send
// log pays it (a small append, then fdatasync, a few thousand times a
// second), first on a quiet machine and then beside busy processes, one
// per core. A SEND's answer waits for one such sync, so on a busy box the
// tail of this distribution is the tail a SEND adds over a plain proxy;
// the running proxy shows the same figure, with its encoding, as
// connector_proxy_store_commit_duration_seconds{file="send_log"}.
//
// With -writers 2 the busy run has two appenders, each on its own file,
// and it counts how many of one's slow syncs overlapped one of the
// other's: when most do, the stall is the device's (or the host's), and a
// second log committing beside the first would wait as long.
//
//	go run ./bench/synctail [-n 5000] [-every 400us] [-writers 2] [-dir .]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"time"
)

// slow is what counts as a stalled sync in the overlap count: ten times
// a typical one on a local SSD.
const slow = 2 * time.Millisecond

func main() {
	n := flag.Int("n", 5000, "syncs per writer and run")
	every := flag.Duration("every", 400*time.Microsecond, "time between appends (the send log's commit rate under load)")
	size := flag.Int("size", 2400, "bytes appended before each sync (a commit of four SEND records)")
	writers := flag.Int("writers", 2, "appenders in the busy run, each on its own file")
	dir := flag.String("dir", os.TempDir(), "where the files go (put it on the disk data_dir is on)")
	spin := flag.Bool("spin", false, "internal: be a busy process")
	flag.Parse()
	if *n < 1 || *writers < 1 || *size < 1 || *every <= 0 {
		fmt.Fprintln(os.Stderr, "synctail: -n, -writers, -size and -every must be positive")
		os.Exit(2)
	}
	if *spin {
		for {
			runtime.Gosched()
		}
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, *dir, *writers, *n, *size, *every)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "synctail:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dir string, writers, n, size int, every time.Duration) error {
	alone, err := measure(ctx, dir, 1, n, size, every)
	if err != nil {
		return err
	}
	report("quiet", alone[0])
	stop, err := busy(runtime.NumCPU())
	if err != nil {
		return err
	}
	loaded, err := measure(ctx, dir, writers, n, size, every)
	stop()
	if err != nil {
		return err
	}
	for i, s := range loaded {
		report(fmt.Sprintf("busy, writer %d", i+1), s)
	}
	if len(loaded) > 1 {
		stalls, shared := overlaps(loaded[0], loaded[1])
		fmt.Printf("busy: %d syncs of writer 1 over %v, %d of them during one of writer 2's\n", stalls, slow, shared)
	}
	return nil
}

// syncTime is one fdatasync: when it started, how long it took.
type syncTime struct {
	at, took time.Duration
}

// measure runs writers appenders at once, each n syncs on a file of its
// own, and returns each one's syncs.
func measure(ctx context.Context, dir string, writers, n, size int, every time.Duration) ([][]syncTime, error) {
	out := make([][]syncTime, writers)
	errs := make([]error, writers)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() { out[w], errs[w] = appendAndSync(ctx, dir, start, n, size, every) })
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

func appendAndSync(ctx context.Context, dir string, start time.Time, n, size int, every time.Duration) ([]syncTime, error) {
	f, err := os.CreateTemp(dir, "synctail-*")
	if err != nil {
		return nil, fmt.Errorf("create: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	// The send log's commits come from one goroutine; on its own thread
	// here, so that a stall is the kernel's and not Go's scheduler's.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	buf := make([]byte, size)
	tick := time.NewTicker(every)
	defer tick.Stop()
	syncs := make([]syncTime, 0, n)
	for range n {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return syncs, ctx.Err()
		}
		if _, err := f.Write(buf); err != nil {
			return syncs, fmt.Errorf("write %s: %w", filepath.Base(f.Name()), err)
		}
		t := time.Now()
		if err := syscall.Fdatasync(int(f.Fd())); err != nil {
			return syncs, fmt.Errorf("fdatasync %s: %w", filepath.Base(f.Name()), err)
		}
		syncs = append(syncs, syncTime{at: t.Sub(start), took: time.Since(t)})
	}
	return syncs, nil
}

// busy starts k processes that do nothing but spin, at normal priority,
// as a simulator and a load generator beside the proxy would take the
// cores; stop ends them.
func busy(k int) (stop func(), err error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find myself: %w", err)
	}
	var cmds []*exec.Cmd
	stop = func() {
		for _, c := range cmds {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	}
	for range k {
		c := exec.Command(self, "-spin")
		c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // not left spinning if we die
		if err := c.Start(); err != nil {
			stop()
			return nil, fmt.Errorf("start a busy process: %w", err)
		}
		cmds = append(cmds, c)
	}
	return stop, nil
}

func report(what string, s []syncTime) {
	took := make([]time.Duration, len(s))
	for i, x := range s {
		took[i] = x.took
	}
	slices.Sort(took)
	q := func(p float64) time.Duration { return took[min(len(took)-1, int(p*float64(len(took))))] }
	fmt.Printf("%-16s n=%d p50=%v p90=%v p99=%v p99.9=%v max=%v\n", what+":", len(took),
		q(0.5).Round(time.Microsecond), q(0.9).Round(time.Microsecond), q(0.99).Round(time.Microsecond),
		q(0.999).Round(time.Microsecond), took[len(took)-1].Round(time.Microsecond))
}

// overlaps counts a's slow syncs, and those of them that overlapped a
// slow sync of b.
func overlaps(a, b []syncTime) (stalls, shared int) {
	var bs []syncTime
	for _, x := range b {
		if x.took > slow {
			bs = append(bs, x)
		}
	}
	for _, x := range a {
		if x.took <= slow {
			continue
		}
		stalls++
		for _, y := range bs {
			if x.at < y.at+y.took && y.at < x.at+x.took {
				shared++
				break
			}
		}
	}
	return stalls, shared
}
