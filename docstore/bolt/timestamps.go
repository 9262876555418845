package bolt

import (
	"bytes"
	"fmt"

	"github.com/changegate/changegate/docstore"
	"go.etcd.io/bbolt"
)

// Timestamp returns the stored timestamp of (parent, kind).
func (t *tx) Timestamp(parent, kind string) (int64, bool, error) {
	if err := t.readable(); err != nil {
		return 0, false, err
	}
	if err := docstore.CheckList(parent, kind); err != nil {
		return 0, false, fmt.Errorf("reading %s timestamp of %q: %w", kind, parent, err)
	}
	v := t.timestamps.Get(timestampKey(parent, kind))
	if v == nil {
		return 0, false, nil
	}
	if len(v) != 8 {
		return 0, false, fmt.Errorf("reading %s timestamp of %q: %w", kind, parent, errCorrupt)
	}
	return int64At(v), true, nil
}

// SetTimestamp stores the timestamp of (parent, kind).
func (t *tx) SetTimestamp(parent, kind string, ts int64) error {
	err := t.writable()
	if err == nil {
		err = docstore.CheckList(parent, kind)
	}
	if err == nil {
		err = t.timestamps.Put(timestampKey(parent, kind), appendInt64(nil, ts))
	}
	if err != nil {
		return fmt.Errorf("storing %s timestamp of %q: %w", kind, parent, err)
	}
	return nil
}

// Timestamps walks the keys kind + "\x00" + parent in parent order.
func (t *tx) Timestamps(kind string, fn func(parent string, ts int64) error) error {
	if err := t.readable(); err != nil {
		return err
	}
	if err := docstore.CheckList("", kind); err != nil {
		return fmt.Errorf("listing %s timestamps: %w", kind, err)
	}
	prefix := []byte(kind + "\x00")
	c := t.timestamps.Cursor()
	var last []byte
	for k, v := c.Seek(prefix); bytes.HasPrefix(k, prefix); {
		if len(v) != 8 {
			return fmt.Errorf("listing %s timestamps at %q: %w", kind, k[len(prefix):], errCorrupt)
		}
		last = append(last[:0], k...)
		writes := t.writes
		if err := fn(string(k[len(prefix):]), int64At(v)); err != nil {
			return err
		}
		if t.writes != writes {
			k, v = seekAfter(c, last)
		} else {
			k, v = c.Next()
		}
	}
	return nil
}

// seekAfter positions c on the first key greater than key.
func seekAfter(c *bbolt.Cursor, key []byte) ([]byte, []byte) {
	k, v := c.Seek(key)
	if bytes.Equal(k, key) {
		return c.Next()
	}
	return k, v
}
