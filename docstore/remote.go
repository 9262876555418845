package docstore

import (
	"context"
	"strings"

	"github.com/changegate/changegate/kinto"
)

// EventOf builds the event of a write committed by another writer (an
// engine shared by several instances, Kinto itself, SQL) to object id of
// the list (parent, kind), id being "" when only the list timestamp was
// stored. It reports false for lists the API does not serve (plugins'
// kinds, malformed parents).
func EventOf(parent, kind, id string, ts int64, deleted bool) (kinto.Event, bool) {
	var r ref
	switch kind {
	case KindBucket:
		if parent != "" {
			return kinto.Event{}, false
		}
		r = ref{Kind: kind}
	case KindCollection, KindGroup:
		b, ok := strings.CutPrefix(parent, "/buckets/")
		if !ok || b == "" || strings.Contains(b, "/") {
			return kinto.Event{}, false
		}
		r = ref{Kind: kind, Bucket: b}
	case KindRecord:
		key, ok := parseCollectionURI(parent)
		if !ok {
			return kinto.Event{}, false
		}
		r = ref{Kind: kind, Bucket: key.Bucket, Collection: key.Collection}
	default:
		return kinto.Event{}, false
	}
	if id == "" && kind != KindRecord {
		// A bucket's or collection's list timestamp is no change the feeds
		// or the monitor report.
		return kinto.Event{}, false
	}
	return r.withID(id).event(ts, deleted), true
}

// Publish hands events committed by another writer to the subscribers,
// as if this Store had committed them.
func (s *Store) Publish(events []kinto.Event) { s.hub.Publish(events) }

// Syncer is implemented by engines that other writers share (several
// instances on one database): Sync returns once every write committed
// before the call, by anyone, has been published to this Store's
// subscribers, so that what they keep (the changes registry and caches)
// is as fresh as storage.
type Syncer interface {
	Sync(ctx context.Context) error
}

// Sync waits for the engine to have published every write committed
// before the call (see Syncer); at once for an engine no one else
// writes.
func (s *Store) Sync(ctx context.Context) error {
	if e, ok := s.engine.(Syncer); ok {
		return e.Sync(ctx)
	}
	return nil
}
