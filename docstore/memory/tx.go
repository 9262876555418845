package memory

import (
	"errors"
	"fmt"
	"strings"

	"github.com/changegate/changegate/docstore"
)

var (
	errReadOnly = errors.New("write in a read-only transaction")
	errClosed   = errors.New("transaction used after its callback returned")
)

var _ docstore.Tx = (*tx)(nil)

// tx is the docstore.Tx of one Update or View callback.
type tx struct {
	e        *Engine
	writable bool
	closed   bool
	// undo holds the inverse of every write so far, in order.
	undo []func()
}

// rollback undoes the transaction's writes, newest first.
func (t *tx) rollback() {
	for i := len(t.undo) - 1; i >= 0; i-- {
		t.undo[i]()
	}
	t.undo = nil
}

// readable fails once the callback has returned.
func (t *tx) readable() error {
	if t.closed {
		return errClosed
	}
	return nil
}

// checkWrite fails in read-only or finished transactions.
func (t *tx) checkWrite() error {
	if err := t.readable(); err != nil {
		return err
	}
	if !t.writable {
		return errReadOnly
	}
	return nil
}

// Timestamp returns the stored timestamp of (parent, kind).
func (t *tx) Timestamp(parent, kind string) (int64, bool, error) {
	if err := t.readable(); err != nil {
		return 0, false, err
	}
	if err := docstore.CheckList(parent, kind); err != nil {
		return 0, false, fmt.Errorf("reading %s timestamp of %q: %w", kind, parent, err)
	}
	ts, ok := t.e.timestamps[set{parent, kind}]
	return ts, ok, nil
}

// SetTimestamp stores the timestamp of (parent, kind).
func (t *tx) SetTimestamp(parent, kind string, ts int64) error {
	err := t.checkWrite()
	if err == nil {
		err = docstore.CheckList(parent, kind)
	}
	if err != nil {
		return fmt.Errorf("storing %s timestamp of %q: %w", kind, parent, err)
	}
	t.setTimestamp(set{parent, kind}, ts, true)
	return nil
}

// setTimestamp stores (or, when !ok, removes) the timestamp of s,
// recording how to restore the previous state.
func (t *tx) setTimestamp(s set, ts int64, ok bool) {
	old, had := t.e.timestamps[s]
	t.undo = append(t.undo, func() { t.restoreTimestamp(s, old, had) })
	t.restoreTimestamp(s, ts, ok)
}

// restoreTimestamp stores ts for s when ok, and removes it otherwise.
func (t *tx) restoreTimestamp(s set, ts int64, ok bool) {
	if ok {
		t.e.timestamps[s] = ts
	} else {
		delete(t.e.timestamps, s)
	}
}

// Timestamps lists the kind's parents first, so that fn may write, then
// calls fn with the current timestamp of each that is still stored.
func (t *tx) Timestamps(kind string, fn func(parent string, ts int64) error) error {
	if err := t.readable(); err != nil {
		return err
	}
	if err := docstore.CheckList("", kind); err != nil {
		return fmt.Errorf("listing %s timestamps: %w", kind, err)
	}
	var found []set
	for s := range t.e.timestamps {
		if s.kind == kind {
			found = append(found, s)
		}
	}
	for _, s := range found {
		ts, ok := t.e.timestamps[s]
		if !ok {
			continue // deleted by fn
		}
		if err := fn(s.parent, ts); err != nil {
			return err
		}
	}
	return nil
}

// DeleteTree removes the objects and timestamps of uri and below.
func (t *tx) DeleteTree(uri string) error {
	err := t.checkWrite()
	if err == nil {
		err = docstore.CheckURI(uri)
	}
	if err != nil {
		return fmt.Errorf("deleting tree %q: %w", uri, err)
	}
	for s, objects := range t.e.objects {
		if inTree(s.parent, uri) {
			t.undo = append(t.undo, func() { t.e.objects[s] = objects })
			delete(t.e.objects, s)
		}
	}
	for s := range t.e.timestamps {
		if inTree(s.parent, uri) {
			t.setTimestamp(s, 0, false)
		}
	}
	return nil
}

// inTree reports whether parent is uri or lies below it.
func inTree(parent, uri string) bool {
	return parent == uri || strings.HasPrefix(parent, uri+"/")
}
