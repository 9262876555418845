package changes

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/changegate/changegate/kinto"
)

// Cache-Status answers (RFC 9211) of a collection changeset.
const (
	statusHit       = "hit"
	statusStored    = "fwd=miss; stored"
	statusCollapsed = "fwd=miss; collapsed"
)

// changesetKey is everything that determines a rendered changeset's
// bytes: the collection, the query, and the timestamps of the state it
// shows (records and collection metadata).
type changesetKey struct {
	kinto.Key
	since      int64
	tombstones bool
	limit      int
	records    int64
	meta       int64
}

// fullKey names a collection's full changesets (no _since) of one limit.
type fullKey struct {
	kinto.Key
	limit int
}

// renderedChangeset is a changeset body ready to send.
type renderedChangeset struct {
	body         []byte
	lastModified int64
	records      int64
	meta         int64
	// For a full changeset (no _since): its records (slices of body) and
	// their ids, from which the next full changeset is built after a
	// write; complete when no record was left out by the limit.
	items    [][]byte
	ids      []string
	complete bool
}

// size is what the entry costs in the cache.
func (c *renderedChangeset) size() int64 {
	n := int64(len(c.body)) + 128 + int64(len(c.items))*24
	for _, id := range c.ids {
		n += int64(len(id)) + 16
	}
	return n
}

// changeset returns the rendered changeset of k, from the cache when the
// registry's timestamps name one, else from one storage read shared by
// every concurrent request for the same thing (how says which, for
// Cache-Status). nil means the collection does not exist.
func (s *State) changeset(k kinto.Key, since int64, tombstones bool, limit int) (rc *renderedChangeset, how string, err error) {
	records, meta := s.registry.Lookup(k)
	key := changesetKey{Key: k, since: since, tombstones: tombstones, limit: limit, records: records, meta: meta}
	if rc, ok := s.cache.Get(key); ok {
		return rc, statusHit, nil
	}
	how = statusCollapsed
	flight := fmt.Sprintf("%q/%q/%d/%t/%d/%d/%d", k.Bucket, k.Collection, since, tombstones, limit, records, meta)
	v, err, _ := s.flights.Do(flight, func() (any, error) {
		how = statusStored
		return s.readChangeset(k, since, tombstones, limit)
	})
	if err != nil {
		return nil, "", err
	}
	rc, _ = v.(*renderedChangeset)
	return rc, how, nil
}

// readChangeset reads and renders a changeset, caches it under the
// timestamps it shows, and teaches them to the registry. A full
// changeset is built from the previous one and the records changed
// since, when there is one.
func (s *State) readChangeset(k kinto.Key, since int64, tombstones bool, limit int) (*renderedChangeset, error) {
	defer observeChangesetBuild(time.Now())
	st := s.registry.Stamp(k)
	if !tombstones {
		since = 0
	}
	var rc *renderedChangeset
	var err error
	if !tombstones {
		rc, err = s.mergeChangeset(k, limit)
	}
	if rc == nil && err == nil {
		rc, err = s.fullChangeset(k, since, limit, !tombstones)
	}
	if rc == nil || err != nil {
		return nil, err
	}
	s.registry.Learn(k, st, rc.records, rc.meta)
	key := changesetKey{Key: k, since: since, tombstones: tombstones, limit: limit, records: rc.records, meta: rc.meta}
	s.cache.Add(key, rc)
	if !tombstones {
		s.mu.Lock()
		if rc.ids != nil {
			s.lastFull[fullKey{k, limit}] = key
		} else {
			delete(s.lastFull, fullKey{k, limit})
		}
		s.mu.Unlock()
	}
	return rc, nil
}

// fullChangeset reads every change of a collection since a timestamp;
// keepItems keeps what a later merge needs.
func (s *State) fullChangeset(k kinto.Key, since int64, limit int, keepItems bool) (*renderedChangeset, error) {
	cs, err := s.source.Changeset(s.ctx, k, since, limit)
	if err != nil {
		return nil, fmt.Errorf("reading the changeset of %s/%s: %w", k.Bucket, k.Collection, err)
	}
	if cs.Metadata == nil {
		return nil, nil
	}
	var ids []string
	if keepItems {
		ids = make([]string, len(cs.Changes))
		for i, c := range cs.Changes {
			ids[i] = gjson.GetBytes(c, "id").String()
		}
	}
	rc, err := render(k, cs.Metadata, cs.MetadataTimestamp, cs.Timestamp, asBytes(cs.Changes), ids)
	if rc != nil {
		rc.complete = limit <= 0 || len(cs.Changes) < limit
	}
	return rc, err
}

