// Package redistest runs a real redis-server on a free loopback port for
// tests: started per test, stopped at its cleanup, and stoppable and
// restartable on the same port to exercise outages.
//
// The server keeps no periodic persistence (no save points, no AOF), so
// tests leave nothing behind and never wait on fsync. Stop shuts it down with
// SHUTDOWN SAVE, so the data written before the outage is loaded again by
// Restart, as a Redis run with persistence would do; Kill loses it, as a
// Redis run without persistence would.
package redistest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// startTimeout bounds how long a server may take to answer PING.
const startTimeout = 10 * time.Second

// Server is one redis-server process under a test's control.
type Server struct {
	// Addr is host:port on 127.0.0.1; URL is redis://Addr/0.
	Addr string
	URL  string

	t    testing.TB
	bin  string
	dir  string
	port int

	// extra are more redis-server arguments (a cluster node's).
	extra []string
	// busPort is a cluster node's bus port, chosen free like port: by
	// default Redis takes port+10000, which may be taken or past 65535.
	busPort int

	mu   sync.Mutex
	cmd  *exec.Cmd
	out  *bytes.Buffer
	done chan struct{}
}

// Start runs a redis-server on a free loopback port and waits until it
// answers PING. The test fails (never skips) when the binary is missing:
// CI installs it. The server is killed at the test's cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	return start(t, nil)
}

func start(t testing.TB, extra []string) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redistest: redis-server is not on PATH (apt-get install redis-server): %v", err)
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir(), extra: extra}
	t.Cleanup(s.Kill)
	// A free port can be taken between our probe and redis binding it;
	// try a few before giving up.
	for attempt := 0; ; attempt++ {
		s.port = freePort(t)
		if slices.Contains(extra, "--cluster-enabled") {
			s.busPort = freePort(t)
		}
		err := s.start()
		if err == nil {
			break
		}
		if attempt == 4 {
			t.Fatalf("redistest: %v", err)
		}
	}
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
	s.URL = "redis://" + s.Addr + "/0"
	return s
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("redistest: find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return nil
	}
	args := append([]string{
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no",
		"--dir", s.dir, "--dbfilename", "dump.rdb",
		"--daemonize", "no", "--loglevel", "warning"}, s.extra...)
	if s.busPort != 0 {
		args = append(args, "--cluster-port", strconv.Itoa(s.busPort))
	}
	cmd := exec.Command(s.bin, args...)
	out := new(bytes.Buffer)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
	deadline := time.Now().Add(startTimeout)
	for {
		if err := ping(addr); err == nil {
			break
		} else if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("redis-server on %s did not answer PING within %s: %w\n%s", addr, startTimeout, err, out)
		}
		select {
		case <-done:
			return fmt.Errorf("redis-server on %s exited: %s", addr, out)
		case <-time.After(20 * time.Millisecond):
		}
	}
	s.cmd, s.out, s.done = cmd, out, done
	return nil
}

// Do sends one command (inline form: no spaces inside arguments) and
// returns the first line of the reply, for tests that poke at the server
// without a client.
func (s *Server) Do(args ...string) (string, error) {
	return do(s.Addr, args...)
}

func ping(addr string) error {
	reply, err := do(addr, "PING")
	if err != nil {
		return err
	}
	if reply != "+PONG" {
		return fmt.Errorf("PING answered %q", reply)
	}
	return nil
}

func do(addr string, args ...string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := fmt.Fprintf(c, "%s\r\n", strings.Join(args, " ")); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimRight(line, "\r\n"), err
}

// Stop shuts the server down after saving its data (SHUTDOWN SAVE), so that
// Restart finds it again; clients see connection refused until then.
func (s *Server) Stop() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	// The connection is closed by the shutdown itself: an EOF is the answer.
	if reply, err := do(s.Addr, "SHUTDOWN", "SAVE"); err == nil && strings.HasPrefix(reply, "-") {
		s.t.Errorf("redistest: SHUTDOWN SAVE: %s", reply)
	}
	select {
	case <-s.done:
	case <-time.After(startTimeout):
		_ = s.cmd.Process.Kill()
		<-s.done
		s.t.Errorf("redistest: redis-server did not stop within %s; killed\n%s", startTimeout, s.out)
	}
	s.cmd = nil
}

// Kill ends the server at once (SIGKILL): what was written since the last
// Stop is lost, as with a crash of a Redis without persistence.
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	if err := s.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		s.t.Logf("redistest: kill: %v", err)
	}
	<-s.done
	s.cmd = nil
}

// Restart stops the server if it runs and starts it again on the same
// port, with the data saved by Stop, and waits until it answers PING.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		s.t.Fatalf("redistest: restart: %v", err)
	}
}

// Cluster is a Redis Cluster of three masters (no replicas) on loopback,
// made the way an operator makes one: three redis-server with
// cluster-enabled, then redis-cli --cluster create.
type Cluster struct {
	Nodes []*Server
	// URL names every node, as go-redis's ParseClusterURL reads it:
	// redis://first?addr=second&addr=third.
	URL string
}

// StartCluster starts the three nodes, creates the cluster and waits until
// every node says cluster_state:ok. The test fails when redis-server or
// redis-cli is missing: CI installs them.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Fatalf("redistest: redis-cli is not on PATH (apt-get install redis-tools): %v", err)
	}
	c := &Cluster{}
	var addrs []string
	for range 3 {
		n := start(t, []string{"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000"})
		c.Nodes = append(c.Nodes, n)
		addrs = append(addrs, n.Addr)
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	out, err := exec.Command(cli, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("redistest: redis-cli --cluster create: %v\n%s", err, out)
	}
	deadline := time.Now().Add(startTimeout)
	for _, n := range c.Nodes {
		for {
			info, err := exec.Command(cli, "-h", "127.0.0.1", "-p", strconv.Itoa(n.port), "cluster", "info").Output()
			if err == nil && bytes.Contains(info, []byte("cluster_state:ok")) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("redistest: cluster not ok within %s: %v\n%s", startTimeout, err, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	c.URL = "redis://" + addrs[0] + "?addr=" + addrs[1] + "&addr=" + addrs[2]
	return c
}
