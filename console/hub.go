package console

import "sync"

// hub fans frames out to subscribers without ever waiting for one: each
// has a bounded buffer, and one whose buffer is full is dropped. The last
// frames are kept so that a page that reconnects gets what it missed.
type hub struct {
	m *Metrics

	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	max    int
	buf    int
	seq    uint64
	ring   []frame // the last len(ring) frames; frame seq s is at ring[s%len]
	closed bool
}

type frame struct {
	seq uint64
	b   []byte
}

// subscriber is one page's stream. gone is closed when the hub lets it go
// (dropped, unsubscribed or closed); ch is never closed, so a late publish
// cannot panic.
type subscriber struct {
	ch   chan []byte
	gone chan struct{}
}

func newHub(maxSubs, buf, replay int, m *Metrics) *hub {
	return &hub{m: m, subs: map[*subscriber]struct{}{}, max: maxSubs, buf: buf, ring: make([]frame, replay)}
}

// subscribe adds a subscriber; with replay, the kept frames after seq after
// are queued first (as many as its buffer holds, oldest first).
func (h *hub) subscribe(after uint64, replay bool) (*subscriber, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, errHubClosed
	}
	if len(h.subs) >= h.max {
		return nil, errHubFull
	}
	s := &subscriber{ch: make(chan []byte, h.buf), gone: make(chan struct{})}
	if replay {
		first := after + 1
		if n := uint64(len(h.ring)); h.seq >= n && first <= h.seq-n {
			first = h.seq - n + 1 // older ones are gone
		}
		for seq := first; seq <= h.seq && len(s.ch) < cap(s.ch); seq++ {
			if f := h.ring[seq%uint64(len(h.ring))]; f.seq == seq {
				s.ch <- f.b
			}
		}
	}
	h.subs[s] = struct{}{}
	h.m.subscribers.Inc()
	return s, nil
}

// unsubscribe lets s go; it is a no-op for one already gone.
func (h *hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.removeLocked(s)
}

func (h *hub) removeLocked(s *subscriber) {
	if _, ok := h.subs[s]; !ok {
		return
	}
	delete(h.subs, s)
	close(s.gone)
	h.m.subscribers.Dec()
}

// publish numbers a frame, keeps it and offers it to every subscriber.
func (h *hub) publish(build func(seq uint64) []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.seq++
	f := frame{seq: h.seq, b: build(h.seq)}
	h.ring[f.seq%uint64(len(h.ring))] = f
	for s := range h.subs {
		select {
		case s.ch <- f.b:
		default:
			h.removeLocked(s)
			h.m.dropped.Inc()
		}
	}
}

// close lets every subscriber go and refuses new ones.
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		h.removeLocked(s)
	}
}
