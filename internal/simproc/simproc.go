// Package simproc runs the AXP simulator in a child process of a test
// binary, so that a benchmark of the proxy against it counts the proxy's
// allocations and CPU alone, not the simulator's as well.
//
// A package's TestMain calls Main; a benchmark calls Start, which runs the
// test binary again with an environment variable that makes Main serve
// the simulator instead of running the tests.
package simproc

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/connector-proxy/connector-proxy/simulator"
)

// The child's environment: whether it is one, and its credentials.
const (
	envChild  = "SIMPROC_CHILD"
	envID     = "SIMPROC_CLIENT_ID"
	envSecret = "SIMPROC_CLIENT_SECRET"
)

// Main runs the tests, or in the child the simulator until its stdin
// closes; it does not return.
func Main(m *testing.M) {
	if os.Getenv(envChild) == "" {
		os.Exit(m.Run())
	}
	os.Exit(serve())
}

func serve() int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// A dialog takes every message a benchmark sends.
	cfg := simulator.Config{MaxMessages: 1 << 30, ClientID: os.Getenv(envID), ClientSecret: os.Getenv(envSecret)}
	sim, err := simulator.Start(ctx, cfg, "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(sim.URL)
	_, _ = io.Copy(io.Discard, os.Stdin)
	_ = sim.Close()
	return 0
}

// Start starts the simulator in a child process, taking the AXP client
// credentials clientID and clientSecret ("" for the simulator's demo
// ones), and returns its URL; it is stopped at cleanup.
func Start(tb testing.TB, clientID, clientSecret string) string {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envChild+"=1", envID+"="+clientID, envSecret+"="+clientSecret)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = stdin.Close(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		tb.Fatalf("simulator process: %v", err)
	}
	return strings.TrimSpace(line)
}
