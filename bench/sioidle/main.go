// Command sioidle measures what an idle Socket.IO WebSocket client costs a
// running server: it reads the server's VmRSS, opens n clients (Engine.IO
// open, Socket.IO CONNECT answered, then nothing but pongs to the server's
// pings), waits for the memory to settle over several ping rounds, reads
// VmRSS again and prints the difference per client. bench/idle.sh runs it
// against connector-proxy; point it at any server with -url and -pid.
//
// Loopback has about 28,000 ephemeral ports per source address, so clients
// are spread over -sources addresses 127.0.0.1, 127.0.0.2, … (all of
// 127.0.0.0/8 is loopback on Linux).
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:8080", "the server's base URL")
	pid := flag.Int("pid", 0, "the server's process id (its VmRSS is read)")
	clients := flag.Int("clients", 5000, "idle clients to open")
	sources := flag.Int("sources", 0, "loopback source addresses to spread the clients over (0: one per 20,000 clients)")
	conc := flag.Int("concurrency", 64, "clients being opened at once")
	warm := flag.Int("warm", 200, "clients opened and closed first, so that the baseline includes what the first connections set up")
	settle := flag.Duration("settle", 75*time.Second, "wait after opening, before the second reading (include several ping intervals)")
	metrics := flag.String("metrics", "", "the server's Prometheus /metrics URL: go_goroutines is read while the clients are held")
	flag.Parse()
	if *pid == 0 {
		fmt.Fprintln(os.Stderr, "sioidle: -pid is required")
		os.Exit(2)
	}
	if *sources <= 0 {
		*sources = *clients/20000 + 1
	}
	if err := run(*url, *metrics, *pid, *clients, *sources, *conc, *warm, *settle); err != nil {
		fmt.Fprintln(os.Stderr, "sioidle:", err)
		os.Exit(1)
	}
}

func run(base, metrics string, pid, n, sources, conc, warm int, settle time.Duration) error {
	ws := "ws" + strings.TrimPrefix(base, "http") + "/socket.io/?EIO=4&transport=websocket"
	dialers := make([]*websocket.Dialer, sources)
	for i := range dialers {
		ip := net.IPv4(127, 0, 0, byte(1+i))
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 30 * time.Second}
		dialers[i] = &websocket.Dialer{NetDialContext: d.DialContext, HandshakeTimeout: 30 * time.Second, ReadBufferSize: 512, WriteBufferSize: 512}
	}
	dial := func(i int) (*websocket.Conn, error) { return open(dialers[i%len(dialers)], ws) }

	parallel(warm, conc, func(i int) error {
		if c, err := dial(i); err == nil {
			_ = c.Close()
		}
		return nil
	})
	time.Sleep(5 * time.Second)
	before, err := vmRSS(pid)
	if err != nil {
		return err
	}
	conns := make([]*websocket.Conn, n)
	var failed atomic.Int64
	var firstErr atomic.Value
	var lost atomic.Int64 // clients the server closed while idle
	t0 := time.Now()
	parallel(n, conc, func(i int) error {
		c, err := dial(i)
		if err != nil {
			failed.Add(1)
			firstErr.CompareAndSwap(nil, err.Error())
			return nil
		}
		conns[i] = c
		go idle(c, &lost)
		return nil
	})
	dialTime := time.Since(t0)
	connected := int64(n) - failed.Load()
	time.Sleep(5 * time.Second)
	afterDial, _ := vmRSS(pid)
	time.Sleep(settle)
	after, err := vmRSS(pid)
	if err != nil {
		return err
	}
	goroutines := goroutines(metrics)
	for _, c := range conns {
		if c != nil {
			_ = c.Close()
		}
	}
	per := func(v int64) float64 {
		if connected == 0 {
			return 0
		}
		return float64(v-before) / float64(connected)
	}
	fe, _ := firstErr.Load().(string)
	fmt.Printf("clients=%d connected=%d lost=%d sources=%d dial_s=%.1f rss_before_kib=%d rss_after_dial_kib=%d rss_after_kib=%d kib_per_client_after_dial=%.2f kib_per_client=%.2f settle_s=%.0f server_goroutines=%s first_failure=%q\n",
		n, connected, lost.Load(), sources, dialTime.Seconds(), before, afterDial, after, per(afterDial), per(after), settle.Seconds(), goroutines, fe)
	if connected < int64(n) {
		return fmt.Errorf("%d of %d clients failed to connect", n-int(connected), n)
	}
	return nil
}

// open dials, reads Engine.IO's open packet, sends the Socket.IO CONNECT of
// the default namespace and waits for its answer.
func open(d *websocket.Dialer, url string) (*websocket.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, _, err := d.DialContext(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, msg, err := c.ReadMessage(); err != nil || len(msg) == 0 || msg[0] != '0' {
		_ = c.Close()
		return nil, fmt.Errorf("engine.io open: %q %v", msg, err)
	}
	if err := c.WriteMessage(websocket.TextMessage, []byte("40")); err != nil {
		_ = c.Close()
		return nil, err
	}
	for {
		_, msg, err := c.ReadMessage()
		switch {
		case err != nil:
			_ = c.Close()
			return nil, err
		case bytes.HasPrefix(msg, []byte("40")):
			_ = c.SetReadDeadline(time.Time{})
			return c, nil
		case bytes.HasPrefix(msg, []byte("44")):
			_ = c.Close()
			return nil, fmt.Errorf("connect refused: %s", msg)
		case string(msg) == "2":
			_ = c.WriteMessage(websocket.TextMessage, []byte("3"))
		}
	}
}

// idle answers pings until the connection ends; an end that this side did
// not ask for is counted.
func idle(c *websocket.Conn, lost *atomic.Int64) {
	for {
		_, msg, err := c.ReadMessage()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				lost.Add(1)
			}
			return
		}
		if string(msg) == "2" && c.WriteMessage(websocket.TextMessage, []byte("3")) != nil {
			return
		}
	}
}

func parallel(n, conc int, f func(i int) error) {
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range min(conc, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				_ = f(i)
			}
		})
	}
	wg.Wait()
}

// goroutines reads go_goroutines from a Prometheus endpoint; "?" without one.
func goroutines(url string) string {
	if url == "" {
		return "?"
	}
	resp, err := http.Get(url)
	if err != nil {
		return "?"
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "go_goroutines "); ok {
			return v
		}
	}
	return "?"
}

func vmRSS(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("read the server's status: %w", err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			return strconv.ParseInt(f[1], 10, 64)
		}
	}
	return 0, errors.New("no VmRSS in the server's status")
}