// mergeChangeset builds a collection's full changeset from the last one
// rendered and the changes since its records timestamp, read in one
// transaction. Every write gives its object a timestamp above the
// collection's, and deletions leave tombstones, so the new list is the
// changed records (newest first) followed by the old list without them:
// the same bytes as a full read, at the cost of reading the changes only.
// An old list cut by the limit still holds the newest records, which is
// enough as long as the new list reaches the limit again.
// It gives up (nil, nil) when there is no previous list, when it would
// need records the old list left out, or when the collection object
// changed (it may have been deleted and re-created, which drops the
// tombstones).
func (s *State) mergeChangeset(k kinto.Key, limit int) (*renderedChangeset, error) {
	s.mu.Lock()
	last, ok := s.lastFull[fullKey{k, limit}]
	s.mu.Unlock()
	base, cached := s.cache.Peek(last)
	if !ok || !cached {
		return nil, nil
	}
	cs, err := s.source.Changeset(s.ctx, k, base.records, 0)
	if err != nil {
		return nil, fmt.Errorf("reading the changes of %s/%s: %w", k.Bucket, k.Collection, err)
	}
	if cs.Metadata == nil || cs.MetadataTimestamp != base.meta {
		return nil, nil
	}
	changed := make(map[string]bool, len(cs.Changes))
	items := make([][]byte, 0, len(base.items)+len(cs.Changes))
	ids := make([]string, 0, cap(items))
	for _, c := range cs.Changes {
		id := gjson.GetBytes(c, "id").String()
		changed[id] = true
		if !gjson.GetBytes(c, "deleted").Bool() {
			items, ids = append(items, c), append(ids, id)
		}
	}
	for i, id := range base.ids {
		if !changed[id] {
			items, ids = append(items, base.items[i]), append(ids, id)
		}
	}
	cut := limit > 0 && len(items) >= limit
	if !base.complete && !cut {
		return nil, nil
	}
	if cut {
		items, ids = items[:limit], ids[:limit]
	}
	rc, err := render(k, cs.Metadata, cs.MetadataTimestamp, cs.Timestamp, items, ids)
	if rc != nil {
		rc.complete = !cut
	}
	return rc, err
}

// render renders {"metadata": collection + bucket, "timestamp",
// "changes"} in the reference's key order. When ids is not nil the
// result keeps its items (as slices of its body) and ids.
func render(k kinto.Key, metadata json.RawMessage, metaTS, records int64, items [][]byte, ids []string) (*renderedChangeset, error) {
	meta, err := sjson.SetBytes(metadata, "bucket", k.Bucket)
	if err != nil {
		return nil, fmt.Errorf("adding the bucket to the collection metadata: %w", err)
	}
	size := len(meta) + 64
	for _, c := range items {
		size += len(c) + 1
	}
	b := make([]byte, 0, size)
	b = append(b, `{"metadata":`...)
	b = append(b, meta...)
	b = append(b, `,"timestamp":`...)
	b = strconv.AppendInt(b, records, 10)
	b = append(b, `,"changes":[`...)
	var kept [][]byte
	if ids != nil {
		kept = make([][]byte, len(items))
	}
	for i, c := range items {
		if i > 0 {
			b = append(b, ',')
		}
		start := len(b)
		b = append(b, c...)
		if kept != nil {
			kept[i] = b[start:len(b):len(b)]
		}
	}
	b = append(b, "]}"...)
	// The collection object is not bumped when its records change (there
	// is no signer here), so Last-Modified is the newer of the two: it
	// changes whenever the body does.
	return &renderedChangeset{body: b, lastModified: max(metaTS, records), records: records, meta: metaTS, items: kept, ids: ids}, nil
}

// asBytes views raw JSON items as byte slices.
func asBytes(items []json.RawMessage) [][]byte {
	out := make([][]byte, len(items))
	for i, c := range items {
		out[i] = c
	}
	return out
}
