package mapping

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// maxGroup bounds how many writes share one bbolt transaction.
const maxGroup = 512

// linger is how long a commit under load waits for more writes, and
// lingerAfter how many writes the previous commit must have had for it to.
// In bench/webhooks.sh the linger made 22-34% fewer commits and took 6-33%
// more events/s (three paired runs: 7,111 -> 8,730 on average). At 4
// rather than 8 it also takes hold at half the harness's SEND peak (6,149
// a second, 5 writes a commit): half the commits, the proxy 5-13 points of
// a core lighter, and its p99 4.6-8.7 ms instead of 12.3-13.5 (fewer
// fsyncs met the disk's stalls), for 0.15-0.25 ms more at p50; at 2,000 a
// second (1.2 writes a commit) it rarely lingers, where 2 would have added
// 1.1 ms to p50.
const (
	linger      = 300 * time.Microsecond
	lingerAfter = 4
)

// errClosed is what writes get once the store is closed.
var errClosed = errors.New("mapping: store closed")

// groupWriter is a commit loop, the bbolt file's (boltCommitter) or the
// send log's (sendLog.commit): writes that arrive while a batch is being
// committed wait for it and then share the next one, so that concurrent
// writers share fsyncs. A lone write is committed at once, and a batch
// grows as long as the previous commit takes. Only when the previous
// commit was shared by many (the loop is under load) does the next one
// wait up to linger for more company: a commit's fsyncs cost the same for
// 20 writes as for 30, and the writers queued behind it wait anyway.
//
// On bbolt a write function runs inside the shared transaction. It returns
// a "refusal" (ErrConflict, ErrNotFound, ErrNotOwner, ErrDuplicate,
// errSeen) only before it has written anything, so that the others' writes
// commit; any other error aborts the transaction, and each write of the
// batch is then retried in a transaction of its own, so that one failing
// write fails alone.
type groupWriter struct {
	reqs chan *writeReq
	stop chan struct{}
	done chan struct{}
	once sync.Once
	// commit makes a batch durable and sets each write's outcome; the
	// loop answers them after it.
	commit func(batch []*writeReq)
	free   sync.Pool // answered writeReqs, with their channels
}

// boltCommitter commits a batch in one bbolt transaction.
type boltCommitter struct {
	db      *bolt.DB
	observe func(writes int, took time.Duration)
	// begin is told of every write transaction before its first write.
	begin func(*bolt.Tx)
}

// writeReq is one write on its way through the loop. Requests are pooled,
// with their channel and their send record's buffers.
type writeReq struct {
	fn func(*bolt.Tx) error
	// send, when fn is nil, is a send record's write (the send log's
	// writer takes only those), carried here so that the writes made on
	// every SEND allocate nothing of their own.
	send sendOp
	err  error
	// done gets one value once the write is answered; a posted write is
	// answered to nobody, and goes back to the pool.
	done   chan struct{}
	posted bool
}

// newBoltWriter starts the commit loop of db's writes.
func newBoltWriter(db *bolt.DB, observe func(int, time.Duration), begin func(*bolt.Tx)) *groupWriter {
	if begin == nil {
		begin = func(*bolt.Tx) {}
	}
	c := &boltCommitter{db: db, observe: orNoObserver(observe), begin: begin}
	return newGroupWriter(c.commit)
}

// newGroupWriter starts a commit loop whose batches commit calls.
func newGroupWriter(commit func([]*writeReq)) *groupWriter {
	w := &groupWriter{reqs: make(chan *writeReq, maxGroup), stop: make(chan struct{}), done: make(chan struct{}), commit: commit}
	go w.run()
	return w
}

func orNoObserver(observe func(int, time.Duration)) func(int, time.Duration) {
	if observe == nil {
		return func(int, time.Duration) {}
	}
	return observe
}

// refusal reports an error a write function returns without having
// written: the transaction goes on for the others.
func refusal(err error) bool {
	return errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrNotOwner) ||
		errors.Is(err, errSeen) || errors.Is(err, ErrDuplicate) || errors.Is(err, ErrFull)
}

// write runs fn in the next group transaction and returns its outcome once
// that committed. A write abandoned because ctx ended may still commit.
func (w *groupWriter) write(ctx context.Context, fn func(*bolt.Tx) error) error {
	r := w.get()
	r.fn = fn
	answered, err := w.queue(ctx, r)
	if answered {
		if outcome := w.put(r); err == nil {
			err = outcome
		}
	}
	return err
}

