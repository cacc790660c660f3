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

// errClosed is what writes get once the store is closed.
var errClosed = errors.New("mapping: store closed")

// groupWriter is Bolt's commit loop: writes that arrive while a
// transaction is being committed wait for it and then share the next one,
// so that concurrent writers share fsyncs. There is no waiting for company:
// a lone write is committed at once, and a batch grows only as long as the
// previous commit takes, which also bounds the latency it adds.
//
// A write function runs inside the shared transaction. It returns a
// "refusal" (ErrConflict, ErrNotFound, ErrNotOwner, ErrDuplicate, errSeen) only before it
// has written anything, so that the others' writes commit; any other error
// aborts the transaction, and each write of the batch is then retried in a
// transaction of its own, so that one failing write fails alone.
type groupWriter struct {
	db      *bolt.DB
	reqs    chan *writeReq
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
	observe func(writes int, took time.Duration)
}

type writeReq struct {
	fn   func(*bolt.Tx) error
	err  error
	done chan struct{}
}

func newGroupWriter(db *bolt.DB, observe func(int, time.Duration)) *groupWriter {
	if observe == nil {
		observe = func(int, time.Duration) {}
	}
	w := &groupWriter{db: db, reqs: make(chan *writeReq, maxGroup), stop: make(chan struct{}), done: make(chan struct{}), observe: observe}
	go w.run()
	return w
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
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &writeReq{fn: fn, done: make(chan struct{})}
	select {
	case w.reqs <- r:
	case <-w.stop:
		return fmt.Errorf("%w: %w", ErrUnavailable, errClosed)
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-r.done:
		return r.err
	case <-w.done:
		// The loop ended between our send and its last drain.
		select {
		case <-r.done:
			return r.err
		default:
			return fmt.Errorf("%w: %w", ErrUnavailable, errClosed)
		}
	case <-ctx.Done():
		return fmt.Errorf("%w: commit not confirmed: %w", ErrUnavailable, ctx.Err())
	}
}

func (w *groupWriter) run() {
	defer close(w.done)
	batch := make([]*writeReq, 0, maxGroup)
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
					close(r.done)
				default:
					return
				}
			}
		}
		batch = append(batch[:0], first)
	fill:
		for len(batch) < maxGroup {
			select {
			case r := <-w.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		w.commit(batch)
	}
}

func (w *groupWriter) commit(batch []*writeReq) {
	start := time.Now()
	err := w.db.Update(func(tx *bolt.Tx) error {
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
			r.err = w.db.Update(r.fn)
		}
	}
	w.observe(len(batch), time.Since(start))
	for _, r := range batch {
		if r.err != nil && !refusal(r.err) {
			r.err = storeErr(r.err)
		}
		close(r.done)
	}
}

// close stops the loop once the writes under way are answered.
func (w *groupWriter) close() {
	w.once.Do(func() { close(w.stop) })
	<-w.done
}
