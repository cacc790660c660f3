package socketio

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/valyala/fasthttp"
)

// BenchmarkEmitWebSocket measures server → client events over one
// WebSocket on loopback, the client reading as fast as it can.
func BenchmarkEmitWebSocket(b *testing.B) {
	s := NewServer(Options{WriteQueue: 1024})
	conns := make(chan *Conn, 1)
	s.OnConnect(func(_ context.Context, c *Conn) { conns <- c })
	base := startServer(b, s)
	ws := connectWS(b, base)
	c := <-conns
	var got atomic.Int64
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
			got.Add(1)
		}
	}()
	msg := map[string]any{"text": "hello there", "type": "PLAIN"}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		for c.queued() > 512 { // stay under the bound instead of being dropped
			runtime.Gosched()
		}
		if err := c.Emit("messageArrived", msg); err != nil {
			b.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for got.Load() < int64(b.N) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(got.Load())/time.Since(start).Seconds(), "msgs/s")
	_ = ws.Close()
	<-readerDone
}

func (c *Conn) queued() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue)
}

// idleServerEnv makes the test binary run a bare server (see TestMain), so
// that BenchmarkIdleConnections measures the server's memory alone, not
// the client connections sharing its process.
const idleServerEnv = "SOCKETIO_IDLE_SERVER"

func TestMain(m *testing.M) {
	if os.Getenv(idleServerEnv) != "" {
		os.Exit(runIdleServer())
	}
	os.Exit(m.Run())
}

type memReport struct {
	Conns      int    `json:"conns"`
	Goroutines int    `json:"goroutines"`
	HeapInuse  uint64 `json:"heapInuse"`
	StackInuse uint64 `json:"stackInuse"`
	RSS        uint64 `json:"rss"`
}

// runIdleServer serves Socket.IO at /socket.io/ and its memory at /mem,
// prints its address and runs until stdin closes.
func runIdleServer() int {
	s := NewServer(Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	hs := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) != "/mem" {
			s.Handler(ctx)
			return
		}
		runtime.GC()
		debug.FreeOSMemory()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		r := memReport{Conns: s.Len(), Goroutines: runtime.NumGoroutine(), HeapInuse: ms.HeapInuse, StackInuse: ms.StackInuse, RSS: rss()}
		b, _ := json.Marshal(r)
		ctx.SetBody(b)
	}}
	go func() { _ = hs.Serve(ln) }()
	fmt.Println(ln.Addr().String())
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	_ = hs.Shutdown()
	_ = s.Close()
	return 0
}

func rss() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkIdleConnections opens 5,000 connected WebSocket clients
// (gorilla/websocket, loopback) to a server in a child process and reports
// the server's memory and goroutines per idle connection. It takes a few
// seconds; run it with -benchtime=1x.
func BenchmarkIdleConnections(b *testing.B) {
	const n = 5000
	for range b.N {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), idleServerEnv+"=1")
		stdin, err := cmd.StdinPipe()
		if err != nil {
			b.Fatal(err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		addr, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil {
			b.Fatal(err)
		}
		base := "http://" + strings.TrimSpace(addr)
		mem := func() memReport {
			code, body, _ := do(b, "GET", base+"/mem", "")
			var r memReport
			if err := json.Unmarshal([]byte(body), &r); code != 200 || err != nil {
				b.Fatalf("/mem: %d %v", code, err)
			}
			return r
		}
		before := mem()
		dialer := &websocket.Dialer{ReadBufferSize: 256, WriteBufferSize: 256, HandshakeTimeout: 10 * time.Second}
		clients := make([]*websocket.Conn, 0, n)
		for range n {
			ws, _, err := dialer.Dial(wsURL(base, ""), nil)
			if err != nil {
				b.Fatalf("dial %d: %v", len(clients), err)
			}
			clients = append(clients, ws)
			read(b, ws)
			write(b, ws, "40")
			if m := readSkippingPings(b, ws); !strings.HasPrefix(m, "40{") {
				b.Fatalf("CONNECT: %q", m)
			}
		}
		after := mem()
		if after.Conns != n {
			b.Fatalf("server has %d connections, want %d", after.Conns, n)
		}
		per := func(a, z uint64) float64 { return (float64(z) - float64(a)) / n }
		b.ReportMetric(per(before.HeapInuse+before.StackInuse, after.HeapInuse+after.StackInuse), "heap+stack-B/conn")
		b.ReportMetric(per(before.StackInuse, after.StackInuse), "stack-B/conn")
		b.ReportMetric(per(before.RSS, after.RSS), "rss-B/conn")
		b.ReportMetric(float64(after.Goroutines-before.Goroutines)/n, "goroutines/conn")
		for _, ws := range clients {
			_ = ws.Close()
		}
		_ = stdin.Close()
		_ = cmd.Wait()
	}
}
