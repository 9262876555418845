package changes

import (
	"testing"

	"github.com/changegate/changegate/kinto"
)

func rec(b, c string, ts int64) kinto.Event {
	return kinto.Event{Kind: kinto.KindRecord, Bucket: b, Collection: c, Timestamp: ts}
}

func snapshotOf(g *Registry) []SnapshotEntry {
	s := g.Snapshot()
	out := make([]SnapshotEntry, len(s.Entries))
	for i, e := range s.Entries {
		e.Changed = 0
		out[i] = e
	}
	return out
}

func TestChangesRegistryTimestamps(t *testing.T) {
	g := NewRegistry()
	a, b := kinto.Key{Bucket: "main", Collection: "a"}, kinto.Key{Bucket: "main", Collection: "b"}
	if fresh, _ := g.Apply(rec("main", "a", 10)); !fresh {
		t.Fatal("first records timestamp not reported fresh")
	}
	g.Apply(rec("main", "b", 20))
	// Out of order: the older event does not lower the timestamp.
	g.Apply(rec("main", "a", 30))
	if fresh, _ := g.Apply(rec("main", "a", 25)); fresh {
		t.Fatal("known collection reported fresh")
	}
	g.Apply(kinto.Event{Kind: kinto.KindCollection, Bucket: "main", Collection: "a", Timestamp: 5})
	g.Apply(kinto.Event{Kind: "group", Bucket: "main", Timestamp: 99})
	if r, m := g.Lookup(a); r != 30 || m != 5 {
		t.Fatalf("a = %d/%d, want 30/5", r, m)
	}
	want := []SnapshotEntry{{Key: a, Timestamp: 30}, {Key: b, Timestamp: 20}}
	if got := snapshotOf(g); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("snapshot %v, want %v", got, want)
	}
	v := g.Version()
	g.Apply(kinto.Event{Kind: kinto.KindCollection, Bucket: "main", Collection: "b", Deleted: true})
	if g.Version() == v || len(snapshotOf(g)) != 1 {
		t.Fatalf("collection deletion not visible: %v", snapshotOf(g))
	}
	g.Apply(rec("other", "x", 40))
	g.Apply(kinto.Event{Kind: kinto.KindBucket, Bucket: "main", Deleted: true})
	if got := snapshotOf(g); len(got) != 1 || got[0].Key != (kinto.Key{Bucket: "other", Collection: "x"}) {
		t.Fatalf("after bucket deletion: %v", got)
	}
}

// TestChangesRegistryLateEventAfterDeletion: a record event committed
// before its collection's deletion but delivered after it brings the
// collection back; the check against storage removes it again, unless
// something happened to the collection meanwhile.
func TestChangesRegistryLateEventAfterDeletion(t *testing.T) {
	g := NewRegistry()
	k := kinto.Key{Bucket: "main", Collection: "a"}
	g.Apply(rec("main", "a", 10))
	g.Apply(kinto.Event{Kind: kinto.KindCollection, Bucket: "main", Collection: "a", Deleted: true})
	fresh, st := g.Apply(rec("main", "a", 11))
	if !fresh {
		t.Fatal("resurrected collection not reported fresh")
	}
	g.Forget(k, st)
	if r, _ := g.Lookup(k); r != 0 {
		t.Fatalf("still there: %d", r)
	}

	// Re-created meanwhile: the check's answer is stale and ignored.
	_, st = g.Apply(rec("main", "a", 12))
	g.Apply(rec("main", "a", 13))
	g.Forget(k, st)
	if r, _ := g.Lookup(k); r != 13 {
		t.Fatalf("re-created collection lost: %d", r)
	}
}

func TestChangesRegistryLearnAndLoad(t *testing.T) {
	g := NewRegistry()
	k := kinto.Key{Bucket: "main", Collection: "a"}
	st := g.Stamp(k)
	g.Learn(k, st, 10, 5)
	if r, m := g.Lookup(k); r != 10 || m != 5 {
		t.Fatalf("learned %d/%d", r, m)
	}
	// A change during the read: what the read saw is discarded.
	st = g.Stamp(k)
	g.Apply(kinto.Event{Kind: kinto.KindCollection, Bucket: "main", Collection: "a", Timestamp: 7})
	g.Learn(k, st, 10, 6)
	if _, m := g.Lookup(k); m != 7 {
		t.Fatalf("stale learn applied: meta %d", m)
	}
	// A deletion during a load refuses it.
	st = g.DeletionStamp()
	g.Apply(kinto.Event{Kind: kinto.KindBucket, Bucket: "x", Deleted: true})
	if g.Load(map[kinto.Key]int64{{Bucket: "x", Collection: "y"}: 3}, st) {
		t.Fatal("load accepted across a deletion")
	}
	if !g.Load(map[kinto.Key]int64{{Bucket: "x", Collection: "y"}: 3, k: 1}, g.DeletionStamp()) {
		t.Fatal("load refused")
	}
	if r, _ := g.Lookup(k); r != 10 {
		t.Fatalf("load lowered a timestamp: %d", r)
	}
}
