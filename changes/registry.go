package changes

import (
	"cmp"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/changegate/changegate/kinto"
)

// Registry holds, in memory, every collection's records timestamp and
// collection metadata timestamp, kept current by change events: reading a
// timestamp costs a map lookup, never a storage read.
//
// Events of concurrent transactions may arrive out of commit order, so
// timestamps only ever grow (the maximum is kept). A deletion is the one
// case where order matters: a record event committed before its
// collection was deleted but delivered after would bring the collection
// back. Every first records timestamp of a collection is therefore
// checked against storage (see State.verify), and reads that teach the
// registry something (Learn, Load) are discarded when a change or a
// deletion happened while they ran.
type Registry struct {
	mu      sync.RWMutex
	entries map[kinto.Key]*registryEntry
	// seq counts every change applied; an entry keeps the seq of its
	// last change.
	seq uint64
	// deletions counts collection and bucket deletions.
	deletions uint64
	// version counts the changes the monitor can see: a records
	// timestamp that grew, or an entry that went away.
	version atomic.Uint64

	snapMu sync.Mutex
	snap   atomic.Pointer[Snapshot]
}

type registryEntry struct {
	records int64  // records timestamp, 0 when unknown
	meta    int64  // collection metadata timestamp, 0 when unknown
	seq     uint64 // Registry.seq of the entry's last change
	changed uint64 // Registry.version when records last grew
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{entries: map[kinto.Key]*registryEntry{}}
}

// Apply records one event. fresh reports a records timestamp given to a
// collection that had none, which the caller should verify against
// storage (with Learn or Forget and the stamp returned).
func (g *Registry) Apply(ev kinto.Event) (fresh bool, st Stamp) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.seq++
	k := kinto.Key{Bucket: ev.Bucket, Collection: ev.Collection}
	switch {
	case ev.Kind == kinto.KindBucket && ev.Deleted:
		g.dropBucket(ev.Bucket)
	case ev.Kind == kinto.KindCollection && ev.Deleted:
		g.drop(k)
	case ev.Kind == kinto.KindCollection:
		e := g.entry(k)
		e.seq = g.seq
		e.meta = max(e.meta, ev.Timestamp)
	case ev.Kind == kinto.KindRecord:
		e := g.entry(k)
		e.seq = g.seq
		fresh = e.records == 0
		g.grow(e, ev.Timestamp)
		st = Stamp{seq: e.seq, deletions: g.deletions, present: true}
	}
	return fresh, st
}

// entry returns k's entry, creating it; g.mu is held.
func (g *Registry) entry(k kinto.Key) *registryEntry {
	e := g.entries[k]
	if e == nil {
		e = &registryEntry{}
		g.entries[k] = e
	}
	return e
}

// grow raises e's records timestamp; g.mu is held.
func (g *Registry) grow(e *registryEntry, ts int64) {
	if ts > e.records {
		e.records = ts
		e.changed = g.version.Add(1)
	}
}

// drop removes a collection; g.mu is held.
func (g *Registry) drop(k kinto.Key) {
	g.deletions++
	if e := g.entries[k]; e != nil {
		delete(g.entries, k)
		if e.records > 0 {
			g.version.Add(1)
		}
	}
}

// dropBucket removes a bucket's collections; g.mu is held.
func (g *Registry) dropBucket(bucket string) {
	g.deletions++
	visible := false
	for k, e := range g.entries {
		if k.Bucket == bucket {
			delete(g.entries, k)
			visible = visible || e.records > 0
		}
	}
	if visible {
		g.version.Add(1)
	}
}

// Lookup returns a collection's records and metadata timestamps (0 when
// unknown).
func (g *Registry) Lookup(k kinto.Key) (records, meta int64) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if e := g.entries[k]; e != nil {
		return e.records, e.meta
	}
	return 0, 0
}

// Stamp marks the registry's state of one collection before a storage
// read, so that what the read returns is applied only if nothing changed
// meanwhile.
type Stamp struct {
	seq, deletions uint64
	present        bool
}

// Stamp returns k's current stamp.
func (g *Registry) Stamp(k kinto.Key) Stamp {
	g.mu.RLock()
	defer g.mu.RUnlock()
	st := Stamp{deletions: g.deletions}
	if e := g.entries[k]; e != nil {
		st.seq, st.present = e.seq, true
	}
	return st
}

// unchanged reports whether k is as st saw it; g.mu is held.
func (g *Registry) unchanged(k kinto.Key, st Stamp) bool {
	if g.deletions != st.deletions {
		return false
	}
	e := g.entries[k]
	if e == nil {
		return !st.present
	}
	return st.present && e.seq == st.seq
}

// Learn applies the timestamps a storage read returned for k, unless k
// changed (or anything was deleted) since st.
func (g *Registry) Learn(k kinto.Key, st Stamp, records, meta int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.unchanged(k, st) {
		return
	}
	e := g.entry(k)
	e.meta = max(e.meta, meta)
	g.grow(e, records)
}

// Forget removes k when storage says it does not exist and nothing
// changed since st.
func (g *Registry) Forget(k kinto.Key, st Stamp) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.unchanged(k, st) {
		g.drop(k)
	}
}

// DeletionStamp marks the deletion count before a full load.
func (g *Registry) DeletionStamp() Stamp {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return Stamp{deletions: g.deletions}
}

// Load merges every collection's records timestamp, read from storage
// after st was taken. It refuses (false) when something was deleted
// meanwhile: the read may hold what is gone.
func (g *Registry) Load(all map[kinto.Key]int64, st Stamp) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.deletions != st.deletions {
		return false
	}
	for k, ts := range all {
		g.grow(g.entry(k), ts)
	}
	return true
}

// Version counts the changes visible in snapshots.
func (g *Registry) Version() uint64 { return g.version.Load() }

// Snapshot is the registry's collections that have a records timestamp,
// newest first, at one version.
type Snapshot struct {
	Version uint64
	Entries []SnapshotEntry
}

// SnapshotEntry is one collection in a snapshot.
type SnapshotEntry struct {
	kinto.Key
	// Timestamp is the records timestamp.
	Timestamp int64
	// Changed is the registry version at which Timestamp was reached.
	Changed uint64
}

// Snapshot returns the current snapshot, building it at most once per
// version.
func (g *Registry) Snapshot() *Snapshot {
	if s := g.snap.Load(); s != nil && s.Version == g.version.Load() {
		return s
	}
	g.snapMu.Lock()
	defer g.snapMu.Unlock()
	if s := g.snap.Load(); s != nil && s.Version == g.version.Load() {
		return s
	}
	g.mu.RLock()
	s := &Snapshot{Version: g.version.Load(), Entries: make([]SnapshotEntry, 0, len(g.entries))}
	for k, e := range g.entries {
		if e.records > 0 {
			s.Entries = append(s.Entries, SnapshotEntry{Key: k, Timestamp: e.records, Changed: e.changed})
		}
	}
	g.mu.RUnlock()
	slices.SortFunc(s.Entries, compareEntries)
	g.snap.Store(s)
	return s
}

// compareEntries orders newest first, then by bucket and collection so
// that equal timestamps have a stable order.
func compareEntries(a, b SnapshotEntry) int {
	return cmp.Or(cmp.Compare(b.Timestamp, a.Timestamp), cmp.Compare(a.Bucket, b.Bucket), cmp.Compare(a.Collection, b.Collection))
}
