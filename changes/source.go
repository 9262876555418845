package changes

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/changegate/changegate/docstore"
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

// Kinds of objects an Event can be about. Group events change no
// timestamp the registry keeps; live feeds check their readers again.
const (
	KindRecord     = "record"
	KindCollection = "collection"
	KindBucket     = "bucket"
	KindGroup      = "group"
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

// The read the feeds make is described by the docstore's types, so that
// the embedded store answers it without a copy; an upstream Source fills
// them in too (its Meta may be nil: readers then parse each change).
type (
	// ChangesQuery asks a Source for a collection's changes.
	ChangesQuery = docstore.ChangesQuery
	// ChangesPage is one read of a collection's changes.
	ChangesPage = docstore.ChangesPage
	// ChangeMeta is what identifies a change.
	ChangeMeta = docstore.ChangeMeta
)

// Access applies the store's identities, permissions and common response
// headers to the endpoints this package answers.
type Access interface {
	// CanRead returns nil when the request may read the collection, else
	// the error to answer (Kinto's 401, 403 or 404 as a
	// *kinto.Error, or any error for a failure).
	CanRead(r *http.Request, key Key) error
	// Decorate adds the headers every response of the store carries
	// (CORS, Backoff, Alert, Retry-After...) once the status is known.
	Decorate(r *http.Request, status int, header http.Header)
	// Anonymous reports whether the request carries no identity: its
	// monitor view is the one shared by every anonymous caller.
	Anonymous(r *http.Request) bool
	// EndOfService reports whether the store's end of service passed
	// (Kinto's eos setting): Kinto then answers every request 410, its
	// plugins' routes included, so the handler leaves them to the next
	// handler, which answers as the store does.
	EndOfService() bool
}
