package docstore_test

import (
	"context"
	"testing"

	"github.com/changegate/changegate/docstore"
	"github.com/changegate/changegate/docstore/memory"
)

// TestCopyKeepsGenerations: a copy carries each record's generation, so
// the CouchDB revisions replicas hold stay valid on the new store, and a
// second copy changes none of them.
func TestCopyKeepsGenerations(t *testing.T) {
	ctx := context.Background()
	src, dst := memory.New(), memory.New()
	coll := docstore.CollectionURI("b", "c")
	err := src.Update(ctx, func(tx docstore.Tx) error {
		for _, w := range []struct {
			parent, kind string
			obj          docstore.Object
		}{
			{"", docstore.KindBucket, docstore.Object{ID: "b", LastModified: 1, Data: []byte(`{"id":"b"}`)}},
			{docstore.BucketURI("b"), docstore.KindCollection, docstore.Object{ID: "c", LastModified: 2, Data: []byte(`{"id":"c"}`)}},
			{coll, docstore.KindRecord, docstore.Object{ID: "r", LastModified: 3, Data: []byte(`{"id":"r"}`)}},
			{coll, docstore.KindRecord, docstore.Object{ID: "r", LastModified: 4, Data: []byte(`{"id":"r","v":2}`)}},
			{coll, docstore.KindRecord, docstore.Object{ID: "gone", LastModified: 5, Data: []byte(`{"id":"gone"}`)}},
			{coll, docstore.KindRecord, docstore.Object{ID: "gone", LastModified: 6, Deleted: true}},
		} {
			if err := tx.Put(w.parent, w.kind, &w.obj); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := docstore.Copy(ctx, src, dst, nil); err != nil {
			t.Fatal(err)
		}
		err = dst.View(ctx, func(tx docstore.Tx) error {
			for id, want := range map[string]int64{"r": 2, "gone": 2} {
				obj, err := tx.GetVersion(coll, docstore.KindRecord, id)
				if err != nil {
					return err
				}
				if obj.Generation != want {
					t.Errorf("copied %s has generation %d; want %d", id, obj.Generation, want)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
