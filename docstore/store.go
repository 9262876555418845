package docstore

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/changegate/changegate/kinto"
)

// Store applies Kinto's rules (timestamps, parents, tombstones) over an
// Engine and publishes an Event for every committed write.
type Store struct {
	engine Engine
	hub    Hub
	now    func() time.Time
}

// NewStore returns a Store over engine. The engine stays the caller's to
// close.
func NewStore(engine Engine) *Store {
	return &Store{engine: engine, now: time.Now}
}

// Subscribe registers fn for every event committed from now on (see Hub).
func (s *Store) Subscribe(fn func(kinto.Event)) (unsubscribe func()) { return s.hub.Subscribe(fn) }

// nowMillis is the store clock in epoch milliseconds.
func (s *Store) nowMillis() int64 { return s.now().UnixMilli() }

// errNeedsWrite is returned by a read-only op that found a list without a
// stored timestamp: the caller initialises it in a write transaction and
// retries (Kinto stores "now" on the first read of an empty list, so the
// list's ETag is stable from then on).
var errNeedsWrite = errors.New("list timestamp must be initialised")

// op is one unit of work inside a transaction: a request, or a batch of
// them. It collects the events to publish once the transaction commits.
type op struct {
	s        *Store
	tx       Tx
	writable bool
	events   []kinto.Event
	// seen caches the objects read by ref: permission checks, parent
	// checks and handlers all read the same bucket and collection.
	seen map[ref]*Object
	// kept holds what must not be redone when fn runs again for the
	// same request, and onces counts the once calls of this run (see
	// once).
	kept  map[string]bool
	onces int
	// after runs once the transaction has committed.
	after []func()
	// actor is the user id the writes are credited to ("" anonymous),
	// and history the history settings (nil: not tracked); the handler
	// sets both for each request it serves.
	actor   string
	history *HistoryConfig
	// attachments are the attachments settings (nil: off), and
	// removeFile deletes a file once the transaction commits.
	attachments *AttachmentsConfig
	removeFile  func(path string)
}

// once returns the result of f, calling it only the first time fn gets
// here within one store call: fn runs more than once (read-only first,
// then for real; group-commit retries), and some steps, such as
// consuming a one-time pagination token, must happen once. Runs take the same path
// up to their first write, so the n-th call of a run is the n-th call of
// the previous one: key and position together name it, and two batch
// sub-requests with the same key stay two calls.
func (o *op) once(key string, f func() bool) bool {
	o.onces++
	k := strconv.Itoa(o.onces) + " " + key
	if o.kept == nil {
		o.kept = map[string]bool{}
	}
	if v, ok := o.kept[k]; ok {
		return v
	}
	v := f()
	o.kept[k] = v
	return v
}

// afterCommit runs f once the write transaction has committed (never if
// it does not).
func (o *op) afterCommit(f func()) { o.after = append(o.after, f) }

// read runs fn in a read-only transaction, upgrading to a write
// transaction when fn needs to initialise a list timestamp.
func (s *Store) read(ctx context.Context, fn func(*op) error) error {
	kept := map[string]bool{}
	var fnErr error
	err := s.engine.View(ctx, func(tx Tx) error {
		fnErr = fn(&op{s: s, tx: guardTx{tx: tx, dry: true}, kept: kept})
		return fnErr
	})
	switch {
	case errors.Is(err, errNeedsWrite), errors.Is(err, errWouldWrite):
		return s.commit(ctx, kept, fn)
	case err != nil && err != fnErr:
		return asBackendError(err)
	}
	return err
}

// write runs fn for a request that may write. fn first runs as a read,
// in a read-only transaction that stops at its first write: a request
// that changes nothing (refused with 401, 403, 400, 404 or 412, or a
// batch of reads) is answered from that snapshot without taking the
// writer lock, committing or syncing the disk, so anonymous refused
// writes cannot force fsyncs. Only a request that writes runs again, in
// a durable read-write transaction. On an engine where a transaction
// that writes nothing costs no flush (CheapRollback), the read would
// only double the round trips of every accepted write: fn runs once, in
// the read-write transaction.
func (s *Store) write(ctx context.Context, fn func(*op) error) error {
	if cr, ok := s.engine.(CheapRollback); ok && cr.CheapRollback() {
		return s.commit(ctx, map[string]bool{}, fn)
	}
	return s.read(ctx, fn)
}

// commit runs fn in a durable read-write transaction and publishes its
// events after the commit.
func (s *Store) commit(ctx context.Context, kept map[string]bool, fn func(*op) error) error {
	defer observeWrite(time.Now())
	var events []kinto.Event
	var after []func()
	var fnErr error
	err := s.engine.Update(ctx, func(tx Tx) error {
		o := &op{s: s, tx: guardTx{tx: tx}, writable: true, kept: kept}
		fnErr = fn(o)
		events, after = o.events, o.after
		return fnErr
	})
	if err != nil && err != fnErr {
		// The engine failed outside fn: beginning or committing.
		return asBackendError(err)
	}
	if err != nil {
		return err
	}
	s.hub.Publish(events)
	for _, f := range after {
		f()
	}
	return nil
}

