package enginetest

import (
	"errors"
	"fmt"
	"slices"

	"github.com/changegate/changegate/docstore"
)

// testGenerations: every Put of an id is its next generation, whether it
// creates, updates, deletes or re-creates over a tombstone; Get, Scan
// (whatever it decodes) and GetVersion report it; a given generation is
// kept (copies); a rolled-back write uses none; a tree deletion forgets
// them.
func testGenerations(h *harness) {
	h.put(collC, kindR, obj("r1", 10), obj("other", 11))
	h.assertGenerations("create", "r1=1", "other=1")
	h.put(collC, kindR, obj("r1", 20))
	h.assertGenerations("update", "r1=2", "other=1")
	h.put(collC, kindR, tomb("r1", 30))
	h.assertGenerations("delete", "r1=3", "other=1")
	h.assertNotFound(collC, kindR, "r1")
	if v := h.version(collC, kindR, "r1"); !v.Deleted || v.Generation != 3 || v.LastModified != 30 {
		h.Fatalf("GetVersion of a tombstone = %s generation %d; want r1@30 deleted, generation 3", describe(v), v.Generation)
	}
	h.put(collC, kindR, obj("r1", 40))
	h.assertGenerations("re-create", "r1=4", "other=1")
	if g := h.mustGet(collC, kindR, "r1").Generation; g != 4 {
		h.Fatalf("Get's generation after re-create = %d; want 4", g)
	}

	// Two writes in one transaction are two versions.
	h.put(collC, kindR, obj("r1", 50), obj("r1", 60))
	h.assertGenerations("two writes in one transaction", "r1=6", "other=1")

	// A rolled-back write uses no generation.
	err := h.e.Update(h.Context(), func(tx docstore.Tx) error {
		if err := tx.Put(collC, kindR, obj("r1", 70)); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		h.Fatalf("Update = %v; want %v", err, errRollback)
	}
	h.assertGenerations("rollback", "r1=6", "other=1")

	// A copy keeps the source's generation, over an object or not.
	copied := obj("r1", 80)
	copied.Generation = 9
	fresh := tomb("new", 81)
	fresh.Generation = 5
	h.put(collC, kindR, copied, fresh)
	h.assertGenerations("given generations", "r1=9", "other=1", "new=5")
	h.put(collC, kindR, obj("r1", 90))
	h.assertGenerations("write after a copy", "r1=10", "other=1", "new=5")

	h.assertVersions([]string{"r1", "nothing", "new"}, "new=5 deleted", "r1=10")

	// Generations are per list and forgotten with the tree.
	h.put(bucketB, kindG, obj("r1", 91))
	if g := h.version(bucketB, kindG, "r1").Generation; g != 1 {
		h.Fatalf("generation of the same id in another list = %d; want 1", g)
	}
	h.update(func(tx docstore.Tx) error { return tx.DeleteTree(collC) })
	h.put(collC, kindR, obj("r1", 100))
	h.assertGenerations("after DeleteTree", "r1=1")
	if _, err := h.getVersion(collC, kindR, "nothing"); !errors.Is(err, docstore.ErrNotFound) {
		h.Fatalf("GetVersion of an unknown id = %v; want ErrNotFound", err)
	}
}

var errRollback = errors.New("rollback")

// getVersion returns Tx.GetVersion's result in its own transaction.
func (h *harness) getVersion(parent, kind, id string) (obj *docstore.Object, err error) {
	h.Helper()
	h.view(func(tx docstore.Tx) error {
		obj, err = tx.GetVersion(parent, kind, id)
		return nil
	})
	return obj, err
}

// version returns the stored version (object or tombstone) or fails.
func (h *harness) version(parent, kind, id string) *docstore.Object {
	h.Helper()
	obj, err := h.getVersion(parent, kind, id)
	if err != nil {
		h.Fatalf("GetVersion(%q, %q, %q): %v", parent, kind, id, err)
	}
	return obj
}

// assertGenerations checks "id=generation" of every record and tombstone
// of collC, as each kind of Scan and GetVersion report them.
func (h *harness) assertGenerations(step string, want ...string) {
	h.Helper()
	slices.Sort(want)
	for _, opts := range []docstore.ScanOptions{
		{IncludeDeleted: true},
		{IncludeDeleted: true, NoPermissions: true, Ascending: true},
		{IncludeDeleted: true, Bare: true},
	} {
		var got, versions []string
		for _, o := range h.scan(collC, kindR, opts) {
			got = append(got, fmt.Sprintf("%s=%d", o.ID, o.Generation))
			v := h.version(collC, kindR, o.ID)
			versions = append(versions, fmt.Sprintf("%s=%d", v.ID, v.Generation))
		}
		slices.Sort(got)
		slices.Sort(versions)
		if !slices.Equal(got, want) || !slices.Equal(versions, want) {
			h.Fatalf("%s: Scan(%+v) generations %q, GetVersion %q; want %q", step, opts, got, versions, want)
		}
	}
}

// assertVersions checks what an engine's VersionsReader, when it has one,
// reads of ids in collC: "id=generation[ deleted]" of those stored.
func (h *harness) assertVersions(ids []string, want ...string) {
	h.Helper()
	h.view(func(tx docstore.Tx) error {
		r, ok := tx.(docstore.VersionsReader)
		if !ok {
			return nil
		}
		objs, err := r.GetVersions(collC, kindR, ids)
		if err != nil {
			return err
		}
		var got []string
		for _, o := range objs {
			s := fmt.Sprintf("%s=%d", o.ID, o.Generation)
			if o.Deleted {
				s += " deleted"
			}
			got = append(got, s)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			h.Fatalf("GetVersions(%q) = %q; want %q", ids, got, want)
		}
		return nil
	})
}
