package mapping

import (
	"slices"
	"sync"
)

// queueIndex is the embedded outbox's queues, held in memory: for each
// queue, the sequences of its pending items, oldest first. The items
// themselves are keyed by their sequence alone, which is global, so that
// the items a group commit enqueues land on the last page of the bucket
// and the ones it removes near the first, instead of on a page of each
// queue's own. Like memIndex it follows from what is stored, so it is
// rebuilt when the file is opened, and a write transaction's changes are
// staged and become visible when it commits.
//
// Only the group writer's goroutine changes it (stage and commit), so it
// reads the committed queues without the lock; readers take it.
type queueIndex struct {
	mu    sync.RWMutex
	seqs  map[string][]uint64
	depth int

	stage map[string]*queueStage
}

// queueStage is what the open write transaction did to one queue.
type queueStage struct {
	removed []uint64
	added   []uint64
}

func newQueueIndex() *queueIndex {
	return &queueIndex{seqs: map[string][]uint64{}, stage: map[string]*queueStage{}}
}

// begin starts staging for a new write transaction.
func (q *queueIndex) begin() { clear(q.stage) }

func (q *queueIndex) staged(queue string) *queueStage {
	s := q.stage[queue]
	if s == nil {
		s = &queueStage{}
		q.stage[queue] = s
	}
	return s
}

// add appends seq to queue in the open transaction.
func (q *queueIndex) add(queue string, seq uint64) {
	s := q.staged(queue)
	s.added = append(s.added, seq)
}

// remove takes seq out of queue in the open transaction.
func (q *queueIndex) remove(queue string, seq uint64) {
	s := q.staged(queue)
	if i := slices.Index(s.added, seq); i >= 0 {
		s.added = slices.Delete(s.added, i, i+1)
		return
	}
	s.removed = append(s.removed, seq)
}

// head is a queue's first pending item as the open transaction sees it.
func (q *queueIndex) head(queue string) (uint64, bool) {
	s := q.stage[queue]
	for _, seq := range q.seqs[queue] {
		if s == nil || !slices.Contains(s.removed, seq) {
			return seq, true
		}
	}
	if s != nil && len(s.added) > 0 {
		return s.added[0], true
	}
	return 0, false
}

// has reports whether seq is pending in queue, as the open transaction
// sees it.
func (q *queueIndex) has(queue string, seq uint64) bool {
	s := q.stage[queue]
	if s != nil && slices.Contains(s.added, seq) {
		return true
	}
	if _, found := slices.BinarySearch(q.seqs[queue], seq); !found {
		return false
	}
	return s == nil || !slices.Contains(s.removed, seq)
}

func (q *queueIndex) commit() {
	if len(q.stage) == 0 {
		return
	}
	q.mu.Lock()
	for queue, s := range q.stage {
		seqs := q.seqs[queue]
		for _, r := range s.removed {
			// Deliveries remove heads: the common case costs nothing.
			if len(seqs) > 0 && seqs[0] == r {
				seqs = seqs[1:]
			} else if i, found := slices.BinarySearch(seqs, r); found {
				seqs = slices.Delete(slices.Clone(seqs), i, i+1)
			} else {
				continue
			}
			q.depth--
		}
		seqs = append(seqs, s.added...)
		q.depth += len(s.added)
		if len(seqs) == 0 {
			delete(q.seqs, queue)
		} else {
			q.seqs[queue] = seqs
		}
	}
	q.mu.Unlock()
	clear(q.stage)
}

// load adds a stored item when the file is opened; items come in sequence
// order.
func (q *queueIndex) load(queue string, seq uint64) {
	q.seqs[queue] = append(q.seqs[queue], seq)
	q.depth++
}

// pending is the number of pending items, as committed.
func (q *queueIndex) pending() int {
	q.mu.RLock()
	defer q.mu.RUnlock()
	return q.depth
}

// firstOf is a queue's committed head.
func (q *queueIndex) firstOf(queue string) (uint64, bool) {
	q.mu.RLock()
	defer q.mu.RUnlock()
	if s := q.seqs[queue]; len(s) > 0 {
		return s[0], true
	}
	return 0, false
}

// after returns up to n committed items from (queue, seq) on, in the
// order queue then sequence: from seq onward within queue, then the
// queues after it; every queue when queue is "", only queue when only.
func (q *queueIndex) after(queue string, seq uint64, only bool, n int) []queueSeq {
	q.mu.RLock()
	defer q.mu.RUnlock()
	var names []string
	if only {
		names = []string{queue}
	} else {
		for name := range q.seqs {
			if name >= queue {
				names = append(names, name)
			}
		}
		slices.Sort(names)
	}
	var out []queueSeq
	for _, name := range names {
		seqs := q.seqs[name]
		i := 0
		if name == queue {
			i, _ = slices.BinarySearch(seqs, seq)
		}
		for ; i < len(seqs) && len(out) < n; i++ {
			out = append(out, queueSeq{name, seqs[i]})
		}
		if len(out) == n {
			break
		}
	}
	return out
}

type queueSeq struct {
	queue string
	seq   uint64
}
