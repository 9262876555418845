package changes

import (
	"context"
	"encoding/json"
	"net/http"
)

// Key names a collection.
type Key struct {
	Bucket, Collection string
}

// uri is the collection URI without the version prefix, as Kinto writes
// parent ids: /buckets/{bid}/collections/{cid}.
func (k Key) uri() string {
	return "/buckets/" + k.Bucket + "/collections/" + k.Collection
}

// Kinds of objects an Event can be about; events about other kinds
// (groups) are ignored.
const (
	KindRecord     = "record"
	KindCollection = "collection"
	KindBucket     = "bucket"
)

// Event reports one committed write.
type Event struct {
	// Kind is the kind of object written.
	Kind string
	// Bucket is the bucket the object lives in (or is).
	Bucket string
	// Collection is the record's collection, or the collection itself.
	Collection string
	// Timestamp is the object's new last_modified; for records it is
	// also the collection's new records timestamp.
	Timestamp int64
	// Deleted reports a deletion. Deleting a collection or a bucket
	// removes everything below it.
	Deleted bool
}

// Changeset is a consistent view of one collection.
type Changeset struct {
	// Metadata is the collection object; nil when it does not exist.
	Metadata json.RawMessage
	// MetadataTimestamp is the collection object's last_modified.
	MetadataTimestamp int64
	// Timestamp is the collection's records timestamp.
	Timestamp int64
	// Changes are the records newer than the requested timestamp (with
	// tombstones when it is positive), newest first.
	Changes []json.RawMessage
}

// Source is where changes come from: the embedded docstore, or (later) an
// upstream Kinto server. It is the storage seam of DESIGN.md.
type Source interface {
	// Timestamps returns the records timestamp of every collection that
	// has one, in one read.
	Timestamps(ctx context.Context) (map[Key]int64, error)
	// Changeset reads a collection's changeset in one consistent read:
	// records newer than since (and tombstones when since > 0), newest
	// first, at most limit of them (limit <= 0: no limit).
	Changeset(ctx context.Context, key Key, since int64, limit int) (*Changeset, error)
	// Subscribe calls fn for every write committed from now on. fn is
	// called synchronously by writers and must not block; events of
	// concurrent writes may arrive out of commit order.
	Subscribe(fn func(Event)) (unsubscribe func())
	// ReadChanges reads a collection's records changed after q.Since,
	// tombstones included, in one consistent read: what the _changes
	// feeds serve.
	ReadChanges(ctx context.Context, key Key, q ChangesQuery) (*ChangesPage, error)
}

// ChangesQuery asks a Source for a collection's changes.
type ChangesQuery struct {
	// Since excludes changes at or before this timestamp; 0 for all.
	Since int64
	// Limit bounds the changes returned; <= 0 for no limit.
	Limit int
	// Descending asks for the newest first; the default is oldest first,
	// so that a limited read returns the changes a client resuming from
	// Since needs next.
	Descending bool
	// NoPending tells the source that the caller will read on anyway (a
	// batch of a longer read): it may skip counting and answer -1.
	NoPending bool
}

// ChangesPage is one read of a collection's changes.
type ChangesPage struct {
	// Exists reports whether the collection exists.
	Exists bool
	// Timestamp is the collection's records timestamp at the read.
	Timestamp int64
	// Changes are records, and tombstones ({"id", "last_modified",
	// "deleted": true}), each with a distinct last_modified, in the
	// requested order.
	Changes []json.RawMessage
	// Pending counts the changes after Since that Limit left out; -1
	// when the source cannot tell cheaply.
	Pending int
	// Meta, when not nil, holds each change's id, last_modified and
	// deletion in the order of Changes, so that readers need not parse
	// them back out of the JSON.
	Meta []ChangeMeta
}

// ChangeMeta is what identifies a change.
type ChangeMeta struct {
	ID           string
	LastModified int64
	Deleted      bool
}

// Access applies the store's identities, permissions and common response
// headers to the endpoints this package answers.
type Access interface {
	// CanRead returns nil when the request may read the collection, else
	// the error to answer (Kinto's 401, 403 or 404 as a
	// *docstore.Error, or any error for a failure).
	CanRead(r *http.Request, key Key) error
	// Decorate adds the headers every response of the store carries
	// (CORS, Backoff, Alert, Retry-After...) once the status is known.
	Decorate(r *http.Request, status int, header http.Header)
}
