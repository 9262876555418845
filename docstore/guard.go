package docstore

import (
	"context"
	"errors"

	"github.com/changegate/changegate/kinto"
)

// errWouldWrite stops fn at its first write in a read-only transaction:
// the request changes something, so it must run again in a read-write
// transaction.
var errWouldWrite = errors.New("the request writes")

// BackendError is a failure of the storage engine itself (a full disk, an
// I/O error, a broken file), as opposed to a request the API refuses.
// It answers Kinto's 503 errno 201, with Retry-After.
type BackendError struct{ Err error }

func (e *BackendError) Error() string { return "storage backend: " + e.Err.Error() }
func (e *BackendError) Unwrap() error { return e.Err }

// asBackendError marks an engine error as a storage failure; ErrNotFound,
// context ends, Kinto errors and the store's own signals pass unchanged.
func asBackendError(err error) error {
	var ke *kinto.Error
	var be *BackendError
	switch {
	case err == nil, errors.Is(err, ErrNotFound), errors.Is(err, context.Canceled),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, errNeedsWrite),
		errors.Is(err, errWouldWrite), errors.As(err, &ke), errors.As(err, &be):
		return err
	}
	return &BackendError{Err: err}
}

// guardTx is the Tx the store hands to ops: it marks engine failures as
// BackendErrors and, when dry (in read-only transactions), stops at the
// first write.
type guardTx struct {
	tx  Tx
	dry bool
}

var _ Tx = guardTx{}

func (g guardTx) Get(parent, kind, id string) (*Object, error) {
	obj, err := g.tx.Get(parent, kind, id)
	return obj, asBackendError(err)
}

func (g guardTx) GetVersion(parent, kind, id string) (*Object, error) {
	obj, err := g.tx.GetVersion(parent, kind, id)
	return obj, asBackendError(err)
}

func (g guardTx) Put(parent, kind string, obj *Object) error {
	if g.dry {
		return errWouldWrite
	}
	return asBackendError(g.tx.Put(parent, kind, obj))
}

func (g guardTx) Scan(parent, kind string, opts ScanOptions, fn func(*Object) (bool, error)) error {
	// fn's own errors come back as they are: only the engine's are marked.
	var fnErr error
	err := g.tx.Scan(parent, kind, opts, func(obj *Object) (bool, error) {
		more, err := fn(obj)
		fnErr = err
		return more, err
	})
	if err != nil && err == fnErr {
		return err
	}
	return asBackendError(err)
}

func (g guardTx) Count(parent, kind string) (int, error) {
	n, err := g.tx.Count(parent, kind)
	return n, asBackendError(err)
}

func (g guardTx) Timestamp(parent, kind string) (int64, bool, error) {
	ts, ok, err := g.tx.Timestamp(parent, kind)
	return ts, ok, asBackendError(err)
}

func (g guardTx) SetTimestamp(parent, kind string, ts int64) error {
	if g.dry {
		return errWouldWrite
	}
	return asBackendError(g.tx.SetTimestamp(parent, kind, ts))
}

func (g guardTx) Timestamps(kind string, fn func(parent string, ts int64) error) error {
	var fnErr error
	err := g.tx.Timestamps(kind, func(parent string, ts int64) error {
		fnErr = fn(parent, ts)
		return fnErr
	})
	if err != nil && err == fnErr {
		return err
	}
	return asBackendError(err)
}

func (g guardTx) DeleteTree(uri string) error {
	if g.dry {
		return errWouldWrite
	}
	return asBackendError(g.tx.DeleteTree(uri))
}
