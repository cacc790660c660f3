package mapping

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// The child of TestAcknowledgedSendRecordsSurviveSIGKILL: sendChildEnv is
// its store's path, sendChildRound a name for its keys.
const (
	sendChildEnv   = "MAPPING_SEND_CHILD_STORE"
	sendChildRound = "MAPPING_SEND_CHILD_ROUND"
)

// runSendChild writes send records from 16 writers until it is killed,
// and prints each write once the store has acknowledged it: "begin KEY"
// for a BeginSend it won, "put KEY" for the PutSend that marks it sent
// after (every other key). MarkSents, not waited for, go between.
func runSendChild(path, round string) int {
	b, err := OpenBolt(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx := context.Background()
	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	say := func(what, key string) {
		mu.Lock()
		fmt.Fprintln(out, what, key)
		out.Flush()
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				key := fmt.Sprintf("%s-%d-%d", round, g, i)
				rec := SendRecord{ProviderMessageID: key, State: SendPending, Holder: "child", At: time.Now()}
				if _, won, err := b.BeginSend(ctx, "conv", key, rec, time.Hour); err != nil || !won {
					fmt.Fprintln(os.Stderr, "begin", key, won, err)
					os.Exit(1)
				}
				say("begin", key)
				rec.State, rec.MessageID = SendSent, "m-"+key
				if i%2 == 0 {
					if err := b.MarkSent(ctx, "conv", key, rec, time.Hour); err != nil {
						os.Exit(1)
					}
					continue
				}
				if err := b.PutSend(ctx, "conv", key, rec, time.Hour); err != nil {
					fmt.Fprintln(os.Stderr, "put", key, err)
					os.Exit(1)
				}
				say("put", key)
			}
		})
	}
	wg.Wait()
	return 0
}

// killedSendChild runs the child on path until it has acknowledged n
// writes, kills it, and returns what it acknowledged: each key's state.
func killedSendChild(t *testing.T, path, round string, n int) map[string]string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), sendChildEnv+"="+path, sendChildRound+"="+round)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[string]string{}
	lines := bufio.NewScanner(stdout)
	// A key's "begin" comes before its "put".
	ack := func() {
		what, key, _ := strings.Cut(lines.Text(), " ")
		if what == "put" {
			acked[key] = SendSent
		} else {
			acked[key] = SendPending
		}
	}
	for seen := 0; seen < n && lines.Scan(); seen++ {
		ack()
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	// What it said before the kill landed is acknowledged too.
	for lines.Scan() {
		ack()
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("the child ended before it was killed")
	}
	if len(acked) == 0 {
		t.Fatal("the child acknowledged nothing")
	}
	return acked
}
