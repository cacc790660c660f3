package mapping

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// scriptBatch sends the scripts that concurrent callers run (a commit per
// event, a removal per delivery) to Redis together, in pipelines: Redis
// pipelining is the group commit of a store with no fsync, and it saves
// what a round trip of its own costs each call (a write and a read on
// both sides). A pipeline is sent as soon as the previous one of its slot
// is answered: no call waits for company.
//
// A script in a pipeline runs once or not at all, as on its own; one that
// Redis does not know (NOSCRIPT: it did not run) is run again with EVAL.
// A caller whose context ends first gets its context's error, and the
// script's outcome is unknown to it, as with a call of its own that timed
// out.
type scriptBatch struct {
	c       redis.UniversalClient
	timeout time.Duration

	mu      sync.Mutex
	queue   []*scriptCall
	running int // pipelines in flight
}

// Pipelines in flight at once (each on a pooled connection), and calls in
// one: more of either hardly helps a single Redis, which runs scripts one
// at a time.
const (
	batchPipelines = 4
	batchMaxCalls  = 128
)

type scriptCall struct {
	s    *redis.Script
	keys []string
	args []any
	cmd  *redis.Cmd
	done chan struct{}
}

// Run runs s as Script.Run would, in the next pipeline.
func (b *scriptBatch) Run(ctx context.Context, s *redis.Script, keys []string, args ...any) *redis.Cmd {
	if ctx.Err() != nil {
		return failed(ctx) // a caller that is gone runs nothing
	}
	call := &scriptCall{s: s, keys: keys, args: args, done: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, call)
	if b.running < batchPipelines {
		b.running++
		go b.drain()
	}
	b.mu.Unlock()
	select {
	case <-call.done:
		return call.cmd
	case <-ctx.Done():
		return failed(ctx)
	}
}

// failed is the answer to a caller whose context ended.
func failed(ctx context.Context) *redis.Cmd {
	cmd := redis.NewCmd(ctx)
	cmd.SetErr(context.Cause(ctx))
	return cmd
}

// drain sends what is queued until nothing is.
func (b *scriptBatch) drain() {
	for {
		b.mu.Lock()
		n := min(len(b.queue), batchMaxCalls)
		if n == 0 {
			b.running--
			b.mu.Unlock()
			return
		}
		batch := make([]*scriptCall, n)
		copy(batch, b.queue)
		b.queue = append(b.queue[:0], b.queue[n:]...)
		b.mu.Unlock()
		b.send(batch)
	}
}

// send runs batch in one pipeline and answers each call.
func (b *scriptBatch) send(batch []*scriptCall) {
	// The pipeline is bounded by the store's own timeout, not by any one
	// caller's context: it carries the others' calls too.
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
	defer cancel()
	p := b.c.Pipeline()
	for _, call := range batch {
		call.cmd = call.s.EvalSha(ctx, p, call.keys, call.args...)
	}
	_, _ = p.Exec(ctx) // each command carries its own error
	for _, call := range batch {
		if redis.HasErrorPrefix(call.cmd.Err(), "NOSCRIPT") {
			call.cmd = call.s.Eval(ctx, b.c, call.keys, call.args...)
		}
		close(call.done)
	}
}
