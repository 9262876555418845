package feeds

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/singleflight"
)

// Hub fans a store's events out to the feeds that wait: one topic per
// collection (and per monitor) with listeners, shared by all of
// them, created with the first and dropped with the last.
//
// A topic is a generation counter and a channel closed (then replaced) on
// every event: a listener takes the channel before it reads storage and
// waits on it after, so an event between the read and the wait is never
// lost, and a listener's queue is one bit that coalesces any number of
// events (it then catches up from storage by seq). The writer that
// publishes pays one map lookup and one close per topic, never a send
// that could block, and listeners of other collections are not woken.
type Hub struct {
	// epoch names this registry in monitor seqs.
	epoch string

	mu       sync.RWMutex
	topics   map[Key]*feedTopic
	monitors map[Monitor]*feedTopic

	// reads coalesces identical storage reads of listeners woken by the
	// same event (keyed with the topic generation, see feedTopic).
	reads singleflight.Group
	// wakes runs the wake-ups of parked longpolls (feed_park.go).
	wakes wakeQueue
	// accessGen counts the events that may have changed who may read
	// what (feed_access.go).
	accessGen atomic.Uint64
}

// feedTopic is what the listeners of one collection or view share.
type feedTopic struct {
	mu   sync.Mutex
	gen  uint64
	ch   chan struct{}
	refs int
	// pages are the reads made at generation gen, by read key: every
	// listener woken by the same event that asks the same gets the same
	// answer, read once (a read that began after the event saw it).
	pages map[string]*feedPage
	// parked are the longpolls waiting off their request goroutine
	// (feed_park.go); an event hands them to the hub's workers.
	parked map[*parkedFeed]struct{}
	wakes  *wakeQueue
	// answers are the parked feeds' answers rendered at generation gen,
	// by feed_park.go's shareKey.
	answers map[string][]byte
}

// answer returns the answer of key rendered at generation gen, if any.
func (t *feedTopic) answer(key string, gen uint64) []byte {
	if key == "" {
		return nil
	}
	return lookupAt(t, &t.answers, key, gen)
}

// keepAnswer remembers an answer rendered at generation gen.
func (t *feedTopic) keepAnswer(key string, gen uint64, out []byte) {
	if key != "" {
		keepAt(t, &t.answers, key, gen, out)
	}
}

// page returns the read of key made at generation gen, if any.
func (t *feedTopic) page(key string, gen uint64) *feedPage {
	return lookupAt(t, &t.pages, key, gen)
}

// keep remembers a small read made at generation gen.
func (t *feedTopic) keep(key string, gen uint64, p *feedPage) {
	if len(p.rows) <= maxKeptRows {
		keepAt(t, &t.pages, key, gen, p)
	}
}

// lookupAt returns what one of the topic's per-generation caches holds
// for key at generation gen; the zero value when an event came since.
func lookupAt[T any](t *feedTopic, cache *map[string]T, key string, gen uint64) T {
	t.mu.Lock()
	defer t.mu.Unlock()
	if gen != t.gen {
		var zero T
		return zero
	}
	return (*cache)[key]
}

// keepAt stores v for key in one of the topic's per-generation caches,
// unless an event came since gen (which makes v stale) or the cache
// already holds maxTopicPages values. notify empties the caches.
func keepAt[T any](t *feedTopic, cache *map[string]T, key string, gen uint64, v T) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if gen != t.gen || len(*cache) >= maxTopicPages {
		return
	}
	if *cache == nil {
		*cache = map[string]T{}
	}
	(*cache)[key] = v
}

// A topic keeps at most maxTopicPages reads per generation, of at most
// maxKeptRows rows each: the few rows a wake-up reads.
const (
	maxTopicPages = 64
	maxKeptRows   = 100
)

func (h *Hub) newTopic() *feedTopic { return &feedTopic{ch: make(chan struct{}), wakes: &h.wakes} }

// wait returns the channel the next event closes and the generation it
// ends. A storage read started after wait returned sees every write
// whose event came before.
func (t *feedTopic) wait() (<-chan struct{}, uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.ch, t.gen
}

// notify wakes the topic's listeners.
func (t *feedTopic) notify() {
	t.mu.Lock()
	close(t.ch)
	t.ch = make(chan struct{})
	t.gen++
	t.pages = nil
	t.answers = nil
	if len(t.parked) > 0 {
		ps := make([]*parkedFeed, 0, len(t.parked))
		for p := range t.parked {
			p.state = parkWaking
			ps = append(ps, p)
		}
		t.parked = nil
		t.wakes.push(ps...)
	}
	t.mu.Unlock()
}

// NewHub returns the hub of one store's feeds; the store's event
// subscriber passes every event to Publish.
func NewHub() *Hub {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return &Hub{epoch: hex.EncodeToString(b), topics: map[Key]*feedTopic{}, monitors: map[Monitor]*feedTopic{}}
}

// Publish wakes the topics an event concerns; it runs in the writer's
// goroutine and never blocks on a listener.
func (h *Hub) Publish(ev Event) {
	if ev.Kind != KindRecord {
		// A bucket, a collection or a group changed: permissions may
		// have. Counted before the feeds wake, so that they ask again.
		h.accessGen.Add(1)
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	switch ev.Kind {
	case KindRecord, KindCollection, KindBucket:
	default:
		// A group's members may be readers of any collection (a group
		// is a principal anywhere): every feed checks again.
		for _, t := range h.topics {
			t.notify()
		}
		return
	}
	if ev.Kind == KindBucket {
		for k, t := range h.topics {
			if k.Bucket == ev.Bucket {
				t.notify()
			}
		}
	} else if t := h.topics[Key{Bucket: ev.Bucket, Collection: ev.Collection}]; t != nil {
		t.notify()
	}
	if ev.Kind == KindRecord || ev.Deleted {
		for v, t := range h.monitors {
			if ev.Kind == KindBucket || v.Monitored(Key{Bucket: ev.Bucket, Collection: ev.Collection}) {
				t.notify()
			}
		}
	}
}

// join returns k's topic (or view's when view is not nil) and the
// function that leaves it.
func (h *Hub) join(k Key, view Monitor) (*feedTopic, func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var t *feedTopic
	if view != nil {
		if t = h.monitors[view]; t == nil {
			t = h.newTopic()
			h.monitors[view] = t
		}
	} else if t = h.topics[k]; t == nil {
		t = h.newTopic()
		h.topics[k] = t
	}
	t.refs++
	return t, func() { h.leave(k, view, t) }
}

func (h *Hub) leave(k Key, view Monitor, t *feedTopic) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t.refs--
	if t.refs > 0 {
		return
	}
	if view != nil {
		delete(h.monitors, view)
	} else {
		delete(h.topics, k)
	}
}

// listeners counts the topics and their listeners (for tests and stats).
func (h *Hub) listeners() (topics, listeners int) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, t := range h.topics {
		topics++
		listeners += t.refs
	}
	for _, t := range h.monitors {
		topics++
		listeners += t.refs
	}
	return topics, listeners
}
