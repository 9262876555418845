package bolt

import (
	"bytes"
	"errors"
	"fmt"
	"math"

	"github.com/changegate/changegate/docstore"
	"go.etcd.io/bbolt"
)

// idRefSize is the size of an ids value: lm(8) + flags(1).
const idRefSize = 9

// Get returns the live object id of (parent, kind).
func (t *tx) Get(parent, kind, id string) (*docstore.Object, error) {
	return t.get(parent, kind, id, false)
}

// GetVersion returns the object or tombstone id of (parent, kind).
func (t *tx) GetVersion(parent, kind, id string) (*docstore.Object, error) {
	return t.get(parent, kind, id, true)
}

func (t *tx) get(parent, kind, id string, tombstones bool) (*docstore.Object, error) {
	if err := t.readable(); err != nil {
		return nil, err
	}
	if err := docstore.CheckList(parent, kind); err != nil {
		return nil, fmt.Errorf("getting %s %q of %q: %w", kind, id, parent, err)
	}
	prefix := setPrefix(parent, kind)
	ref := t.ids.Get(idKey(prefix, id))
	if ref == nil {
		return nil, docstore.ErrNotFound
	}
	if len(ref) != idRefSize {
		return nil, fmt.Errorf("getting %s %q of %q: %w", kind, id, parent, errCorrupt)
	}
	if ref[8]&flagDeleted != 0 && !tombstones {
		return nil, docstore.ErrNotFound
	}
	lm := int64At(ref)
	v := t.objects.Get(objectKey(prefix, lm, id))
	if v == nil {
		return nil, fmt.Errorf("getting %s %q of %q: id index points to a missing object", kind, id, parent)
	}
	obj := &docstore.Object{ID: id, LastModified: lm}
	if err := decodeValue(v, obj); err != nil {
		return nil, fmt.Errorf("getting %s %q of %q: %w", kind, id, parent, err)
	}
	return obj, nil
}

// Put stores obj, removing the object (or tombstone) it replaces from both
// the objects and ids buckets and adjusting the live count.
func (t *tx) Put(parent, kind string, obj *docstore.Object) error {
	if err := t.put(parent, kind, obj); err != nil {
		return fmt.Errorf("putting %s %q of %q: %w", kind, objectID(obj), parent, err)
	}
	return nil
}

func (t *tx) put(parent, kind string, obj *docstore.Object) error {
	if err := t.writable(); err != nil {
		return err
	}
	if err := docstore.CheckList(parent, kind); err != nil {
		return err
	}
	if obj == nil || obj.ID == "" {
		return errors.New("object has no id")
	}
	prefix := setPrefix(parent, kind)
	key := idKey(prefix, obj.ID)
	var delta, prev int64
	if old := t.ids.Get(key); old != nil {
		if len(old) != idRefSize {
			return errCorrupt
		}
		// One seek reads the generation it replaces and deletes it.
		oldKey := objectKey(prefix, int64At(old), obj.ID)
		c := t.objects.Cursor()
		if k, v := c.Seek(oldKey); bytes.Equal(k, oldKey) {
			var err error
			if prev, _, _, err = splitValue(v); err != nil {
				return err
			}
			if err := c.Delete(); err != nil {
				return err
			}
		}
		if old[8]&flagDeleted == 0 {
			delta--
		}
	}
	ref := append(appendInt64(make([]byte, 0, idRefSize), obj.LastModified), flags(obj.Deleted))
	if err := t.ids.Put(key, ref); err != nil {
		return err
	}
	stored := *obj
	stored.Generation = docstore.NextGeneration(obj, prev)
	if err := t.objects.Put(objectKey(prefix, obj.LastModified, obj.ID), encodeValue(&stored)); err != nil {
		return err
	}
	if !obj.Deleted {
		delta++
	}
	if delta == 0 {
		return nil
	}
	return t.addCount(parent, kind, delta)
}

// objectID is obj's id for error messages, obj being possibly nil.
func objectID(obj *docstore.Object) string {
	if obj == nil {
		return ""
	}
	return obj.ID
}

