package enginetest

import (
	"slices"

	"github.com/changegate/changegate/docstore"
)

// Every kind the tree fixture stores timestamps of.
var treeKinds = []string{kindB, kindC, kindG, kindR}

// treeParents are "/buckets/b" and buckets whose URIs sort next to it or
// extend its name.
var treeParents = []string{bucketB, "/buckets/bb", "/buckets/b-", "/buckets/b0", "/buckets/a", "/buckets/c"}

// treeFixture stores, for each bucket URI of parents, the bucket object,
// collections, groups, records (and records of a deeper parent),
// tombstones among them, and timestamps. It returns the sets it filled.
func treeFixture(h *harness, parents ...string) []set {
	var sets []set
	for _, p := range parents {
		lm := int64(10 * (slices.Index(treeParents, p) + 1))
		coll := p + "/collections/c"
		h.put(bucketsURI, kindB, obj(p[len("/buckets/"):], lm))
		h.put(p, kindC, obj("c", lm), tomb("old", lm+1))
		h.put(p, kindG, obj("g", lm+2))
		h.put(coll, kindR, obj("r1", lm+3), obj("r2", lm+4), tomb("r3", lm+5))
		h.put(coll+"/x", kindR, obj("deep", lm+6))
		h.setTimestamps(kindC, map[string]int64{p: lm + 1})
		h.setTimestamps(kindG, map[string]int64{p: lm + 2})
		h.setTimestamps(kindR, map[string]int64{coll: lm + 5, coll + "/x": lm + 6})
		sets = append(sets, set{p, kindC}, set{p, kindG}, set{coll, kindR}, set{coll + "/x", kindR})
	}
	h.setTimestamps(kindB, map[string]int64{bucketsURI: 99})
	return append(sets, set{bucketsURI, kindB})
}

// testDeleteTree: deleting "/buckets/b" leaves exactly what an engine that
// never held "/buckets/b"'s tree holds, except for the bucket object "b",
// which is not part of the tree.
func testDeleteTree(h *harness) {
	sets := treeFixture(h, treeParents...)
	h.update(func(tx docstore.Tx) error { return tx.DeleteTree("/buckets/nothing") })
	h.update(func(tx docstore.Tx) error { return tx.DeleteTree(bucketB) })

	ref := h.fresh()
	treeFixture(ref, treeParents[1:]...)
	ref.put(bucketsURI, kindB, obj("b", 10))
	if got, want := h.dump(sets, treeKinds), ref.dump(sets, treeKinds); got != want {
		h.Fatalf("after DeleteTree(%q):\n%s\nwant:\n%s", bucketB, got, want)
	}
	h.assertNotFound(bucketB, kindC, "c")
	h.assertNotFound(collC, kindR, "r1")
	h.assertTimestamp(collC, kindR, 0, false)

	// The emptied sets work as new ones.
	h.put(collC, kindR, obj("r1", 1))
	h.assertCount(collC, kindR, 1)
	h.assertScan(collC, kindR, docstore.ScanOptions{IncludeDeleted: true}, "r1@1")
}

// testDeleteTreeLeaf: deleting a collection's tree keeps the collection
// object, its siblings and the bucket's timestamps.
func testDeleteTreeLeaf(h *harness) {
	sets := treeFixture(h, bucketB)
	h.put(collC+"2", kindR, obj("other", 1))
	keep := append([]set{{collC + "2", kindR}}, sets[0], sets[1], sets[4])
	before := h.dump(keep, []string{kindB, kindC, kindG})

	h.update(func(tx docstore.Tx) error { return tx.DeleteTree(collC) })

	if after := h.dump(keep, []string{kindB, kindC, kindG}); after != before {
		h.Fatalf("DeleteTree(%q) changed its neighbours:\n--- before\n%s--- after\n%s", collC, before, after)
	}
	h.assertScan(collC, kindR, docstore.ScanOptions{IncludeDeleted: true})
	h.assertScan(collC+"/x", kindR, docstore.ScanOptions{IncludeDeleted: true})
	h.assertTimestamps(kindR, map[string]int64{})
	h.assertCount(collC, kindR, 0)
}
