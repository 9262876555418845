package changes

import (
	"crypto/md5"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/uuid"

	"github.com/changegate/changegate/cache"
	"github.com/changegate/changegate/kinto"
	"github.com/changegate/changegate/kinto/query"
)

// historySize bounds how many monitor timestamps a view remembers (see
// monitorView.sinceVersion).
const historySize = 1 << 14

// viewKey identifies a monitor view by the settings that shape it.
type viewKey struct {
	resources, excluded, host string
}

// monitorView is the monitor/changes collection of one configuration:
// the monitored collections, newest first, rendered once per registry
// version and shared by every request (and across reloads).
type monitorView struct {
	include, exclude []string
	host             string

	cur atomic.Pointer[monitorRender]

	mu  sync.Mutex // rebuilds
	ids map[kinto.Key]string

	histMu  sync.RWMutex
	history map[int64]uint64
	order   []int64

	// anonymous is the view as anonymous callers see it; users holds
	// it as identified callers see it, by CallerKey.
	anonymous visibilityCache
	users     *cache.LRU[string, *anonymousRender]
}

// view returns the state's view for cfg, creating it.
func (s *State) view(cfg Config) *monitorView {
	k := viewKey{strings.Join(cfg.Resources, " "), strings.Join(cfg.ExcludedCollections, " "), cfg.HTTPHost}
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.views[k]
	if v == nil {
		v = &monitorView{
			include: prefixes(cfg.Resources),
			exclude: prefixes(cfg.ExcludedCollections),
			host:    cfg.HTTPHost,
			ids:     map[kinto.Key]string{},
			history: map[int64]uint64{},
			users:   cache.NewLRU[string](userViewsBytes, renderSize),
		}
		s.views[k] = v
	}
	return v
}

// prefixes turns resource URIs into the prefixes collection URIs are
// matched with: a collection URI as it is, a bucket URI with a trailing
// slash so that /buckets/a does not match /buckets/ab (reference #840).
func prefixes(uris []string) []string {
	out := make([]string, len(uris))
	for i, uri := range uris {
		if !strings.Contains(uri, "/collections/") {
			uri += "/"
		}
		out[i] = uri
	}
	return out
}

// monitored reports whether the view lists collection k.
func (v *monitorView) monitored(k kinto.Key) bool {
	uri := k.URI()
	return hasAnyPrefix(uri, v.include) && !hasAnyPrefix(uri, v.exclude)
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// monitorRender is a view at one registry version.
type monitorRender struct {
	version uint64
	// entries are the monitored collections, newest first.
	entries []SnapshotEntry
	// timestamp is the newest entry's, 0 when there is none.
	timestamp int64
	// json holds the entries rendered, comma separated; entry i ends at
	// ends[i] and starts after the comma that ends entry i-1.
	json []byte
	ends []int
	// suffixChanged[i] is the latest Changed among entries[i:].
	suffixChanged []uint64

	decodeOnce sync.Once
	decoded    []map[string]any
}

// current returns the view at the registry's current version.
func (v *monitorView) current(reg *Registry) *monitorRender {
	snap := reg.Snapshot()
	if r := v.cur.Load(); r != nil && r.version == snap.Version {
		return r
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if r := v.cur.Load(); r != nil && r.version >= snap.Version {
		return r
	}
	r := v.render(snap)
	v.cur.Store(r)
	v.remember(r.timestamp, r.version)
	return r
}

// render builds the view of a snapshot; v.mu is held.
func (v *monitorView) render(snap *Snapshot) *monitorRender {
	r := &monitorRender{version: snap.Version}
	for _, e := range snap.Entries {
		if v.monitored(e.Key) {
			r.entries = append(r.entries, e)
		}
	}
	if len(r.entries) > 0 {
		r.timestamp = r.entries[0].Timestamp
	}
	r.ends = make([]int, len(r.entries))
	r.suffixChanged = make([]uint64, len(r.entries)+1)
	for i, e := range r.entries {
		if i > 0 {
			r.json = append(r.json, ',')
		}
		r.json = v.appendEntry(r.json, e)
		r.ends[i] = len(r.json)
	}
	for i := len(r.entries) - 1; i >= 0; i-- {
		r.suffixChanged[i] = max(r.suffixChanged[i+1], r.entries[i].Changed)
	}
	return r
}

// appendEntry renders {id, last_modified, bucket, collection, host} in
// the reference's key order; v.mu is held.
func (v *monitorView) appendEntry(b []byte, e SnapshotEntry) []byte {
	b = append(b, `{"id":"`...)
	b = append(b, v.entryID(e.Key)...)
	b = append(b, `","last_modified":`...)
	b = strconv.AppendInt(b, e.Timestamp, 10)
	b = append(b, `,"bucket":`...)
	b = kinto.AppendJSONString(b, e.Bucket)
	b = append(b, `,"collection":`...)
	b = kinto.AppendJSONString(b, e.Collection)
	b = append(b, `,"host":`...)
	b = kinto.AppendJSONString(b, v.host)
	return append(b, '}')
}

// entryID is the reference's change_entry_id, cached per collection;
// v.mu is held.
func (v *monitorView) entryID(k kinto.Key) string {
	id, ok := v.ids[k]
	if !ok {
		id = EntryID(v.host, k.Bucket, k.Collection)
		v.ids[k] = id
	}
	return id
}

// EntryID is the id of a collection's monitor entry: the UUID spelling
// of md5(httpHost + "/buckets/{bid}/collections/{cid}").
func EntryID(httpHost, bucket, collection string) string {
	sum := md5.Sum([]byte(httpHost + kinto.Key{Bucket: bucket, Collection: collection}.URI()))
	return uuid.UUID(sum).String()
}

// entryJSON is entry i's rendered JSON.
func (r *monitorRender) entryJSON(i int) []byte {
	start := 0
	if i > 0 {
		start = r.ends[i-1] + 1
	}
	return r.json[start:r.ends[i]]
}

// newer counts the entries newer than since: they come first.
func (r *monitorRender) newer(since int64) int {
	return sort.Search(len(r.entries), func(i int) bool { return r.entries[i].Timestamp <= since })
}

// decodedEntries are the entries as the list query language sees them.
func (r *monitorRender) decodedEntries() []map[string]any {
	r.decodeOnce.Do(func() {
		r.decoded = make([]map[string]any, len(r.entries))
		for i := range r.entries {
			r.decoded[i], _ = query.Decode(r.entryJSON(i))
		}
	})
	return r.decoded
}

// remember records the first registry version at which the view's
// timestamp was ts.
func (v *monitorView) remember(ts int64, version uint64) {
	if ts == 0 {
		return
	}
	v.histMu.Lock()
	defer v.histMu.Unlock()
	if _, ok := v.history[ts]; ok {
		return
	}
	v.history[ts] = version
	v.order = append(v.order, ts)
	if len(v.order) > historySize {
		delete(v.history, v.order[0])
		v.order = v.order[1:]
	}
}

// sinceVersion maps a _since that this view served as its timestamp to
// the first registry version that served it. Entries changed after that
// version may be older than _since yet unseen by the client: a write
// committed earlier but delivered later, or a collection whose clock lags
// another's. Adding them to a _since answer is what keeps a poller that
// follows timestamp → _since from missing a change.
func (v *monitorView) sinceVersion(since int64) (uint64, bool) {
	v.histMu.RLock()
	defer v.histMu.RUnlock()
	version, ok := v.history[since]
	return version, ok
}
