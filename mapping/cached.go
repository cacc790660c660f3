package mapping

import (
	"context"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// CacheMetrics counts lookups that the LRU answered and those that fell
// through to the store.
type CacheMetrics struct {
	lookups *prometheus.CounterVec
}

// NewCacheMetrics registers the cache's counters with reg.
func NewCacheMetrics(reg prometheus.Registerer) *CacheMetrics {
	m := &CacheMetrics{lookups: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "connector_proxy_registry_cache_lookups_total",
		Help: "Registry lookups by record kind and whether the LRU cache answered (hit) or the store did (miss).",
	}, []string{"kind", "result"})}
	reg.MustRegister(m.lookups)
	return m
}

func (m *CacheMetrics) observe(kind string, hit bool) {
	if m == nil {
		return
	}
	result := "miss"
	if hit {
		result = "hit"
	}
	m.lookups.WithLabelValues(kind, result).Inc()
}

// Cached is a Store with an LRU in front of session and conversation
// lookups. Writes go to the store first and then to the cache, so a failed
// write never leaves the cache ahead of the truth; lookups that miss (or
// find nothing) always ask the store, and store errors are returned as such.
//
// Every replica has its own cache, so with a shared store the conversation
// cache could hold a state that another replica changed; NewCached with
// shared=true answers conversation lookups from the store, and from the
// cache only what never changes after it is written (a dialog's
// conversation id), sessions, and conversations for a change that a
// compare-and-set guards (ConversationToChange). A cached session
// that another replica has since ended or replaced is not trusted blindly:
// AXP answers for an ended session as gone, and the faces then make a new
// one and write it (see the faces' session lookups).
type Cached struct {
	Store
	sessions *lru.Cache[string, SessionRef]
	convs    *lru.Cache[string, *Conversation]
	dialogs  *lru.Cache[string, string]
	shared   bool
	metrics  *CacheMetrics
}

var _ Store = (*Cached)(nil)

// NewCached wraps store with LRU caches of size entries each (size ≤ 0 means
// 10,000). metrics may be nil.
func NewCached(store Store, size int, shared bool, metrics *CacheMetrics) *Cached {
	if size <= 0 {
		size = 10_000
	}
	// lru.New fails only for a size ≤ 0.
	sessions, _ := lru.New[string, SessionRef](size)
	convs, _ := lru.New[string, *Conversation](size)
	dialogs, _ := lru.New[string, string](size)
	return &Cached{Store: store, sessions: sessions, convs: convs, dialogs: dialogs, shared: shared, metrics: metrics}
}

// clone copies a conversation so that callers never share the cached value.
func clone(c *Conversation) *Conversation { return c.Clone() }

// Session implements Registry.
func (c *Cached) Session(ctx context.Context, key ConsumerKey) (SessionRef, error) {
	k := key.String()
	if ref, ok := c.sessions.Get(k); ok {
		c.metrics.observe("session", true)
		return ref, nil
	}
	c.metrics.observe("session", false)
	ref, err := c.Store.Session(ctx, key)
	if err != nil {
		return ref, err
	}
	c.sessions.Add(k, ref)
	return ref, nil
}

// PutSession implements Registry.
func (c *Cached) PutSession(ctx context.Context, key ConsumerKey, ref SessionRef) error {
	if err := c.Store.PutSession(ctx, key, ref); err != nil {
		c.sessions.Remove(key.String())
		return err
	}
	c.sessions.Add(key.String(), ref)
	return nil
}

// DeleteSession implements Registry.
func (c *Cached) DeleteSession(ctx context.Context, key ConsumerKey) error {
	c.sessions.Remove(key.String())
	return c.Store.DeleteSession(ctx, key)
}

// Commit implements Registry: the cache takes the committed version, or
// forgets the conversation when the commit failed (it may be stale).
func (c *Cached) Commit(ctx context.Context, ch *Change) error {
	err := c.Store.Commit(ctx, ch)
	if ch.Conv == nil {
		return err
	}
	if err != nil {
		c.convs.Remove(ch.Conv.ID)
		return err
	}
	if ch.Unchanged {
		return nil // what the cache holds is still the stored version
	}
	if ch.Conv.DialogID != "" {
		c.dialogs.Add(ch.Conv.DialogID, ch.Conv.ID)
	}
	// Shared, only ConversationToChange reads what is cached here.
	c.convs.Add(ch.Conv.ID, clone(ch.Conv))
	return nil
}

// Conversation implements Registry.
func (c *Cached) Conversation(ctx context.Context, id string) (*Conversation, error) {
	if !c.shared {
		if conv, ok := c.convs.Get(id); ok {
			c.metrics.observe("conversation", true)
			return clone(conv), nil
		}
		c.metrics.observe("conversation", false)
	}
	conv, err := c.Store.Conversation(ctx, id)
	if err != nil {
		return nil, err
	}
	if !c.shared {
		// Under the record's own string: the caller's may share its
		// memory with more (a SEND's id and its text are one allocation).
		c.convs.Add(conv.ID, clone(conv))
	}
	return conv, nil
}

// ConversationView is Conversation without the copy, for a caller that
// only reads the conversation: the one the cache holds, shared. It must not
// be changed, its Attrs included; the cache never changes what it holds
// (a commit replaces it). Without a cached copy it is what the store read.
func (c *Cached) ConversationView(ctx context.Context, id string) (*Conversation, error) {
	if !c.shared {
		if conv, ok := c.convs.Get(id); ok {
			c.metrics.observe("conversation", true)
			return conv, nil
		}
	}
	return c.Conversation(ctx, id)
}

// ConversationToChange is ConversationView for a caller that commits a
// change made from the conversation, with Conv (or Unchanged) set: the
// compare-and-set refuses a change made from an older version, and the
// cache then forgets it. So even with a shared store it answers from the
// cache, which holds what this replica last read or committed; the copy
// must not be changed.
func (c *Cached) ConversationToChange(ctx context.Context, id string) (*Conversation, error) {
	if conv, ok := c.convs.Get(id); ok {
		c.metrics.observe("conversation", true)
		return conv, nil
	}
	c.metrics.observe("conversation", false)
	conv, err := c.Store.Conversation(ctx, id)
	if err != nil {
		return nil, err
	}
	c.convs.Add(conv.ID, clone(conv)) // the record's string, as in Conversation
	return conv, nil
}

// ConversationByDialog implements Registry.
func (c *Cached) ConversationByDialog(ctx context.Context, dialogID string) (*Conversation, error) {
	if id, ok := c.dialogs.Get(dialogID); ok {
		c.metrics.observe("dialog", true)
		return c.Conversation(ctx, id)
	}
	c.metrics.observe("dialog", false)
	conv, err := c.Store.ConversationByDialog(ctx, dialogID)
	if err != nil {
		return nil, err
	}
	c.dialogs.Add(dialogID, conv.ID)
	if !c.shared {
		c.convs.Add(conv.ID, clone(conv))
	}
	return conv, nil
}
