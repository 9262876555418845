package ratelimit

import (
	"context"
	"hash/maphash"
	"sync"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// Memory is the in-process store: an LRU of at most a fixed number of
// keys. An entry is the key's 64-bit hash (a long key costs no more memory
// than a short one; two clients whose keys collide, about one chance in
// 2^64/n² for n keys, would share a budget) mapped to a cell holding its
// theoretical arrival time, which a decision updates in place (no second
// LRU operation): about 200 bytes in all.
//
// One lock guards the LRU: a decision holds it for a few map and list
// operations, and it makes a request's limits atomic together.
//
// Eviction: when the LRU is full, its least recently used key goes. A key
// is only worth keeping for one window after its last request (its state
// then equals a fresh key's), so nothing is lost as long as fewer distinct
// keys than the capacity are seen within one window. Beyond that, an
// evicted key comes back with a full budget: each eviction of a client's
// key can give that client at most one extra burst of N events, and it
// takes capacity-many other keys, each used more recently, to evict it.
type Memory struct {
	clock Clock
	seed  maphash.Seed
	mu    sync.Mutex
	lru   *simplelru.LRU[uint64, *int64]
}

// NewMemory returns a memory store bounded to maxKeys keys (at least 1).
func NewMemory(maxKeys int, clock Clock) *Memory {
	// The size is positive, the only way NewLRU fails.
	lru, _ := simplelru.NewLRU[uint64, *int64](max(maxKeys, 1), nil)
	return &Memory{clock: clock, seed: maphash.MakeSeed(), lru: lru}
}

// Resize changes the capacity, evicting the least recently used keys when
// it shrinks.
func (m *Memory) Resize(maxKeys int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lru.Resize(max(maxKeys, 1))
}

// Len is the number of keys held.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lru.Len()
}

// Take implements Store.
func (m *Memory) Take(_ context.Context, hits []Hit, d *Decision) error {
	var hashBuf [8]uint64
	var pendingBuf [8]int64
	var cellBuf [8]*int64
	hashes, pending, cells := hashBuf[:0], pendingBuf[:0], cellBuf[:0]
	for _, h := range hits {
		hashes = append(hashes, maphash.String(m.seed, h.Key))
	}
	m.mu.Lock()
	// Read the clock under the lock, so that decisions are taken in the
	// order of their times.
	now := m.clock.Now().UnixMicro()
	allowed := true
	for i, h := range hits {
		cell, _ := m.lru.Get(hashes[i])
		tat := now
		if cell != nil && *cell > now {
			tat = *cell
		}
		cells = append(cells, cell)
		pending = append(pending, tat-now)
		allowed = allowed && h.Limit.admits(now, tat)
	}
	if allowed {
		for i, h := range hits {
			pending[i] += h.Limit.interval()
			if cells[i] != nil {
				*cells[i] = now + pending[i]
			} else {
				tat := now + pending[i]
				m.lru.Add(hashes[i], &tat)
			}
		}
	}
	m.mu.Unlock()
	decide(d, now, pending, hits, allowed)
	return nil
}