// Scan walks the set's objects keys backwards from the newest and stops at
// the first one not newer than opts.Since, or, with opts.Ascending,
// forwards from the first one newer than opts.Since.
func (t *tx) Scan(parent, kind string, opts docstore.ScanOptions, fn func(*docstore.Object) (bool, error)) error {
	if err := t.readable(); err != nil {
		return err
	}
	if err := docstore.CheckList(parent, kind); err != nil {
		return fmt.Errorf("scanning %s of %q: %w", kind, parent, err)
	}
	prefix := setPrefix(parent, kind)
	c := t.objects.Cursor()
	if !opts.Ascending {
		return t.walk(parent, kind, prefix, opts, fn, scanWalk{
			first:  func() ([]byte, []byte) { return seekBefore(c, prefixEnd(prefix)) },
			past:   func(_ []byte, lm int64) bool { return opts.Since > 0 && lm <= opts.Since },
			next:   c.Prev,
			reseek: func(last []byte) ([]byte, []byte) { return seekBefore(c, last) },
		})
	}
	// Ascending: from the first key newer than Since up to the last key
	// present now, so that objects fn writes (always newer) are not
	// visited again.
	end, _ := seekBefore(c, prefixEnd(prefix))
	if !bytes.HasPrefix(end, prefix) || opts.Since == math.MaxInt64 {
		return nil
	}
	end = append([]byte(nil), end...)
	start := prefix
	if opts.Since > 0 {
		start = appendInt64(append([]byte(nil), prefix...), opts.Since+1)
	}
	return t.walk(parent, kind, prefix, opts, fn, scanWalk{
		first:  func() ([]byte, []byte) { return c.Seek(start) },
		past:   func(k []byte, _ int64) bool { return bytes.Compare(k, end) > 0 },
		next:   c.Next,
		reseek: func(last []byte) ([]byte, []byte) { return seekAfter(c, last) },
	})
}

// scanWalk is one direction of a Scan over the objects keys.
type scanWalk struct {
	first func() ([]byte, []byte)
	// past reports the first key beyond the walk.
	past func(k []byte, lm int64) bool
	next func() ([]byte, []byte)
	// reseek finds the key after last once fn wrote (moving the cursor).
	reseek func(last []byte) ([]byte, []byte)
}

// walk visits a set's objects keys in w's direction. Tombstones are
// skipped from their flags byte without decoding.
func (t *tx) walk(parent, kind string, prefix []byte, opts docstore.ScanOptions, fn func(*docstore.Object) (bool, error), w scanWalk) error {
	var last []byte
	for k, v := w.first(); bytes.HasPrefix(k, prefix); {
		rest := k[len(prefix):]
		if len(rest) < 8 {
			return fmt.Errorf("scanning %s of %q: %w", kind, parent, errCorrupt)
		}
		lm := int64At(rest)
		if w.past(k, lm) {
			return nil
		}
		if !opts.IncludeDeleted && valueDeleted(v) {
			k, v = w.next()
			continue
		}
		obj := &docstore.Object{ID: string(rest[8:]), LastModified: lm}
		if err := decodeScanned(v, obj, opts); err != nil {
			return fmt.Errorf("scanning %s of %q at %q: %w", kind, parent, obj.ID, err)
		}
		last = append(last[:0], k...)
		writes := t.writes
		if more, err := fn(obj); err != nil || !more {
			return err
		}
		if t.writes != writes {
			k, v = w.reseek(last)
		} else {
			k, v = w.next()
		}
	}
	return nil
}

// decodeScanned decodes what opts asks for of a scanned value.
func decodeScanned(v []byte, obj *docstore.Object, opts docstore.ScanOptions) error {
	if !opts.Bare && !opts.NoPermissions {
		return decodeValue(v, obj)
	}
	gen, _, data, err := splitValue(v)
	if err != nil {
		return err
	}
	obj.Deleted = v[1]&flagDeleted != 0
	obj.Generation = gen
	if !opts.Bare && len(data) > 0 {
		obj.Data = append([]byte(nil), data...)
	}
	return nil
}

// seekBefore positions c on the last key smaller than key.
func seekBefore(c *bbolt.Cursor, key []byte) ([]byte, []byte) {
	if k, _ := c.Seek(key); k == nil {
		return c.Last()
	}
	return c.Prev()
}
