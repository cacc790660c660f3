package mapping

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// scriptBatch is a redis.Scripter that sends the scripts concurrent callers
// run (a receipt and a commit per event, a removal per delivery) to Redis
// together, in pipelines: Redis pipelining is the group commit of a store
// with no fsync, and it saves what a round trip of its own costs each call
// (a write and a read on both sides). A pipeline is sent as soon as one of
// the slots is free: no call waits for company.
//
// Scripts run through it as through the client (Script.Run, which sends
// EVAL when Redis answers NOSCRIPT); each runs once or not at all, atomic
// on its own. A call whose caller is gone before its pipeline is sent is
// not sent. A caller whose context ends while its call is under way gets
// its context's error, and the script's outcome is unknown to it, as with
// a call of its own that timed out.
type scriptBatch struct {
	c       redis.UniversalClient
	timeout time.Duration

	mu      sync.Mutex
	queue   []*scriptCall
	running int // pipelines in flight
}

var _ redis.Scripter = (*scriptBatch)(nil)

// Pipelines in flight at once (each on a pooled connection), and calls in
// one: more of either hardly helps a single Redis, which runs scripts one
// at a time.
const (
	batchPipelines = 4
	batchMaxCalls  = 128
)

// scriptCall is one EVALSHA (or EVAL, with the script's source) waiting
// for its pipeline.
type scriptCall struct {
	ctx    context.Context
	sha    bool
	script string // the SHA1 or the source
	keys   []string
	args   []any
	cmd    *redis.Cmd
	done   chan struct{}
}

// EvalSha implements redis.Scripter, in the next pipeline.
func (b *scriptBatch) EvalSha(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	return b.run(&scriptCall{ctx: ctx, sha: true, script: sha1, keys: keys, args: args})
}

// Eval implements redis.Scripter, in the next pipeline.
func (b *scriptBatch) Eval(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return b.run(&scriptCall{ctx: ctx, script: script, keys: keys, args: args})
}

// EvalRO implements redis.Scripter on the client: no script of the store
// is read-only.
func (b *scriptBatch) EvalRO(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return b.c.EvalRO(ctx, script, keys, args...)
}

// EvalShaRO implements redis.Scripter on the client.
func (b *scriptBatch) EvalShaRO(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	return b.c.EvalShaRO(ctx, sha1, keys, args...)
}

// ScriptExists implements redis.Scripter on the client.
func (b *scriptBatch) ScriptExists(ctx context.Context, hashes ...string) *redis.BoolSliceCmd {
	return b.c.ScriptExists(ctx, hashes...)
}

// ScriptLoad implements redis.Scripter on the client.
func (b *scriptBatch) ScriptLoad(ctx context.Context, script string) *redis.StringCmd {
	return b.c.ScriptLoad(ctx, script)
}

// run queues call, starts a pipeline if a slot is free, and waits for the
// answer or the caller's end.
func (b *scriptBatch) run(call *scriptCall) *redis.Cmd {
	if call.ctx.Err() != nil {
		return failed(call.ctx)
	}
	call.done = make(chan struct{})
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
	case <-call.ctx.Done():
		return failed(call.ctx)
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
		switch {
		case call.ctx.Err() != nil:
			call.cmd = failed(call.ctx) // its caller is gone: not sent
		case call.sha:
			call.cmd = p.EvalSha(ctx, call.script, call.keys, call.args...)
		default:
			call.cmd = p.Eval(ctx, call.script, call.keys, call.args...)
		}
	}
	_, _ = p.Exec(ctx) // each command carries its own error
	for _, call := range batch {
		close(call.done)
	}
}
