package changes

import (
	"context"
	"net/http"

	"github.com/changegate/changegate/docstore"
)

// DocstoreSource reads the embedded docstore in-process: timestamps and
// changesets through its storage seam, changes through its commit events
// (no polling).
type DocstoreSource struct {
	Store *docstore.Store
}

// Timestamps returns every collection's records timestamp.
func (s DocstoreSource) Timestamps(ctx context.Context) (map[Key]int64, error) {
	all, err := s.Store.RecordsTimestamps(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[Key]int64, len(all))
	for k, ts := range all {
		out[Key{Bucket: k.Bucket, Collection: k.Collection}] = ts
	}
	return out, nil
}

// Changeset reads a collection's changeset in one read transaction.
func (s DocstoreSource) Changeset(ctx context.Context, key Key, since int64, limit int) (*Changeset, error) {
	cs, err := s.Store.ReadChangeset(ctx, key.Bucket, key.Collection, since, limit)
	if err != nil {
		return nil, err
	}
	return &Changeset{
		Metadata:          cs.Metadata,
		MetadataTimestamp: cs.MetadataTimestamp,
		Timestamp:         cs.Timestamp,
		Changes:           cs.Changes,
	}, nil
}

// ReadChanges reads a collection's changes in one read transaction.
func (s DocstoreSource) ReadChanges(ctx context.Context, key Key, q ChangesQuery) (*ChangesPage, error) {
	return s.Store.ReadChanges(ctx, key.Bucket, key.Collection, q)
}

// Subscribe forwards the store's commit events.
func (s DocstoreSource) Subscribe(fn func(Event)) func() {
	return s.Store.Subscribe(func(ev docstore.Event) {
		fn(Event{Kind: ev.Kind, Bucket: ev.Bucket, Collection: ev.Collection, Timestamp: ev.Timestamp, Deleted: ev.Deleted})
	})
}

// DocstoreAccess applies a docstore handler's authentication,
// permissions and common headers.
type DocstoreAccess struct {
	Handler *docstore.Handler
}

// CanRead checks the collection's read permission as the docstore would
// for GET .../records.
func (a DocstoreAccess) CanRead(r *http.Request, key Key) error {
	caller, err := a.Handler.Identify(r)
	if err != nil {
		return err
	}
	return a.Handler.CanReadCollection(r.Context(), caller, key.Bucket, key.Collection)
}

// CallerKey names the caller's principals: callers with the same key
// may read the same collections.
func (a DocstoreAccess) CallerKey(r *http.Request) (string, error) {
	caller, err := a.Handler.Identify(r)
	if err != nil {
		return "", err
	}
	return caller.CallerKey(), nil
}

// KeepReader keeps the caller's user id only: the docstore identifies a
// request by it (and derives its groups again on every check).
func (a DocstoreAccess) KeepReader(r *http.Request) (*http.Request, error) {
	caller, err := a.Handler.Identify(r)
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	if id := caller.UserID(); id != "" {
		ctx = docstore.WithUser(ctx, id)
	}
	return (&http.Request{Method: http.MethodGet}).WithContext(ctx), nil
}

// CanReadAll checks the read permission of every collection in one read.
func (a DocstoreAccess) CanReadAll(r *http.Request, keys []Key) ([]bool, error) {
	caller, err := a.Handler.Identify(r)
	if err != nil {
		return nil, err
	}
	buckets, collections := make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		buckets[i], collections[i] = k.Bucket, k.Collection
	}
	return a.Handler.CanReadCollections(r.Context(), caller, buckets, collections)
}

// Anonymous reports whether the docstore sees no user in r.
func (a DocstoreAccess) Anonymous(r *http.Request) bool { return a.Handler.Anonymous(r) }

// EndOfService reports whether the docstore's eos date passed.
func (a DocstoreAccess) EndOfService() bool { return a.Handler.EndOfService() }

// Decorate adds the docstore's common response headers.
func (a DocstoreAccess) Decorate(r *http.Request, status int, header http.Header) {
	a.Handler.Decorate(r, status, header)
}
