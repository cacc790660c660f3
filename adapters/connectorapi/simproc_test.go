package connectorapi

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

// simProcessEnv makes the test binary run the AXP simulator alone (see
// TestMain), so that a benchmark against it counts the proxy's
// allocations and CPU, not the simulator's.
const simProcessEnv = "CONNECTORAPI_SIM_PROCESS"

func TestMain(m *testing.M) {
	if os.Getenv(simProcessEnv) != "" {
		os.Exit(runSimProcess())
	}
	os.Exit(m.Run())
}

// runSimProcess serves the simulator on a loopback port, prints its URL
// and runs until stdin closes.
func runSimProcess() int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// A dialog takes every message a benchmark sends.
	sim, err := simulator.Start(ctx, simulator.Config{MaxMessages: 1 << 30}, "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(sim.URL)
	_, _ = io.Copy(io.Discard, os.Stdin)
	_ = sim.Close()
	return 0
}

// startSimProcess starts the simulator in a child process and returns its
// URL; it is stopped at cleanup.
func startSimProcess(tb testing.TB) string {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), simProcessEnv+"=1")
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
