package docstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Kinds of objects, as Kinto names its resources.
const (
	KindBucket     = "bucket"
	KindCollection = "collection"
	KindGroup      = "group"
	KindRecord     = "record"
	// KindAccount is an account of the accounts feature, stored as
	// Kinto's accounts plugin does: under the parent of its own id.
	KindAccount = "account"
)

// ErrNotFound is returned by Tx.Get when no live object has that id.
var ErrNotFound = errors.New("object not found")

// Object is one stored Kinto object or tombstone.
//
// Objects live under a parent URI ("" for buckets, "/buckets/b" for
// collections and groups, "/buckets/b/collections/c" for records) and a kind.
// Data is the complete JSON object as clients see it, including "id" and
// "last_modified"; it is kept as raw bytes so that reads never re-encode it
// and the client's key order survives. Tombstones have Deleted set and no
// Data or Permissions.
//
// Generation counts the versions of an id: Put numbers every write the
// one after the version it replaces, live or tombstone (1 for the
// first), unless Generation is positive, which a copy sets to keep the
// source's number. The change feeds derive each version's CouchDB
// revision from it (docs/feeds.md).
type Object struct {
	ID           string
	LastModified int64
	Deleted      bool
	Generation   int64
	Data         json.RawMessage
	Permissions  Permissions
}

// NextGeneration is the Generation Put stores for obj when it replaces
// a version numbered prev (0: none).
func NextGeneration(obj *Object, prev int64) int64 {
	if obj.Generation > 0 {
		return obj.Generation
	}
	return max(prev, 0) + 1
}

// Permissions maps a permission name ("read", "write", "record:create", ...)
// to the principals holding it.
type Permissions map[string][]string

// ScanOptions bounds a Tx.Scan.
type ScanOptions struct {
	// Since, when positive, restricts the scan to objects whose
	// last_modified is strictly greater.
	Since int64
	// IncludeDeleted includes tombstones.
	IncludeDeleted bool
	// Ascending walks oldest first (ties by ascending id) instead of
	// newest first, for readers resuming from Since (change feeds). The
	// walk ends at the newest object stored when it started, so objects
	// fn writes are not visited.
	Ascending bool
	// NoPermissions leaves Object.Permissions nil, for readers that do
	// not need them (a change feed): no decoding, no copy.
	NoPermissions bool
	// Bare leaves Data and Permissions nil: only ID, LastModified,
	// Deleted and Generation, for readers that count.
	Bare bool
	// Expect, when positive, is how many objects the caller expects to
	// take before it stops (a page and one more): an engine that reads in
	// pages may size its first page to it. A hint only: the scan goes on
	// for as long as fn asks.
	Expect int
	// Last says the scan is the last read of a View when its first page
	// holds all fn takes: an engine may end the transaction with that
	// page, and must then run the View again, wholly in one snapshot,
	// should anything follow.
	Last bool
}

// Engine is a storage engine: the embedded bbolt file, PostgreSQL, or an
// in-memory map in tests. Engines store objects and per-(parent, kind)
// timestamps; every Kinto rule (timestamps, preconditions, permissions)
// lives above them in Store, so engines stay small.
type Engine interface {
	// Update runs fn in a read-write transaction. When fn returns nil the
	// transaction is committed and durable (fsynced) before Update returns;
	// when fn returns an error nothing it did is kept. Engines may run fn
	// more than once (group commit retries), so fn must only communicate
	// through its own captured variables, reset at its start.
	Update(ctx context.Context, fn func(Tx) error) error
	// View runs fn in a read-only transaction with a consistent snapshot.
	View(ctx context.Context, fn func(Tx) error) error
	// Close releases the engine's resources.
	Close() error
}

// CheapRollback is implemented by engines for which a read-write
// transaction that writes nothing, or is rolled back, costs no more than a
// read: nothing is flushed (PostgreSQL writes no WAL for it). The store
// then runs a request that may write once, in Update, instead of first as
// a read to spare refused writes a commit; engines that sync on every
// commit (bbolt) keep the read first.
type CheapRollback interface {
	CheapRollback() bool
}

// Tx is what a transaction can do. A read-only transaction's write methods
// return an error.
type Tx interface {
	// Get returns the live object, or ErrNotFound (also for tombstones).
	Get(parent, kind, id string) (*Object, error)
	// GetVersion returns the stored version of id, live object or
	// tombstone, or ErrNotFound.
	GetVersion(parent, kind, id string) (*Object, error)
	// Put stores obj (a live object or a tombstone), replacing any object or
	// tombstone with the same id.
	Put(parent, kind string, obj *Object) error
	// Scan calls fn for the objects of (parent, kind) in descending
	// last_modified order (ties broken by descending id), or ascending
	// with opts.Ascending, until fn returns false or an error.
	Scan(parent, kind string, opts ScanOptions, fn func(*Object) (bool, error)) error
	// Count returns the number of live objects of (parent, kind).
	Count(parent, kind string) (int, error)
	// Timestamp returns the stored timestamp of (parent, kind) and whether
	// one is stored.
	Timestamp(parent, kind string) (int64, bool, error)
	// SetTimestamp stores the timestamp of (parent, kind).
	SetTimestamp(parent, kind string, ts int64) error
	// Timestamps calls fn for every stored timestamp of the given kind,
	// in any order.
	Timestamps(kind string, fn func(parent string, ts int64) error) error
	// DeleteTree removes, without leaving tombstones, every object and
	// timestamp whose parent is uri or lies below it (uri + "/...").
	DeleteTree(uri string) error
}

// CheckList rejects a (parent, kind) that engines cannot store: an empty
// kind, or a NUL byte (the key separator of ordered key-value engines).
// Every engine applies the same rule so that tests on the memory engine
// catch what bbolt would refuse.
func CheckList(parent, kind string) error {
	if kind == "" {
		return errors.New("empty kind")
	}
	if strings.IndexByte(kind, 0) >= 0 {
		return fmt.Errorf("kind %q contains NUL", kind)
	}
	return CheckURI(parent)
}

// CheckURI rejects a parent URI containing NUL.
func CheckURI(uri string) error {
	if strings.IndexByte(uri, 0) >= 0 {
		return fmt.Errorf("parent %q contains NUL", uri)
	}
	return nil
}
