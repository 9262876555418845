package ratelimit

// keyTable is the memory store's bounded LRU: key hashes mapped to slots
// that hold a theoretical arrival time, the slots linked in order of use
// by index. It holds no pointers, so the garbage collector never walks
// it; golang-lru's entries are heap objects linked by pointers, which
// every collection cycle walks, all 100,000 of them at the default cap,
// and touching one means following several pointers to memory that the
// rest of a request has long pushed out of the CPU's caches.
//
// It is not safe for concurrent use: Memory holds its lock around it.
type keyTable struct {
	index      map[uint64]int32
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
	return &keyTable{index: map[uint64]int32{}, head: none, tail: none, capacity: max(capacity, 1)}
}

// len is the number of keys held.
func (t *keyTable) len() int { return len(t.index) }

// get finds a key's slot and makes it the most recently used.
func (t *keyTable) get(hash uint64) (int32, bool) {
	i, ok := t.index[hash]
	if ok && i != t.head {
		t.unlink(i)
		t.pushFront(i)
	}
	return i, ok
}

// add inserts a key that is not held yet, as the most recently used,
// evicting the least recently used key when the table is full.
func (t *keyTable) add(hash uint64, tat int64) {
	var i int32
	if len(t.index) < t.capacity {
		i = int32(len(t.slots))
		t.slots = append(t.slots, slot{})
	} else {
		i = t.tail
		t.unlink(i)
		delete(t.index, t.slots[i].hash)
	}
	t.slots[i] = slot{hash: hash, tat: tat}
	t.index[hash] = i
	t.pushFront(i)
}

// resize changes the capacity; shrinking keeps the most recently used
// keys, in their order.
func (t *keyTable) resize(capacity int) {
	capacity = max(capacity, 1)
	if capacity >= len(t.index) {
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