// listTimestamp returns the timestamp of (parent, kind), storing "now" when
// the list never had one.
func (o *op) listTimestamp(parent, kind string) (int64, error) {
	ts, ok, err := o.tx.Timestamp(parent, kind)
	if err != nil || ok {
		return ts, err
	}
	if !o.writable {
		return 0, errNeedsWrite
	}
	ts = o.s.nowMillis()
	if err := o.tx.SetTimestamp(parent, kind, ts); err != nil {
		return 0, err
	}
	if key, ok := parseCollectionURI(parent); ok && kind == KindRecord {
		// The collection now has a records timestamp: tell the changes
		// registry, as Kinto's monitor lists it from then on.
		o.events = append(o.events, kinto.Event{Kind: KindRecord, Bucket: key.Bucket, Collection: key.Collection, Timestamp: ts})
	}
	return ts, nil
}

// bumpTimestamp assigns the timestamp of a new write to (parent, kind) and
// stores it as the list's timestamp. A client-supplied timestamp is kept
// when it is newer than the list's; otherwise the write gets the current
// time, or previous+1 when the clock has not moved past the list. Unlike
// Kinto's memory backend we never keep a client timestamp older than the
// list's: a reader polling with _since would miss that write.
func (o *op) bumpTimestamp(parent, kind string, requested int64) (int64, error) {
	prev, _, err := o.tx.Timestamp(parent, kind)
	if err != nil {
		return 0, err
	}
	ts := requested
	if ts <= prev {
		ts = max(o.s.nowMillis(), prev+1)
	}
	if err := o.tx.SetTimestamp(parent, kind, ts); err != nil {
		return 0, err
	}
	return ts, nil
}

// put stores obj under r's list and records the event.
func (o *op) put(r ref, obj *Object) error {
	r = r.withID(obj.ID)
	existed := false
	if o.history != nil && r.Kind != KindAccount {
		prev, err := o.get(r)
		if err != nil {
			return err
		}
		existed = prev != nil
	}
	// Every write is a new version: the engine numbers it, whatever a
	// read left in obj.
	obj.Generation = 0
	if err := o.tx.Put(r.parent(), r.Kind, obj); err != nil {
		return err
	}
	o.remember(r, obj)
	if r.Kind == KindAccount {
		// Accounts are not part of any bucket: no change to announce.
		return nil
	}
	o.events = append(o.events, r.event(obj.LastModified, obj.Deleted))
	return o.trackHistory(r, obj, existed)
}

// get returns the live object r names, or nil.
func (o *op) get(r ref) (*Object, error) {
	if obj, ok := o.seen[r]; ok {
		return obj, nil
	}
	obj, err := o.tx.Get(r.parent(), r.Kind, r.ID)
	if err = ignoreNotFound(err); err != nil {
		return nil, err
	}
	o.remember(r, obj)
	return obj, nil
}

// remember caches what r names now (nil for nothing or a tombstone).
func (o *op) remember(r ref, obj *Object) {
	if o.seen == nil {
		o.seen = map[ref]*Object{}
	}
	if obj != nil && obj.Deleted {
		obj = nil
	}
	o.seen[r] = obj
}

// deleteTree removes everything below uri and forgets what was read.
func (o *op) deleteTree(uri string) error {
	clear(o.seen)
	return o.tx.DeleteTree(uri)
}

// ignoreNotFound turns ErrNotFound into no error.
func ignoreNotFound(err error) error {
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// requireParents returns Kinto's 404 (errno 111) when the bucket or the
// collection that r lives in does not exist.
func (o *op) requireParents(r ref) error {
	if r.Kind == KindBucket {
		return nil
	}
	if !validID(r.Bucket) {
		return parentNotFound(KindBucket, r.Bucket)
	}
	b, err := o.get(ref{Kind: KindBucket, ID: r.Bucket})
	if err != nil {
		return err
	}
	if b == nil {
		return parentNotFound(KindBucket, r.Bucket)
	}
	if r.Kind != KindRecord {
		return nil
	}
	if !validID(r.Collection) {
		return parentNotFound(KindCollection, r.Collection)
	}
	c, err := o.get(ref{Kind: KindCollection, Bucket: r.Bucket, ID: r.Collection})
	if err != nil {
		return err
	}
	if c == nil {
		return parentNotFound(KindCollection, r.Collection)
	}
	return nil
}

// flush deletes everything (POST /__flush__), telling subscribers that
// every bucket is gone.
func (o *op) flush() error {
	err := o.tx.Scan("", KindBucket, ScanOptions{}, func(obj *Object) (bool, error) {
		o.events = append(o.events, kinto.Event{Kind: KindBucket, Bucket: obj.ID, ID: obj.ID, Timestamp: obj.LastModified, Deleted: true})
		return true, nil
	})
	if err != nil {
		return err
	}
	return o.deleteTree("")
}
