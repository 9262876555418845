package bolt

import (
	"errors"
	"fmt"

	"github.com/changegate/changegate/docstore"
	"go.etcd.io/bbolt"
)

var (
	errReadOnly = errors.New("write in a read-only transaction")
	errClosed   = errors.New("transaction used after its callback returned")
)

var _ docstore.Tx = (*tx)(nil)

// tx is the docstore.Tx of one fn call on a bbolt transaction.
type tx struct {
	btx        *bbolt.Tx
	objects    *bbolt.Bucket
	ids        *bbolt.Bucket
	counts     *bbolt.Bucket
	timestamps *bbolt.Bucket
	closed     bool
	// writes counts mutations, so that an iteration whose callback wrote
	// knows to re-seek its cursor: bbolt cursors are not valid across
	// writes to their bucket.
	writes uint64
}

// newTx looks up the buckets of btx.
func newTx(btx *bbolt.Tx) (*tx, error) {
	t := &tx{
		btx:        btx,
		objects:    btx.Bucket(bucketObjects),
		ids:        btx.Bucket(bucketIDs),
		counts:     btx.Bucket(bucketCounts),
		timestamps: btx.Bucket(bucketTimestamps),
	}
	if t.objects == nil || t.ids == nil || t.counts == nil || t.timestamps == nil {
		return nil, errors.New("bolt file lacks its buckets")
	}
	return t, nil
}

func (t *tx) close() { t.closed = true }

// readable fails once the callback has returned.
func (t *tx) readable() error {
	if t.closed {
		return errClosed
	}
	return nil
}

// writable fails in read-only or finished transactions, and otherwise
// counts the write that follows.
func (t *tx) writable() error {
	if err := t.readable(); err != nil {
		return err
	}
	if !t.btx.Writable() {
		return errReadOnly
	}
	t.writes++
	return nil
}

// Count returns the live objects of (parent, kind), kept up to date by Put
// and DeleteTree so that counting decodes nothing.
func (t *tx) Count(parent, kind string) (int, error) {
	if err := t.readable(); err != nil {
		return 0, err
	}
	if err := docstore.CheckList(parent, kind); err != nil {
		return 0, fmt.Errorf("counting %s of %q: %w", kind, parent, err)
	}
	n, err := t.count(countKey(parent, kind))
	if err != nil {
		return 0, fmt.Errorf("counting %s of %q: %w", kind, parent, err)
	}
	return int(n), nil
}

// count reads a counts value.
func (t *tx) count(key []byte) (int64, error) {
	v := t.counts.Get(key)
	if v == nil {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, errCorrupt
	}
	return int64At(v), nil
}

// addCount adds delta to the live count of (parent, kind), dropping the
// entry at zero so that empty sets leave nothing behind.
func (t *tx) addCount(parent, kind string, delta int64) error {
	key := countKey(parent, kind)
	n, err := t.count(key)
	if err != nil {
		return err
	}
	switch n += delta; {
	case n < 0:
		return fmt.Errorf("live count of %s in %q below zero", kind, parent)
	case n == 0:
		return t.counts.Delete(key)
	default:
		return t.counts.Put(key, appendInt64(nil, n))
	}
}
