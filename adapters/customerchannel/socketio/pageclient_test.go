package socketio

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPageClient runs test/socketio/pageclient.test.mjs, the demo console's
// own Socket.IO client (console/static/socketio.js), against a loopback
// server with the test handlers, as TestSocketIOClient runs the stock one.
// Node 20 has WebSocket only behind --experimental-websocket.
func TestPageClient(t *testing.T) {
	dir, err := filepath.Abs("../../../test/socketio")
	if err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is required for this test: %v", err)
	}
	out, err := exec.Command(node, "--experimental-websocket", "-e", "process.stdout.write(typeof WebSocket)").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "function" {
		t.Fatalf("this node has no WebSocket client (Node 20.10 or later is needed): %v %s", err, out)
	}
	checkGoroutines(t)
	_, url := newTestServer(t, Options{
		PingInterval: 300 * time.Millisecond,
		PingTimeout:  200 * time.Millisecond,
		MaxPayload:   100000,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--experimental-websocket", "--no-warnings", "--test", "--test-reporter=spec", "pageclient.test.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SOCKETIO_URL="+url)
	out, err = cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test failed: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
