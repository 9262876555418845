package bolt

import (
	"errors"
	"fmt"
	"io"
	"time"

	"go.etcd.io/bbolt"
)

// Snapshot writes a consistent copy of the file to w while the engine
// keeps serving: bbolt's read transaction sees the file as of its start,
// and WriteTo copies its pages without blocking writers (they only
// allocate new pages). begin is called inside the transaction, before the
// first byte, with the copy's exact size, so that a caller can announce
// it (Content-Length) and date it: every write acknowledged before begin
// is called is in the copy.
func (e *Engine) Snapshot(w io.Writer, begin func(size int64)) (int64, error) {
	var n int64
	err := e.db.View(func(tx *bbolt.Tx) error {
		begin(tx.Size())
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("copying bolt file %s: %w", e.path, err)
	}
	return n, nil
}

// Size is the size of the file's data in bytes (what a snapshot copies).
func (e *Engine) Size() (int64, error) {
	var size int64
	err := e.db.View(func(tx *bbolt.Tx) error {
		size = tx.Size()
		return nil
	})
	return size, err
}

// Verify opens the bbolt file at path read-only and checks it the way
// `bbolt check` does (every page reachable once, keys in order) and that
// it has this engine's layout in a format it reads, so that a backup is known good before it
// replaces anything.
func Verify(path string) error {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return fmt.Errorf("opening %s: %w", path, err)
	}
	defer db.Close()
	return db.View(func(tx *bbolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		if len(errs) > 0 {
			return fmt.Errorf("checking %s: %w", path, errors.Join(errs...))
		}
		if err := checkLayout(tx); err != nil {
			return fmt.Errorf("checking %s: %w", path, err)
		}
		return nil
	})
}
