package mapping

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// memIndex is an index of queues by a time, per shard, held in memory: the
// embedded store's outbox indexes by due time and by age. Both follow from
// the queues' heads, so they are rebuilt when the file is opened (only one
// process opens it) and need not be written: enqueuing into an empty queue
// and removing a head then write no index pages, which were about half of
// the pages an outbox item dirtied in every group commit.
//
// Changes made inside a write transaction are staged and become visible
// when it commits (bolt's OnCommit); a transaction that rolls back leaves
// nothing. Only the group writer's goroutine writes, one transaction at a
// time, so the stage needs no lock of its own; readers see what committed.
type memIndex struct {
	mu     sync.RWMutex
	at     map[string]int64 // queue → its time (unix ns)
	shards [Shards][]memEntry

	stage map[string]staged // the open write transaction's changes
}

type memEntry struct {
	at    int64
	queue string
}

type staged struct {
	at      int64
	deleted bool
}

func newMemIndex() *memIndex {
	return &memIndex{at: map[string]int64{}, stage: map[string]staged{}}
}

func compareEntries(a, b memEntry) int {
	if c := cmp.Compare(a.at, b.at); c != 0 {
		return c
	}
	return cmp.Compare(a.queue, b.queue)
}

// begin starts staging for a new write transaction.
func (m *memIndex) begin() { clear(m.stage) }

func (m *memIndex) commit() {
	if len(m.stage) == 0 {
		return
	}
	m.mu.Lock()
	for q, s := range m.stage {
		if s.deleted {
			m.remove(q)
		} else {
			m.put(q, s.at)
		}
	}
	m.mu.Unlock()
	clear(m.stage)
}

// get is a queue's time as the open transaction sees it.
func (m *memIndex) get(queue string) (int64, bool) {
	if s, ok := m.stage[queue]; ok {
		return s.at, !s.deleted
	}
	m.mu.RLock()
	at, ok := m.at[queue]
	m.mu.RUnlock()
	return at, ok
}

// set gives queue the time at, in the open transaction.
func (m *memIndex) set(queue string, at time.Time) {
	m.stage[queue] = staged{at: max(at.UnixNano(), 0)}
}

// keepEarlier sets at unless queue has an earlier time already.
func (m *memIndex) keepEarlier(queue string, at time.Time) {
	if old, ok := m.get(queue); ok && old <= at.UnixNano() {
		return
	}
	m.set(queue, at)
}

// del takes queue out of the index, in the open transaction.
func (m *memIndex) del(queue string) {
	m.stage[queue] = staged{deleted: true}
}

// load sets a committed time directly: for the rebuild, before any write.
func (m *memIndex) load(queue string, at time.Time) {
	m.mu.Lock()
	m.put(queue, max(at.UnixNano(), 0))
	m.mu.Unlock()
}

func (m *memIndex) put(queue string, at int64) {
	m.remove(queue)
	s := &m.shards[ShardOf(queue)]
	e := memEntry{at: at, queue: queue}
	i, _ := slices.BinarySearchFunc(*s, e, compareEntries)
	*s = slices.Insert(*s, i, e)
	m.at[queue] = at
}

func (m *memIndex) remove(queue string) {
	at, ok := m.at[queue]
	if !ok {
		return
	}
	s := &m.shards[ShardOf(queue)]
	if i, found := slices.BinarySearchFunc(*s, memEntry{at: at, queue: queue}, compareEntries); found {
		*s = slices.Delete(*s, i, i+1)
	}
	delete(m.at, queue)
}

// scan returns up to limit queues of shard whose time is at or before
// now, earliest first, as committed.
func (m *memIndex) scan(shard int, now time.Time, limit int) []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []string
	for _, e := range m.shards[shard] {
		if len(out) == limit || e.at > now.UnixNano() {
			break
		}
		out = append(out, e.queue)
	}
	return out
}

// earliest is the shard's earliest time, as committed.
func (m *memIndex) earliest(shard int) (time.Time, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if s := m.shards[shard]; len(s) > 0 {
		return time.Unix(0, s[0].at), true
	}
	return time.Time{}, false
}
