package auth

import "sync"

// tokenCache holds verified tokens by their own bytes, so that a request's
// token is found as its header holds it: no copy of it, no hash of it
// (a map indexed with string(b) neither copies nor allocates). Only tokens
// that verified are added, so its keys are the proxy's own signed tokens;
// when full, an arbitrary entry makes room (Go's map order is random).
type tokenCache struct {
	mu   sync.RWMutex
	size int
	m    map[string]cached
}

func newTokenCache(size int) *tokenCache {
	return &tokenCache{size: size, m: make(map[string]cached)}
}

func (c *tokenCache) get(tok []byte) (cached, bool) {
	c.mu.RLock()
	v, ok := c.m[string(tok)]
	c.mu.RUnlock()
	return v, ok
}

func (c *tokenCache) add(tok []byte, v cached) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[string(tok)]; !ok && len(c.m) >= c.size {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[string(tok)] = v
}

func (c *tokenCache) remove(tok []byte) {
	c.mu.Lock()
	delete(c.m, string(tok))
	c.mu.Unlock()
}

func (c *tokenCache) purge() {
	c.mu.Lock()
	clear(c.m)
	c.mu.Unlock()
}

func (c *tokenCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
