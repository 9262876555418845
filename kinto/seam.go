package kinto

import (
	"context"
	"encoding/json"
	"net/http"
)

// The change seam: what the change endpoints and feeds read storage
// through. The embedded document store and the sidecar's upstream Kinto
// server are its two implementations; neither knows the other.

// Key names a collection.
type Key struct {
	Bucket, Collection string
}

// URI is the collection URI without the version prefix, as Kinto writes
// parent ids: /buckets/{bid}/collections/{cid}.
func (k Key) URI() string {
	return "/buckets/" + k.Bucket + "/collections/" + k.Collection
}

// Kinds of objects an Event can be about. Group events change no
// timestamp a reader keeps; live feeds check their readers again.
const (
	KindRecord     = "record"
	KindCollection = "collection"
	KindBucket     = "bucket"
	KindGroup      = "group"
)

// Event reports one committed write. Events are published once the write
// is durable; those of one transaction arrive in order, those of
// concurrent transactions may interleave: keep the highest timestamp.
type Event struct {
	// Kind is the kind of object written.
	Kind string
	// Bucket is the bucket the object lives in (or is).
	Bucket string
	// Collection is the record's collection, or the collection itself.
	Collection string
	// ID is the object's id; "" when a list timestamp was initialised
	// without a write (the first read of an empty records list) or when
	// the source does not know it.
	ID string
	// Timestamp is the object's new last_modified, which is also the new
	// timestamp of its list (for records: the collection's records
	// timestamp).
	Timestamp int64
	// Deleted reports a deletion. Deleting a collection or a bucket
	// removes everything below it, without further events.
	Deleted bool
}

// Changeset is a consistent view of one collection: its metadata, its
// records timestamp and its records changed since a timestamp.
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

// ChangesQuery asks a Source for a collection's changes.
type ChangesQuery struct {
	// Since excludes changes at or before this timestamp; 0 for all.
	Since int64
	// Limit bounds the changes returned; <= 0 for no limit.
	Limit int
	// Descending returns the newest first; the default is oldest first,
	// so that a limited read returns what a reader resuming from Since
	// needs next.
	Descending bool
	// NoPending skips counting what Limit left out (Pending is then -1
	// when the limit was reached).
	NoPending bool
}

// ChangesPage is one read of a collection's changes.
type ChangesPage struct {
	// Exists reports whether the collection (and its bucket) exists.
	Exists bool
	// Timestamp is the records timestamp, 0 when none is stored.
	Timestamp int64
	// Changes are the records and tombstones ({"id", "last_modified",
	// "deleted": true}) newer than Since, each with a distinct
	// last_modified, in the requested order, at most Limit of them.
	Changes []json.RawMessage
	// Pending counts the changes newer than Since that Limit left out;
	// -1 when the reader cannot tell cheaply.
	Pending int
	// Meta holds each change's id, last_modified and deletion, in the
	// order of Changes, so that readers need not parse them back; a
	// reader that does not know them leaves it nil.
	Meta []ChangeMeta
}

// ChangeMeta is what identifies a change.
type ChangeMeta struct {
	ID           string
	LastModified int64
	Deleted      bool
	// Generation numbers the record's versions: 1 for its first write,
	// one more for each write after (updates, deletion, re-creation over
	// its tombstone). 0 when the source keeps no count (a plain Kinto
	// upstream).
	Generation int64
}

// DocReader is implemented by a Source that reads records by id: a
// replicator asking for documents by id and revision needs no scan of
// the changes.
type DocReader interface {
	// ReadDocs returns, in one consistent read, the current version of
	// each id stored (record or tombstone, as ReadChanges lists them, with
	// Meta), in any order; ids never written are left out. Exists reports
	// whether the collection exists.
	ReadDocs(ctx context.Context, key Key, ids []string) (*ChangesPage, error)
}

// Source is where changes come from.
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

// Access applies the store's identities, permissions and common response
// headers to the endpoints that answer in front of it.
type Access interface {
	// CanRead returns nil when the request may read the collection, else
	// the error to answer (Kinto's 401, 403 or 404 as an *Error, or any
	// error for a failure).
	CanRead(r *http.Request, key Key) error
	// Decorate adds the headers every response of the store carries
	// (CORS, Backoff, Alert, Retry-After...) once the status is known.
	Decorate(r *http.Request, status int, header http.Header)
	// Anonymous reports whether the request carries no identity: its
	// monitor view is the one shared by every anonymous caller.
	Anonymous(r *http.Request) bool
	// EndOfService reports whether the store's end of service passed
	// (Kinto's eos setting): Kinto then answers every request 410, its
	// plugins' routes included.
	EndOfService() bool
}
