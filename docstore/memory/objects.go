package memory

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"github.com/changegate/changegate/docstore"
)

// Get returns a copy of the live object.
func (t *tx) Get(parent, kind, id string) (*docstore.Object, error) {
	return t.get(parent, kind, id, false)
}

// GetVersion returns a copy of the object or tombstone.
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
	obj := t.e.objects[set{parent, kind}][id]
	if obj == nil || (obj.Deleted && !tombstones) {
		return nil, docstore.ErrNotFound
	}
	return cloneObject(obj), nil
}

// Put stores a copy of obj.
func (t *tx) Put(parent, kind string, obj *docstore.Object) error {
	err := t.checkWrite()
	if err == nil {
		err = docstore.CheckList(parent, kind)
	}
	if err == nil && (obj == nil || obj.ID == "") {
		err = errors.New("object has no id")
	}
	if err != nil {
		var id string
		if obj != nil {
			id = obj.ID
		}
		return fmt.Errorf("putting %s %q of %q: %w", kind, id, parent, err)
	}
	s := set{parent, kind}
	c := cloneObject(obj)
	var prev int64
	if old := t.e.objects[s][obj.ID]; old != nil {
		prev = old.Generation
	}
	c.Generation = docstore.NextGeneration(obj, prev)
	t.store(s, obj.ID, c)
	return nil
}

// store sets (or, when obj is nil, removes) id in s, recording how to
// restore the previous state.
func (t *tx) store(s set, id string, obj *docstore.Object) {
	old := t.e.objects[s][id]
	t.undo = append(t.undo, func() { t.restore(s, id, old) })
	t.restore(s, id, obj)
}

// restore sets or removes id in s, dropping empty sets.
func (t *tx) restore(s set, id string, obj *docstore.Object) {
	objects := t.e.objects[s]
	if obj == nil {
		delete(objects, id)
		if len(objects) == 0 {
			delete(t.e.objects, s)
		}
		return
	}
	if objects == nil {
		objects = make(map[string]*docstore.Object)
		t.e.objects[s] = objects
	}
	objects[id] = obj
}

// Scan sorts a snapshot of the set, then hands out copies of the objects
// that are still stored when their turn comes (fn may write; what it
// writes is not in the snapshot).
func (t *tx) Scan(parent, kind string, opts docstore.ScanOptions, fn func(*docstore.Object) (bool, error)) error {
	if err := t.readable(); err != nil {
		return err
	}
	if err := docstore.CheckList(parent, kind); err != nil {
		return fmt.Errorf("scanning %s of %q: %w", kind, parent, err)
	}
	s := set{parent, kind}
	objects := t.sorted(s)
	if opts.Ascending {
		slices.Reverse(objects)
	}
	for _, obj := range objects {
		if opts.Since > 0 && obj.LastModified <= opts.Since {
			if opts.Ascending {
				continue
			}
			return nil
		}
		if t.e.objects[s][obj.ID] != obj || (obj.Deleted && !opts.IncludeDeleted) {
			continue
		}
		if more, err := fn(cloneScanned(obj, opts)); err != nil || !more {
			return err
		}
	}
	return nil
}

// sorted returns the objects of s by descending last_modified, then id.
func (t *tx) sorted(s set) []*docstore.Object {
	objects := make([]*docstore.Object, 0, len(t.e.objects[s]))
	for _, obj := range t.e.objects[s] {
		objects = append(objects, obj)
	}
	slices.SortFunc(objects, func(a, b *docstore.Object) int {
		return cmp.Or(cmp.Compare(b.LastModified, a.LastModified), cmp.Compare(b.ID, a.ID))
	})
	return objects
}

// Count counts the live objects of (parent, kind).
func (t *tx) Count(parent, kind string) (int, error) {
	if err := t.readable(); err != nil {
		return 0, err
	}
	if err := docstore.CheckList(parent, kind); err != nil {
		return 0, fmt.Errorf("counting %s of %q: %w", kind, parent, err)
	}
	n := 0
	for _, obj := range t.e.objects[set{parent, kind}] {
		if !obj.Deleted {
			n++
		}
	}
	return n, nil
}
