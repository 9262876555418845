package upstream

import (
	"net/http"
	"time"

	"github.com/changegate/changegate/kinto"
)

// watched is a collection the poller checks.
type watched struct {
	// records is the last records timestamp passed to subscribers.
	records int64
	// meta is the last collection timestamp passed to subscribers.
	meta int64
	// explicit marks a collection URI of Resources; listed, one of
	// Resources or of a listed bucket.
	explicit, listed bool
	// status is the answer to the last poll (304 counts as 200).
	status int
	// used is when a client last read it (for the collections outside
	// Resources, dropped least recently used first).
	used time.Time
}

// note applies ev to the watch list and reports whether it is news.
func (s *Source) note(ev kinto.Event) bool {
	k := kinto.Key{Bucket: ev.Bucket, Collection: ev.Collection}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case ev.Kind == kinto.KindBucket && ev.Deleted:
		for wk := range s.watched {
			if wk.Bucket == ev.Bucket {
				s.forget(wk)
			}
		}
		return true
	case ev.Kind == kinto.KindCollection && ev.Deleted:
		s.forget(k)
		return true
	case ev.Kind == kinto.KindCollection:
		w := s.watch(k)
		if ev.Timestamp <= w.meta {
			return false
		}
		w.meta = ev.Timestamp
		return true
	case ev.Kind == kinto.KindRecord:
		w := s.watch(k)
		if ev.Timestamp <= w.records {
			return false
		}
		w.records = ev.Timestamp
		return true
	}
	return false
}

// forget drops a deleted collection; the collection URIs of Resources
// stay watched (they may come back). s.mu is held.
func (s *Source) forget(k kinto.Key) {
	w := s.watched[k]
	switch {
	case w == nil:
	case w.explicit:
		w.records, w.meta = 0, 0
	default:
		if !w.listed {
			s.adhoc--
		}
		delete(s.watched, k)
	}
	delete(s.readers, k)
}

// watch returns k's entry, adding it as a collection outside Resources
// (dropping the least recently used one beyond MaxCollections). s.mu is
// held.
func (s *Source) watch(k kinto.Key) *watched {
	w := s.watched[k]
	if w != nil {
		return w
	}
	if s.adhoc >= s.opts.MaxCollections {
		s.evict()
	}
	w = &watched{used: time.Now()}
	s.watched[k] = w
	s.adhoc++
	return w
}

// evict drops the least recently used collection outside Resources;
// s.mu is held.
func (s *Source) evict() {
	var oldest kinto.Key
	var at time.Time
	for k, w := range s.watched {
		if !w.listed && (at.IsZero() || w.used.Before(at)) {
			oldest, at = k, w.used
		}
	}
	if !at.IsZero() {
		delete(s.watched, oldest)
		delete(s.readers, oldest)
		s.adhoc--
	}
}

// touch marks k as read by a client, watching it from now on so that
// its changesets and feeds follow writes made straight to the upstream.
func (s *Source) touch(k kinto.Key) {
	s.mu.Lock()
	s.watch(k).used = time.Now()
	s.mu.Unlock()
}

// rememberReader keeps the headers of a client the upstream allowed to
// read k, for shared reads without service credentials.
func (s *Source) rememberReader(k kinto.Key, hd http.Header) {
	if s.opts.Authorization != "" {
		return
	}
	s.mu.Lock()
	if _, ok := s.watched[k]; ok {
		s.readers[k] = hd
	}
	s.mu.Unlock()
}
