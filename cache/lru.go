package cache

import (
	"math"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// LRU is a least-recently-used cache of rendered responses bounded by the
// total size of its values rather than by their number: one changeset can
// be a few hundred bytes or several megabytes. It is safe for concurrent
// use.
type LRU[K comparable, V any] struct {
	size func(V) int64

	mu       sync.Mutex
	lru      *simplelru.LRU[K, V]
	used     int64
	maxBytes int64

	hits, misses atomic.Uint64
}

// LRUStats are an LRU's counters.
type LRUStats struct {
	Hits, Misses uint64
	Entries      int
	Bytes        int64
	MaxBytes     int64
}

// HitRate is the share of lookups that found a value, 0 before any.
func (s LRUStats) HitRate() float64 {
	if s.Hits+s.Misses == 0 {
		return 0
	}
	return float64(s.Hits) / float64(s.Hits+s.Misses)
}

// NewLRU returns an LRU holding at most maxBytes, the sum of size(v) over
// its values.
func NewLRU[K comparable, V any](maxBytes int64, size func(V) int64) *LRU[K, V] {
	c := &LRU[K, V]{size: size, maxBytes: maxBytes}
	// The count bound of simplelru is not ours: the byte bound evicts.
	c.lru, _ = simplelru.NewLRU(math.MaxInt, func(_ K, v V) { c.used -= c.size(v) })
	return c
}

// Get returns the value stored under key and marks it recently used.
func (c *LRU[K, V]) Get(key K) (V, bool) {
	c.mu.Lock()
	v, ok := c.lru.Get(key)
	c.mu.Unlock()
	if ok {
		c.hits.Add(1)
	} else {
		c.misses.Add(1)
	}
	return v, ok
}

// Peek returns the value stored under key without counting a lookup or
// marking it used.
func (c *LRU[K, V]) Peek(key K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Peek(key)
}

// Add stores value under key, evicting the least recently used values
// until the total fits. A value larger than the whole cache is not kept.
func (c *LRU[K, V]) Add(key K, value V) {
	n := c.size(value)
	c.mu.Lock()
	defer c.mu.Unlock()
	if n > c.maxBytes {
		c.lru.Remove(key)
		return
	}
	if old, ok := c.lru.Peek(key); ok {
		// simplelru replaces without calling the eviction callback.
		c.used -= c.size(old)
	}
	c.lru.Add(key, value)
	c.used += n
	c.shrink()
}

// SetMaxBytes changes the bound, evicting at once if needed.
func (c *LRU[K, V]) SetMaxBytes(maxBytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.maxBytes = maxBytes
	c.shrink()
}

// shrink evicts until the values fit; c.mu is held.
func (c *LRU[K, V]) shrink() {
	for c.used > c.maxBytes {
		if _, _, ok := c.lru.RemoveOldest(); !ok {
			return
		}
	}
}

// Stats returns the counters and the current occupation.
func (c *LRU[K, V]) Stats() LRUStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return LRUStats{
		Hits:     c.hits.Load(),
		Misses:   c.misses.Load(),
		Entries:  c.lru.Len(),
		Bytes:    c.used,
		MaxBytes: c.maxBytes,
	}
}
