package enginetest

import (
	"encoding/json"

	"github.com/changegate/changegate/docstore"
)

// testGetPut: what Put stores, Get returns unchanged, under its own
// (parent, kind, id) only.
func testGetPut(h *harness) {
	h.assertNotFound(collC, kindR, "r1")
	full := obj("r1", 10)
	full.Data = json.RawMessage(`{ "z": 1,  "id": "r1", "a": [1, 2], "last_modified": 10 }`)
	bare := &docstore.Object{ID: "r2", LastModified: 11}
	bucket := obj("b", 12)
	h.put(collC, kindR, full, bare)
	h.put(bucketsURI, kindB, bucket)

	assertObject(h, h.mustGet(collC, kindR, "r1"), full)
	assertObject(h, h.mustGet(collC, kindR, "r2"), bare)
	assertObject(h, h.mustGet(bucketsURI, kindB, "b"), bucket)
	h.assertNotFound(collC, kindG, "r1")
	h.assertNotFound(collC+"2", kindR, "r1")
	h.assertNotFound(bucketB, kindR, "r1")
	h.assertNotFound(collC, kindR, "r")
	h.assertNotFound(collC, kindR, "r10")
	h.assertCount(collC, kindR, 2)
	h.assertCount(bucketsURI, kindB, 1)
}

// testReplace: a Put replaces the previous version wherever its
// last_modified moves, leaving one entry in scans.
func testReplace(h *harness) {
	h.put(collC, kindR, obj("r1", 10), obj("r2", 15))
	h.put(collC, kindR, obj("r1", 20))
	assertObject(h, h.mustGet(collC, kindR, "r1"), obj("r1", 20))
	h.assertScan(collC, kindR, docstore.ScanOptions{IncludeDeleted: true}, "r1@20", "r2@15")

	// Twice in one transaction, ending older than r2.
	h.put(collC, kindR, obj("r1", 30), obj("r1", 5))
	assertObject(h, h.mustGet(collC, kindR, "r1"), obj("r1", 5))
	h.assertScan(collC, kindR, docstore.ScanOptions{IncludeDeleted: true}, "r2@15", "r1@5")

	// Same last_modified, new content.
	changed := obj("r1", 5)
	changed.Data = json.RawMessage(`{"changed":true}`)
	changed.Permissions = nil
	h.put(collC, kindR, changed)
	assertObject(h, h.mustGet(collC, kindR, "r1"), changed)
	h.assertScan(collC, kindR, docstore.ScanOptions{IncludeDeleted: true}, "r2@15", "r1@5")
	h.assertCount(collC, kindR, 2)
}

// testTombstones: tombstones are invisible to Get and Count, visible to
// Scan with IncludeDeleted, and replaced like any object.
func testTombstones(h *harness) {
	h.put(collC, kindR, obj("a", 1), obj("b", 2), obj("c", 3))
	h.put(collC, kindR, tomb("b", 4), tomb("d", 5))
	h.assertNotFound(collC, kindR, "b")
	h.assertNotFound(collC, kindR, "d")
	h.assertCount(collC, kindR, 2)
	h.assertScan(collC, kindR, docstore.ScanOptions{}, "c@3", "a@1")
	h.assertScan(collC, kindR, docstore.ScanOptions{IncludeDeleted: true}, "~d@5", "~b@4", "c@3", "a@1")
	scanned := h.scan(collC, kindR, docstore.ScanOptions{IncludeDeleted: true})
	assertObject(h, scanned[0], tomb("d", 5))

	// A tombstone replacing a tombstone, and one reviving.
	h.put(collC, kindR, tomb("d", 6), obj("b", 7))
	assertObject(h, h.mustGet(collC, kindR, "b"), obj("b", 7))
	h.assertCount(collC, kindR, 3)
	h.assertScan(collC, kindR, docstore.ScanOptions{IncludeDeleted: true}, "b@7", "~d@6", "c@3", "a@1")

	// Deleting everything.
	h.put(collC, kindR, tomb("a", 8), tomb("b", 9), tomb("c", 10))
	h.assertCount(collC, kindR, 0)
	h.assertScan(collC, kindR, docstore.ScanOptions{})
	h.assertScan(collC, kindR, docstore.ScanOptions{IncludeDeleted: true}, "~c@10", "~b@9", "~a@8", "~d@6")
}

