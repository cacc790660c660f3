package mapping

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/connector-proxy/connector-proxy/internal/redistest"
)

// incrScript adds ARGV[1] to KEYS[1] and answers the key's new value and
// the caller's tag (ARGV[2]): a script whose every run shows.
var incrScript = redis.NewScript(`return {redis.call('INCRBY', KEYS[1], ARGV[1]), ARGV[2]}`)

func TestScriptBatchAnswersEachCallerItsOwnRunOnce(t *testing.T) {
	for _, tc := range []struct {
		name  string
		url   func(t *testing.T) string
		flush func(t *testing.T, c redis.UniversalClient) // before the calls
	}{
		{"one server", func(t *testing.T) string { return redistest.Start(t).URL }, nil},
		{"one server that forgot the script", func(t *testing.T) string { return redistest.Start(t).URL },
			func(t *testing.T, c redis.UniversalClient) {
				if err := incrScript.Load(context.Background(), c).Err(); err != nil {
					t.Fatal(err)
				}
				if err := c.ScriptFlush(context.Background()).Err(); err != nil {
					t.Fatal(err)
				}
			}},
		{"cluster", func(t *testing.T) string { return redistest.StartCluster(t).URL }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cluster := tc.name == "cluster"
			c, err := NewRedisClient(tc.url(t), cluster, 2*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			if tc.flush != nil {
				tc.flush(t, c)
			}
			b := &scriptBatch{c: c, timeout: 2 * time.Second}
			const callers, keys = 64, 8 // keys in different slots of a cluster
			var wg sync.WaitGroup
			errs := make(chan error, callers)
			for i := range callers {
				wg.Go(func() {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					defer cancel()
					tag := fmt.Sprint("caller-", i)
					res, err := incrScript.Run(ctx, b, []string{fmt.Sprintf("{k%d}n", i%keys)}, 1, tag).Slice()
					switch {
					case err != nil:
						errs <- fmt.Errorf("%s: %w", tag, err)
					case len(res) != 2 || res[1] != tag:
						errs <- fmt.Errorf("%s got %v", tag, res)
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			for k := range keys {
				n, err := c.Get(context.Background(), fmt.Sprintf("{k%d}n", k)).Int()
				if err != nil || n != callers/keys {
					t.Errorf("key %d is %d (%v), want %d: each call runs once", k, n, err, callers/keys)
				}
			}
		})
	}
}

func TestScriptBatchCallerWhoseContextEndsGetsItsError(t *testing.T) {
	srv := redistest.Start(t)
	c, err := NewRedisClient(srv.URL, false, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	b := &scriptBatch{c: c, timeout: 2 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := incrScript.Run(ctx, b, []string{"n"}, 1, "late").Err(); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	// The batch still serves the next caller.
	if res, err := incrScript.Run(context.Background(), b, []string{"n"}, 1, "next").Slice(); err != nil || len(res) != 2 || res[1] != "next" {
		t.Fatalf("next caller: %v %v", res, err)
	}
}
