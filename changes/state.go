package changes

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/singleflight"

	"github.com/changegate/changegate/cache"
	"github.com/changegate/changegate/feeds"
	"github.com/changegate/changegate/kinto"
)

// DefaultCacheBytes bounds the cache of rendered changesets.
const DefaultCacheBytes = 64 << 20

// loadAttempts bounds the initial load retries (a deletion during the
// load makes it start over).
const loadAttempts = 10

// State is what the endpoints over one store share, across config
// reloads: the registry kept current by the store's events, the cache of
// rendered changesets, the monitor views, the broadcast debounce and the
// hub of the store's feeds. Its one subscription to the store applies
// each event to the registry, then wakes the feeds that wait for it
// (package feeds), so that a feed woken reads a registry that has the
// event.
type State struct {
	source   kinto.Source
	registry *Registry
	cache    *cache.LRU[changesetKey, *renderedChangeset]
	flights  singleflight.Group
	logger   *slog.Logger

	ctx         context.Context
	cancel      context.CancelFunc
	unsubscribe func()

	mu sync.Mutex
	// lastFull names, per collection and limit, the last full changeset
	// rendered (see mergeChangeset); the cache holds it, or it is gone.
	lastFull map[fullKey]changesetKey
	views    map[viewKey]*monitorView

	broadcast broadcastState

	// permGen counts the events that may have changed who may read a
	// collection (Registry.permissionEvent).
	permGen atomic.Uint64

	// hub wakes the feeds of the store's collections and monitor.
	hub *feeds.Hub
}

// NewState subscribes to src and loads every collection's records
// timestamp. Close releases it.
func NewState(src kinto.Source, cacheBytes int64, logger *slog.Logger) (*State, error) {
	if cacheBytes <= 0 {
		cacheBytes = DefaultCacheBytes
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &State{
		source:   src,
		registry: NewRegistry(),
		cache:    cache.NewLRU[changesetKey](cacheBytes, (*renderedChangeset).size),
		logger:   logger,
		lastFull: map[fullKey]changesetKey{},
		views:    map[viewKey]*monitorView{},
		hub:      feeds.NewHub(),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	// Subscribe before loading: an event that lands during the load is
	// kept, and the load only raises timestamps.
	s.unsubscribe = src.Subscribe(s.apply)
	if err := s.load(); err != nil {
		s.Close()
		return nil, err
	}
	trackState(s)
	return s, nil
}

// load reads every records timestamp, starting over when a deletion
// happens meanwhile.
func (s *State) load() error {
	for range loadAttempts {
		st := s.registry.DeletionStamp()
		all, err := s.source.Timestamps(s.ctx)
		if err != nil {
			return fmt.Errorf("loading collection timestamps: %w", err)
		}
		if s.registry.Load(all, st) {
			return nil
		}
	}
	return fmt.Errorf("loading collection timestamps: collections kept being deleted during %d attempts", loadAttempts)
}

// apply is the source subscription, called by the writer before its
// write is acknowledged: it must not block. The registry has the event
// before the feeds wake, and both before the writer goes on.
func (s *State) apply(ev kinto.Event) {
	if s.registry.permissionEvent(ev) {
		s.permGen.Add(1)
	}
	if fresh, st := s.registry.Apply(ev); fresh {
		go s.verify(kinto.Key{Bucket: ev.Bucket, Collection: ev.Collection}, st)
	}
	s.hub.Publish(ev)
}

// verify checks a collection that just got its first records timestamp
// against storage: a record event delivered after its collection's
// deletion must not bring the collection back.
func (s *State) verify(k kinto.Key, st Stamp) {
	cs, err := s.source.Changeset(s.ctx, k, 1<<62, 1)
	switch {
	case err != nil:
		if s.ctx.Err() == nil {
			s.logger.Warn("checking a new collection", "bucket", k.Bucket, "collection", k.Collection, "error", err)
		}
	case cs.Metadata == nil:
		s.registry.Forget(k, st)
	default:
		s.registry.Learn(k, st, cs.Timestamp, cs.MetadataTimestamp)
	}
}

// sync waits, when the source is shared with other writers (Syncer),
// until the registry has applied every write committed before the call:
// nothing served from it afterwards is older than a write acknowledged
// before the request began, whichever instance acknowledged it.
func (s *State) sync(ctx context.Context) error {
	if sy, ok := s.source.(Syncer); ok {
		return sy.Sync(ctx)
	}
	return nil
}

// Registry returns the registry of collection timestamps.
func (s *State) Registry() *Registry { return s.registry }

// CacheStats returns the counters of the changeset cache.
func (s *State) CacheStats() cache.LRUStats { return s.cache.Stats() }

// SetCacheBytes changes the bound of the changeset cache.
func (s *State) SetCacheBytes(n int64) {
	if n <= 0 {
		n = DefaultCacheBytes
	}
	s.cache.SetMaxBytes(n)
}

// Close stops following the source.
func (s *State) Close() {
	untrackState(s)
	s.unsubscribe()
	s.cancel()
}
