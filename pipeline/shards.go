package pipeline

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/connector-proxy/connector-proxy/mapping"
)

// storeTimeout bounds the store calls the pipeline makes on its own.
const storeTimeout = 5 * time.Second

// shards keeps this replica's share of the shard leases: every third of the
// TTL it says it is alive (Leases.Replicas), renews what it holds, gives
// back what is over its share (so that a replica that joins gets work) and
// takes free shards up to it (so that a dead replica's shards are taken
// over once their leases run out).
type shards struct {
	p    *Pipeline
	mu   sync.Mutex
	held [mapping.Shards]bool
	n    int
}

func newShards(p *Pipeline) *shards { return &shards{p: p} }

// holds reports whether this replica holds shard.
func (s *shards) holds(shard int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held[shard]
}

// owned lists the shards this replica holds.
func (s *shards) owned() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]int, 0, s.n)
	for i, h := range s.held {
		if h {
			out = append(out, i)
		}
	}
	return out
}

func (s *shards) set(shard int, held bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held[shard] != held {
		s.held[shard] = held
		if held {
			s.n++
		} else {
			s.n--
		}
	}
	s.p.m.shards.Set(float64(s.n))
}

func (s *shards) run(ctx context.Context) {
	t := time.NewTicker(max(s.p.cfg.LeaseTTL/3, 10*time.Millisecond))
	defer t.Stop()
	for {
		if s.round(ctx) {
			s.p.apply.pokeAll()
			s.p.out.pokeAll()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// round renews, gives back and takes leases; it reports whether it took
// any (their work is then swept at once).
func (s *shards) round(ctx context.Context) bool {
	p := s.p
	rctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	ttl := p.cfg.LeaseTTL
	alive, err := p.store.Replicas(rctx, p.cfg.Holder, ttl)
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			p.log.Warn("pipeline: replica heartbeat", "err", err)
		}
		return false
	}
	share := (mapping.Shards + max(alive, 1) - 1) / max(alive, 1)
	mine := s.owned()
	for _, shard := range mine {
		ok, err := p.store.Lease(rctx, shard, p.cfg.Holder, ttl)
		if err != nil {
			return false // cannot tell; the fence keeps commits safe meanwhile
		}
		if !ok {
			p.log.Warn("pipeline: shard lease lost", "shard", shard)
			s.set(shard, false)
		}
	}
	mine = s.owned()
	for i := len(mine) - 1; i >= share; i-- {
		if err := p.store.Release(rctx, mine[i], p.cfg.Holder); err == nil {
			s.set(mine[i], false)
			p.log.Debug("pipeline: shard given back", "shard", mine[i], "share", share)
		}
	}
	took := false
	// Start where this replica's name says, so that replicas starting
	// together do not all ask for the same shards first.
	start := mapping.ShardOf(p.cfg.Holder)
	for i := 0; i < mapping.Shards && len(s.owned()) < share; i++ {
		shard := (start + i) % mapping.Shards
		if s.holds(shard) {
			continue
		}
		ok, err := p.store.Lease(rctx, shard, p.cfg.Holder, ttl)
		if err != nil {
			return took
		}
		if ok {
			s.set(shard, true)
			took = true
			p.log.Debug("pipeline: shard taken", "shard", shard)
		}
	}
	return took
}

// releaseAll gives every lease back, so that the other replicas take the
// shards over at once instead of after the TTL.
func (s *shards) releaseAll() {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	for _, shard := range s.owned() {
		if err := s.p.store.Release(ctx, shard, s.p.cfg.Holder); err != nil {
			s.p.log.Warn("pipeline: release shard", "shard", shard, "err", err)
		}
		s.set(shard, false)
	}
}
