package docstore

import (
	"sync"

	"github.com/changegate/changegate/kinto"
)

// Hub fans events (kinto.Event: an object was written, published after
// the transaction that wrote it is durable) out to subscribers. Subscribers are called synchronously
// by the writer, before its write is acknowledged, so they must not block:
// the one `changes` State per store updates its registry and wakes the
// feeds' topics (package feeds) without waiting for any reader.
type Hub struct {
	mu   sync.RWMutex
	next int
	subs map[int]func(kinto.Event)
}

// Subscribe registers fn and returns the function that removes it.
func (h *Hub) Subscribe(fn func(kinto.Event)) (unsubscribe func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs == nil {
		h.subs = map[int]func(kinto.Event){}
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
func (h *Hub) Publish(events []kinto.Event) {
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
