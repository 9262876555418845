package ratelimit

import (
	"context"
	"hash/maphash"
	"sync"
)

// Memory is the in-process store: an LRU of at most a fixed number of
// keys (keyTable). An entry is the key's 64-bit hash (a long key costs no
// more memory than a short one; two clients whose keys collide, about one
// chance in 2^64/n² for n keys, would share a budget) and its theoretical
// arrival time, which a decision updates in place: about 50 bytes in all.
//
// One lock guards the table: a decision holds it for a few index and slot
// operations, and it makes a request's limits atomic together.
//
// Eviction: when the table is full, its least recently used key goes. A
// key is only worth keeping for one window after its last request (its
// state then equals a fresh key's), so nothing is lost as long as fewer
// distinct keys than the capacity are seen within one window. Beyond
// that, an evicted key comes back with a full budget: each eviction of a
// client's key can give that client at most one extra burst of N events,
// and it takes capacity-many other keys, each used more recently, to
// evict it.
type Memory struct {
	clock Clock
	seed  maphash.Seed
	mu    sync.Mutex
	keys  *keyTable
}

// NewMemory returns a memory store bounded to maxKeys keys (at least 1).
func NewMemory(maxKeys int, clock Clock) *Memory {
	return &Memory{clock: clock, seed: maphash.MakeSeed(), keys: newKeyTable(maxKeys)}
}

// Resize changes the capacity, evicting the least recently used keys when
// it shrinks.
func (m *Memory) Resize(maxKeys int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keys.resize(maxKeys)
}

// Len is the number of keys held.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.keys.len()
}

// Take implements Store.
func (m *Memory) Take(_ context.Context, hits []Hit, d *Decision) error {
	var hashBuf [8]uint64
	var pendingBuf [8]int64
	var slotBuf [8]int32
	hashes, pending, slots := hashBuf[:0], pendingBuf[:0], slotBuf[:0]
	for _, h := range hits {
		hashes = append(hashes, maphash.String(m.seed, h.Key))
	}
	m.mu.Lock()
	// Read the clock under the lock, so that decisions are taken in the
	// order of their times.
	now := m.clock.Now().UnixMicro()
	allowed := true
	for i, h := range hits {
		tat := now
		slot := m.keys.get(hashes[i])
		if slot != none && m.keys.slots[slot].tat > now {
			tat = m.keys.slots[slot].tat
		}
		slots = append(slots, slot)
		pending = append(pending, tat-now)
		allowed = allowed && h.Limit.admits(now, tat)
	}
	if allowed {
		// Held keys first: adding a new key may evict, and so reuse, the
		// slot of a key this request holds when the table is smaller than
		// its number of limits.
		for i, h := range hits {
			pending[i] += h.Limit.interval()
			if slots[i] != none {
				m.keys.slots[slots[i]].tat = now + pending[i]
			}
		}
		for i := range hits {
			if slots[i] == none {
				m.keys.add(hashes[i], now+pending[i])
			}
		}
	}
	m.mu.Unlock()
	decide(d, now, pending, hits, allowed)
	return nil
}
