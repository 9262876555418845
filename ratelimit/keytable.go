package ratelimit

// keyTable is the memory store's bounded LRU: slots holding a key's hash
// and theoretical arrival time, linked in order of use by index, and an
// open-addressing index from hash to slot. It holds no pointers, so the
// garbage collector never walks it; golang-lru's entries are heap objects
// linked by pointers, which every collection cycle walks, all 100,000 of
// them at the default cap. A lookup reads one index entry, whose upper
// half is the upper half of the key's hash, and then the key's slot: two
// cache lines, where a Go map would add its own directory and groups, and
// under load each of those is a miss, the rest of a request having pushed
// the table out of the CPU's caches.
//
// It is not safe for concurrent use: Memory holds its lock around it.
type keyTable struct {
	// index has a power-of-two length, at least twice the number of keys
	// (linear probing stays short); an entry is the hash's upper 32 bits
	// and slot+1, 0 when empty. A key's home position is the top bits of
	// its hash.
	index      []uint64
	shift      uint // 64 - log2(len(index))
	slots      []slot
	head, tail int32 // most and least recently used slot, none when empty
	capacity   int
}

// slot is one key's state and its place in the order of use.
type slot struct {
	hash       uint64
	tat        int64
	prev, next int32 // toward head, toward tail
}

const none = -1

func newKeyTable(capacity int) *keyTable {
	return &keyTable{index: make([]uint64, 16), shift: 60, head: none, tail: none, capacity: max(capacity, 1)}
}

// len is the number of keys held: slots are only reused, never freed.
func (t *keyTable) len() int { return len(t.slots) }

// get finds a key's slot, none when the key is not held, and makes it
// the most recently used.
func (t *keyTable) get(hash uint64) int32 {
	_, i, ok := t.find(hash)
	if ok && i != t.head {
		t.unlink(i)
		t.pushFront(i)
	}
	return i
}

// add inserts a key that is not held yet, as the most recently used,
// evicting the least recently used key when the table is full.
func (t *keyTable) add(hash uint64, tat int64) {
	var i int32
	if len(t.slots) < t.capacity {
		i = int32(len(t.slots))
		t.slots = append(t.slots, slot{})
		if 2*len(t.slots) > len(t.index) {
			t.grow()
		}
	} else {
		i = t.tail
		t.unlink(i)
		pos, _, _ := t.find(t.slots[i].hash)
		t.remove(pos)
	}
	t.slots[i] = slot{hash: hash, tat: tat}
	pos, _, _ := t.find(hash)
	t.index[pos] = hash&^0xffffffff | uint64(i+1)
	t.pushFront(i)
}

// find returns the index position of a key and its slot, or the empty
// position where it would go.
func (t *keyTable) find(hash uint64) (int, int32, bool) {
	mask := len(t.index) - 1
	for pos := int(hash >> t.shift); ; pos = (pos + 1) & mask {
		e := t.index[pos]
		if e == 0 {
			return pos, none, false
		}
		if i := int32(uint32(e)) - 1; e>>32 == hash>>32 && t.slots[i].hash == hash {
			return pos, i, true
		}
	}
}

// remove empties an index position and moves back the entries after it
// that probing would no longer reach (backward-shift deletion), so that
// the index needs no tombstones.
func (t *keyTable) remove(pos int) {
	mask := len(t.index) - 1
	for next := (pos + 1) & mask; t.index[next] != 0; next = (next + 1) & mask {
		// The entry at next may fill pos if pos lies on its probe path,
		// from its home position up to next.
		if home := int(t.index[next] >> t.shift); (next-home)&mask >= (next-pos)&mask {
			t.index[pos] = t.index[next]
			pos = next
		}
	}
	t.index[pos] = 0
}

// grow doubles the index and places every entry again.
func (t *keyTable) grow() {
	old := t.index
	t.index = make([]uint64, 2*len(old))
	t.shift--
	mask := len(t.index) - 1
	for _, e := range old {
		if e == 0 {
			continue
		}
		pos := int(e >> t.shift)
		for t.index[pos] != 0 {
			pos = (pos + 1) & mask
		}
		t.index[pos] = e
	}
}

// resize changes the capacity; shrinking keeps the most recently used
// keys, in their order.
func (t *keyTable) resize(capacity int) {
	capacity = max(capacity, 1)
	if capacity >= t.len() {
		t.capacity = capacity
		return
	}
	kept := newKeyTable(capacity)
	// Adding from the least recently used kept key up leaves the order as
	// it was.
	i := t.head
	for range capacity - 1 {
		i = t.slots[i].next
	}
	for ; i != none; i = t.slots[i].prev {
		kept.add(t.slots[i].hash, t.slots[i].tat)
	}
	*t = *kept
}

func (t *keyTable) unlink(i int32) {
	s := &t.slots[i]
	if s.prev != none {
		t.slots[s.prev].next = s.next
	} else {
		t.head = s.next
	}
	if s.next != none {
		t.slots[s.next].prev = s.prev
	} else {
		t.tail = s.prev
	}
}

func (t *keyTable) pushFront(i int32) {
	t.slots[i].prev, t.slots[i].next = none, t.head
	if t.head != none {
		t.slots[t.head].prev = i
	} else {
		t.tail = i
	}
	t.head = i
}
