package docstore

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/changegate/changegate/kinto"
)

// ChangeSource is the store seen through the change seam (kinto.Source):
// timestamps and changesets read in-process, changes pushed by its commit
// events (no polling).
type ChangeSource struct {
	Store *Store
}

// Local reports that the store reads in this process: a feed may ask it
// for its current position without a round trip.
func (ChangeSource) Local() bool { return true }

// Timestamps returns every collection's records timestamp.
func (s ChangeSource) Timestamps(ctx context.Context) (map[kinto.Key]int64, error) {
	all, err := s.Store.RecordsTimestamps(ctx)
	if err != nil {
		return nil, err
	}
	return all, nil
}

// Changeset reads a collection's changeset in one read transaction.
func (s ChangeSource) Changeset(ctx context.Context, key kinto.Key, since int64, limit int) (*kinto.Changeset, error) {
	cs, err := s.Store.ReadChangeset(ctx, key.Bucket, key.Collection, since, limit)
	if err != nil {
		return nil, err
	}
	return cs, nil
}

// ReadChanges reads a collection's changes in one read transaction.
func (s ChangeSource) ReadChanges(ctx context.Context, key kinto.Key, q kinto.ChangesQuery) (*kinto.ChangesPage, error) {
	return s.Store.ReadChanges(ctx, key.Bucket, key.Collection, q)
}

// ReadDocs reads records and tombstones by id in one read transaction.
func (s ChangeSource) ReadDocs(ctx context.Context, key kinto.Key, ids []string) (*kinto.ChangesPage, error) {
	return s.Store.ReadDocs(ctx, key.Bucket, key.Collection, ids)
}

// Sync returns once the events of every write committed before it have
// been published (Store.Sync): instant unless other writers share the
// engine.
func (s ChangeSource) Sync(ctx context.Context) error { return s.Store.Sync(ctx) }

// Subscribe forwards the store's commit events.
func (s ChangeSource) Subscribe(fn func(kinto.Event)) func() {
	return s.Store.Subscribe(fn)
}

// ChangeAccess applies a handler's authentication, permissions and
// common headers to the change endpoints (kinto.Access).
type ChangeAccess struct {
	Handler *Handler
}

// CanRead checks the collection's read permission as the docstore would
// for GET .../records.
func (a ChangeAccess) CanRead(r *http.Request, key kinto.Key) error {
	caller, err := a.Handler.Identify(r)
	if err != nil {
		return err
	}
	return a.Handler.CanReadCollection(r.Context(), caller, key.Bucket, key.Collection)
}

// CallerKey names the caller's principals: callers with the same key
// may read the same collections.
func (a ChangeAccess) CallerKey(r *http.Request) (string, error) {
	caller, err := a.Handler.Identify(r)
	if err != nil {
		return "", err
	}
	return caller.CallerKey(), nil
}

// KeepReader keeps the caller's user id only: the docstore identifies a
// request by it (and derives its groups again on every check).
func (a ChangeAccess) KeepReader(r *http.Request) (*http.Request, error) {
	caller, err := a.Handler.Identify(r)
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	if id := caller.UserID(); id != "" {
		ctx = WithUser(ctx, id)
	}
	return (&http.Request{Method: http.MethodGet}).WithContext(ctx), nil
}

// CanReadAll checks the read permission of every collection in one read.
func (a ChangeAccess) CanReadAll(r *http.Request, keys []kinto.Key) ([]bool, error) {
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
func (a ChangeAccess) Anonymous(r *http.Request) bool { return a.Handler.Anonymous(r) }

// EndOfService reports whether the docstore's eos date passed.
func (a ChangeAccess) EndOfService() bool { return a.Handler.EndOfService() }

// Decorate adds to a response that the change endpoints answer the
// headers every response of the handler carries: X-Content-Type-Options,
// Content-Security-Policy, CORS, Backoff, Retry-After on 503 and 409 and
// the end-of-service Alert. The Access-Control-Expose-Headers already in
// hd is kept (the default list is set when there is none).
func (a ChangeAccess) Decorate(r *http.Request, status int, hd http.Header) {
	req := &request{method: r.Method, header: r.Header}
	a.Handler.finish(req, &response{status: status, header: hd, expose: hd.Get("Access-Control-Expose-Headers")})
}

// ReadCheckpoint reads a replication checkpoint from the docstore.
func (s ChangeSource) ReadCheckpoint(ctx context.Context, key kinto.Key, owner, id string) (json.RawMessage, bool, error) {
	return s.Store.ReadCheckpoint(ctx, key.Bucket, key.Collection, owner, id)
}

// WriteCheckpoint writes a replication checkpoint in the docstore.
func (s ChangeSource) WriteCheckpoint(ctx context.Context, key kinto.Key, owner, id string, update func(json.RawMessage) (json.RawMessage, bool)) (bool, bool, error) {
	return s.Store.WriteCheckpoint(ctx, key.Bucket, key.Collection, owner, id, update)
}

// Owner is the caller's user id ("" when anonymous).
func (a ChangeAccess) Owner(r *http.Request) (string, error) {
	caller, err := a.Handler.Identify(r)
	if err != nil {
		return "", err
	}
	return caller.UserID(), nil
}

// CanWrite checks the collection's write permission.
func (a ChangeAccess) CanWrite(r *http.Request, key kinto.Key) error {
	caller, err := a.Handler.Identify(r)
	if err != nil {
		return err
	}
	return a.Handler.CanWriteCollection(r.Context(), caller, key.Bucket, key.Collection)
}