// testSetIsolation: neighbouring parents and kinds, including parents that
// extend another's name, never see each other's objects.
func testSetIsolation(h *harness) {
	sets := []set{
		{bucketsURI, kindB}, {bucketB, kindC}, {bucketB, kindG}, {bucketB + "b", kindC},
		{collC, kindR}, {collC + "c", kindR}, {collC + "/x", kindR}, {bucketB + "-", kindC},
	}
	for i, s := range sets {
		objs := make([]*docstore.Object, i+1)
		for j := range objs {
			objs[j] = obj(string(rune('a'+j)), int64(100*i+j))
		}
		h.put(s.parent, s.kind, objs...)
	}
	for i, s := range sets {
		h.assertCount(s.parent, s.kind, i+1)
		got := h.scan(s.parent, s.kind, docstore.ScanOptions{IncludeDeleted: true})
		if len(got) != i+1 {
			h.Fatalf("Scan(%q, %q) yielded %q; want %d objects", s.parent, s.kind, keys(got), i+1)
		}
		for j, o := range got {
			assertObject(h, o, obj(string(rune('a'+i-j)), int64(100*i+i-j)))
		}
	}
}

// testNoAliasing: callers cannot reach stored state through the objects
// they pass to Put or receive from Get and Scan.
func testNoAliasing(h *harness) {
	in := obj("r1", 1)
	h.update(func(tx docstore.Tx) error {
		if err := tx.Put(collC, kindR, in); err != nil {
			return err
		}
		in.Data[2] = 'X'
		in.Permissions["read"][0] = "mallory"
		in.Permissions["extra"] = []string{"mallory"}
		return nil
	})
	in.ID, in.LastModified = "other", 99
	assertObject(h, h.mustGet(collC, kindR, "r1"), obj("r1", 1))

	got := h.mustGet(collC, kindR, "r1")
	got.Data[2] = 'X'
	got.Permissions["read"][0] = "mallory"
	got.Permissions["extra"] = []string{"mallory"}
	scanned := h.scan(collC, kindR, docstore.ScanOptions{})
	scanned[0].Data[2] = 'X'
	scanned[0].Permissions["write"][0] = "mallory"
	assertObject(h, h.mustGet(collC, kindR, "r1"), obj("r1", 1))
	assertObject(h, h.scan(collC, kindR, docstore.ScanOptions{})[0], obj("r1", 1))
}

// testDataOutlivesTx: bytes returned inside a transaction stay intact
// after it ends, however much is written afterwards (an engine handing out
// memory-mapped bytes would see them change or vanish). The padding
// makes a B-tree engine store the objects on pages of their own rather
// than inline in a parent page.
func testDataOutlivesTx(h *harness) {
	filler := make([]byte, 3000)
	for i := range filler {
		filler[i] = 'a' + byte(i%26)
	}
	for i := range 20 {
		h.put(collC+"-pad", kindR, &docstore.Object{ID: "pad" + string(rune('a'+i)), LastModified: h.tied(1, i), Data: filler[:300]})
	}
	h.put(collC, kindR, obj("r1", 1), obj("r2", 2))
	var got, scanned *docstore.Object
	h.view(func(tx docstore.Tx) (err error) {
		if got, err = tx.Get(collC, kindR, "r1"); err != nil {
			return err
		}
		return tx.Scan(collC, kindR, docstore.ScanOptions{}, func(o *docstore.Object) (bool, error) {
			scanned = o
			return false, nil
		})
	})
	for round := range 20 {
		objs := make([]*docstore.Object, 50)
		for i := range objs {
			objs[i] = &docstore.Object{ID: "f" + string(rune('a'+i%26)) + string(rune('a'+i/26)), LastModified: h.tied(int64(100+round), 2000+50*round+i), Data: filler}
		}
		h.put(collC, kindR, objs...)
		h.put(collC, kindR, tomb("r1", int64(1000+2*round)), tomb("r2", int64(1001+2*round)))
	}
	assertObject(h, got, obj("r1", 1))
	assertObject(h, scanned, obj("r2", 2))
}

// tied returns lm, or distinct when the engine stores no ties.
func (h *harness) tied(lm int64, distinct int) int64 {
	if h.opts.DistinctTimestamps {
		return int64(distinct)
	}
	return lm
}