// get takes a request from the pool.
func (w *groupWriter) get() *writeReq {
	r, _ := w.free.Get().(*writeReq)
	if r == nil {
		r = &writeReq{done: make(chan struct{}, 1)}
	}
	return r
}

// put returns an answered (or never queued) request to the pool, and its
// outcome.
func (w *groupWriter) put(r *writeReq) error {
	err := r.err
	r.fn, r.err, r.posted = nil, nil, false
	r.send.reset()
	w.free.Put(r)
	return err
}

// queue hands r to the loop and waits for its answer. answered is false
// when the wait was given up (ctx ended, or the store closed under it): r
// then stays with the loop, which may still apply it.
func (w *groupWriter) queue(ctx context.Context, r *writeReq) (answered bool, err error) {
	if err := ctx.Err(); err != nil {
		return true, err
	}
	select {
	case w.reqs <- r:
	case <-w.stop:
		return true, fmt.Errorf("%w: %w", ErrUnavailable, errClosed)
	case <-ctx.Done():
		return true, ctx.Err()
	}
	select {
	case <-r.done:
		return true, nil
	case <-w.done:
		// The loop ended between our send and its last drain.
		select {
		case <-r.done:
			return true, nil
		default:
			return false, fmt.Errorf("%w: %w", ErrUnavailable, errClosed)
		}
	case <-ctx.Done():
		return false, fmt.Errorf("%w: commit not confirmed: %w", ErrUnavailable, ctx.Err())
	}
}

// post queues r for the next group transaction and returns without
// waiting for it (only for room in the queue): its outcome is not
// reported, and the loop returns r to the pool. Writes queued after it are
// applied after it, in the same transaction or a later one.
func (w *groupWriter) post(ctx context.Context, r *writeReq) error {
	r.posted = true
	select {
	case w.reqs <- r:
		return nil
	case <-w.stop:
		_ = w.put(r)
		return fmt.Errorf("%w: %w", ErrUnavailable, errClosed)
	case <-ctx.Done():
		_ = w.put(r)
		return ctx.Err()
	}
}

// answer tells a waiting writer its outcome; a posted request goes back to
// the pool.
func (w *groupWriter) answer(r *writeReq) {
	if r.posted {
		_ = w.put(r)
		return
	}
	r.done <- struct{}{}
}

func (w *groupWriter) run() {
	defer close(w.done)
	batch := make([]*writeReq, 0, maxGroup)
	wait := time.NewTimer(linger)
	wait.Stop()
	for {
		var first *writeReq
		select {
		case first = <-w.reqs:
		case <-w.stop:
			// Writes queued before Close still get their answer.
			for {
				select {
				case r := <-w.reqs:
					r.err = fmt.Errorf("%w: %w", ErrUnavailable, errClosed)
					w.answer(r)
				default:
					return
				}
			}
		}
		busy := len(batch) >= lingerAfter
		batch = append(batch[:0], first)
		if busy {
			wait.Reset(linger)
		}
	fill:
		for len(batch) < maxGroup {
			if busy {
				select {
				case r := <-w.reqs:
					batch = append(batch, r)
				case <-wait.C:
					busy = false
					break fill
				}
				continue
			}
			select {
			case r := <-w.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		if busy {
			wait.Stop()
		}
		w.commit(batch)
		for _, r := range batch {
			w.answer(r)
		}
	}
}

func (c *boltCommitter) commit(batch []*writeReq) {
	start := time.Now()
	err := c.db.Update(func(tx *bolt.Tx) error {
		c.begin(tx)
		for _, r := range batch {
			r.err = r.fn(tx)
			if r.err != nil && !refusal(r.err) {
				return r.err
			}
		}
		return nil
	})
	if err != nil {
		for _, r := range batch {
			r.err = c.db.Update(func(tx *bolt.Tx) error {
				c.begin(tx)
				return r.fn(tx)
			})
		}
	}
	c.observe(len(batch), time.Since(start))
	for _, r := range batch {
		if r.err != nil && !refusal(r.err) {
			r.err = storeErr(r.err)
		}
	}
}

// close stops the loop once the writes under way are answered.
func (w *groupWriter) close() {
	w.once.Do(func() { close(w.stop) })
	<-w.done
}
