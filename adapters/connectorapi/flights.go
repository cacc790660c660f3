package connectorapi

import (
	"context"
	"sync"
)

// sendFlights are this process's SENDs under way, by idempotency key. A
// connector that sends a request again before the first attempt answered
// (its own retry, or the same request id and body from two workers) gets
// the first attempt's answer by waiting for it here, instead of looking
// for the message at AXP (which is what a request meeting the send record
// of another process, or of one that died, does). A SEND alone costs no
// allocation here: a flight's channel is made only when someone waits.
type sendFlights struct {
	mu sync.Mutex
	m  map[string]*sendFlight // nil value: under way, nobody waits
}

type sendFlight struct {
	done chan struct{}
	out  flightOutcome // set before done is closed
}

// flightOutcome is what a first attempt tells those that waited: the
// sequence it answered, ok, or that it did not answer one (it failed, or
// its outcome is unknown), and they go the store's way.
type flightOutcome struct {
	seq int
	ok  bool
}

// join reports whether the caller's SEND is the first under key (it then
// calls leave when done), else returns the flight to wait for.
func (s *sendFlights) join(key string) (*sendFlight, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fl, ok := s.m[key]
	if !ok {
		if s.m == nil {
			s.m = make(map[string]*sendFlight)
		}
		s.m[key] = nil
		return nil, true
	}
	if fl == nil {
		fl = &sendFlight{done: make(chan struct{})}
		s.m[key] = fl
	}
	return fl, false
}

// leave ends the first attempt under key, telling its waiters out.
func (s *sendFlights) leave(key string, out flightOutcome) {
	s.mu.Lock()
	fl := s.m[key]
	delete(s.m, key)
	s.mu.Unlock()
	if fl != nil {
		fl.out = out
		close(fl.done)
	}
}

// wait returns the first attempt's outcome; err when ctx ended first.
func (fl *sendFlight) wait(ctx context.Context) (int, bool, error) {
	select {
	case <-fl.done:
		return fl.out.seq, fl.out.ok, nil
	case <-ctx.Done():
		return 0, false, unconfirmed("the message", ctx.Err())
	}
}
