package docstore

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/changegate/changegate/kinto"
	"github.com/google/uuid"
)

// KindHistory is a history entry (Kinto's history plugin), stored under
// its bucket's URI.
const KindHistory = "history"

// HistoryConfig holds the settings of the history feature.
type HistoryConfig struct {
	// ExcludeResources are bucket, collection or object URIs whose
	// changes are not tracked (history.exclude_resources).
	ExcludeResources []string
	// MaxEntries, when positive, bounds the entries kept per bucket: once
	// a bucket holds more than MaxEntries plus a tenth (at least 100
	// more, Kinto's auto_trim_threshold), its oldest entries are dropped
	// down to MaxEntries. Kinto's auto_trim_max_count counts per kind of
	// object; this counts the bucket as a whole.
	MaxEntries int
}

// historyFields are the members of an entry, which filters, sorting and
// _fields may name (Kinto's HistorySchema).
var historyFields = []string{"user_id", "uri", "action", "date", "resource_name",
	"bucket_id", "collection_id", "group_id", "record_id", "target"}

// trackHistory records the history entry of a write of obj to r, which
// existed (live) before when existed is set. It runs in the write's
// transaction, so an entry exists if and only if its write does.
func (o *op) trackHistory(r ref, obj *Object, existed bool) error {
	cfg := o.history
	if cfg == nil {
		return nil
	}
	bucket := r.Bucket
	if r.Kind == KindBucket {
		if obj.Deleted {
			// A bucket's history goes with it.
			return nil
		}
		bucket = r.ID
	}
	var collectionURI string
	switch r.Kind {
	case KindRecord:
		collectionURI = CollectionURI(bucket, r.Collection)
	case KindCollection:
		collectionURI = r.uri()
	}
	for _, uri := range []string{BucketURI(bucket), collectionURI, r.uri()} {
		if uri != "" && slices.Contains(cfg.ExcludeResources, uri) {
			return nil
		}
	}
	readers, err := o.historyReaders(r, bucket, obj)
	if err != nil {
		return err
	}
	parent := BucketURI(bucket)
	ts, err := o.bumpTimestamp(parent, KindHistory, 0)
	if err != nil {
		return err
	}
	id := uuid.NewString()
	data, err := historyEntry(r, obj, existed, o.actor, id, ts)
	if err != nil {
		return err
	}
	entry := &Object{ID: id, LastModified: ts, Data: data, Permissions: Permissions{permRead: readers}}
	if err := o.tx.Put(parent, KindHistory, entry); err != nil {
		return err
	}
	return o.trimHistory(parent, cfg.MaxEntries)
}

// historyReaders are the principals who may read an entry without
// reading the whole bucket: readers and writers of the bucket, of the
// collection, and of the object itself, as Kinto grants them.
func (o *op) historyReaders(r ref, bucket string, obj *Object) ([]string, error) {
	var readers []string
	add := func(p Permissions) {
		readers = append(readers, p[permRead]...)
		readers = append(readers, p[permWrite]...)
	}
	owners := []ref{{Kind: KindBucket, ID: bucket}}
	if r.Kind == KindRecord {
		owners = append(owners, ref{Kind: KindCollection, Bucket: bucket, ID: r.Collection})
	}
	for _, owner := range owners {
		if owner == r {
			continue
		}
		parent, err := o.get(owner)
		if err != nil {
			return nil, err
		}
		if parent != nil {
			add(parent.Permissions)
		}
	}
	add(obj.Permissions)
	return normalizePrincipals(readers), nil
}

// historyEntry renders an entry in Kinto's member order: date, target,
// action, uri, user_id, resource_name, the ids, id, last_modified. Only a
// bucket's entries carry bucket_id; a record's carry its collection_id.
func historyEntry(r ref, obj *Object, existed bool, actor, id string, ts int64) ([]byte, error) {
	action := "update"
	switch {
	case obj.Deleted:
		action = "delete"
	case !existed:
		action = "create"
	}
	data := obj.Data
	perms := obj.Permissions.orEmpty()
	if obj.Deleted {
		data, perms = tombstoneData(obj), Permissions{}
	}
	permsJSON, err := json.Marshal(perms)
	if err != nil {
		return nil, err
	}
	user := []byte("null")
	if actor != "" {
		user = kinto.AppendJSONString(nil, actor)
	}
	ms := []member{
		{key: "date", val: kinto.AppendJSONString(nil, pythonISODate(time.Now()))},
		{key: "target", val: buildObject([]member{{key: "data", val: data}, {key: "permissions", val: permsJSON}})},
		{key: "action", val: kinto.AppendJSONString(nil, action)},
		{key: "uri", val: kinto.AppendJSONString(nil, r.uri())},
		{key: "user_id", val: user},
		{key: "resource_name", val: kinto.AppendJSONString(nil, r.Kind)},
	}
	switch r.Kind {
	case KindBucket:
		ms = append(ms, member{key: "bucket_id", val: kinto.AppendJSONString(nil, r.ID)})
	case KindRecord:
		ms = append(ms, member{key: "collection_id", val: kinto.AppendJSONString(nil, r.Collection)},
			member{key: "record_id", val: kinto.AppendJSONString(nil, r.ID)})
	default:
		ms = append(ms, member{key: r.Kind + "_id", val: kinto.AppendJSONString(nil, r.ID)})
	}
	ms = append(ms, member{key: "id", val: kinto.AppendJSONString(nil, id)},
		member{key: "last_modified", val: strconv.AppendInt(nil, ts, 10)})
	return buildObject(ms), nil
}

// pythonISODate is Python's datetime.now(timezone.utc).isoformat().
func pythonISODate(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000") + "+00:00"
}

// trimHistory drops the oldest entries of a bucket beyond limit, once it
// holds more than limit plus the slack (so that trimming is occasional).
func (o *op) trimHistory(parent string, limit int) error {
	if limit <= 0 {
		return nil
	}
	n, err := o.tx.Count(parent, KindHistory)
	if err != nil || n <= limit+max(limit/10, 100) {
		return err
	}
	var old []*Object
	err = o.tx.Scan(parent, KindHistory, ScanOptions{Ascending: true, Bare: true}, func(obj *Object) (bool, error) {
		old = append(old, obj)
		return len(old) < n-limit, nil
	})
	if err != nil {
		return err
	}
	for _, obj := range old {
		ts, err := o.bumpTimestamp(parent, KindHistory, 0)
		if err != nil {
			return err
		}
		if err := o.tx.Put(parent, KindHistory, &Object{ID: obj.ID, LastModified: ts, Deleted: true}); err != nil {
			return err
		}
	}
	return nil
}
