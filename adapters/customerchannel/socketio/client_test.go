package socketio

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestSocketIOClient runs test/socketio/protocol.test.mjs, the stock npm
// socket.io-client 4.x, against a loopback server with the test handlers.
func TestSocketIOClient(t *testing.T) {
	dir, err := filepath.Abs("../../../test/socketio")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "socket.io-client")); err != nil {
		t.Fatalf("socket.io-client is not installed: run `npm ci --prefix test/socketio` at the repository root (%v)", err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is required for this test: %v", err)
	}
	checkGoroutines(t)
	_, url := newTestServer(t, Options{
		PingInterval: 300 * time.Millisecond,
		PingTimeout:  200 * time.Millisecond,
		MaxPayload:   100000,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", "protocol.test.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SOCKETIO_URL="+url)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test failed: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
