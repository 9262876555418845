package docstore

import "sync"

// Event tells subscribers that an object was written. Events are published
// after the transaction that wrote the object is durable. The events of
// one transaction arrive in order, but those of concurrent transactions
// may interleave: keep the highest timestamp seen.
type Event struct {
	// Kind of the object written: record, collection, group or bucket.
	Kind string
	// Bucket is the bucket the object lives in (or is, for a bucket).
	Bucket string
	// Collection is the record's collection, or the collection's own id.
	Collection string
	// ID is the object's id; "" when a list timestamp was initialised
	// without a write (the first read of an empty records list).
	ID string
	// Timestamp is the object's new last_modified, which is also the new
	// timestamp of its list (for records: the collection's records
	// timestamp).
	Timestamp int64
	// Deleted reports a deletion. Deleting a collection or bucket also
	// removes everything below it, without further events.
	Deleted bool
}

// Hub fans events out to subscribers. Subscribers are called synchronously
// by the writer, so they must not block: the `changes` registry updates a
// map, feeds hand the event to their own goroutines.
type Hub struct {
	mu   sync.RWMutex
	next int
	subs map[int]func(Event)
}

// Subscribe registers fn and returns the function that removes it.
func (h *Hub) Subscribe(fn func(Event)) (unsubscribe func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs == nil {
		h.subs = map[int]func(Event){}
	}
	id := h.next
	h.next++
	h.subs[id] = fn
	return func() {
		h.mu.Lock()
		delete(h.subs, id)
		h.mu.Unlock()
	}
}

// Publish calls every subscriber with each event, in order.
func (h *Hub) Publish(events []Event) {
	if len(events) == 0 {
		return
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, fn := range h.subs {
		for _, ev := range events {
			fn(ev)
		}
	}
}
