package postgres

import (
	"context"
	"testing"

	"github.com/changegate/changegate/docstore"
)

// BenchmarkGetVersions reads 100 of 1,000 records, as a replicator's
// _bulk_get asks for them, in one statement or one GetVersion each.
func BenchmarkGetVersions(b *testing.B) {
	e, _ := openTest(b)
	const parent = "/buckets/b/collections/c"
	var ids []string
	err := e.Update(context.Background(), func(tx docstore.Tx) error {
		ids = ids[:0]
		for n := range int64(1000) {
			obj := benchRecord(1700000000000 + n)
			if err := tx.Put(parent, docstore.KindRecord, obj); err != nil {
				return err
			}
			if n%10 == 0 {
				ids = append(ids, obj.ID)
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		read func(tx docstore.Tx) error
	}{
		{"one statement", func(tx docstore.Tx) error {
			objs, err := tx.(docstore.VersionsReader).GetVersions(parent, docstore.KindRecord, ids)
			if err == nil && len(objs) != len(ids) {
				b.Fatalf("%d objects", len(objs))
			}
			return err
		}},
		{"one per id", func(tx docstore.Tx) error {
			for _, id := range ids {
				if _, err := tx.GetVersion(parent, docstore.KindRecord, id); err != nil {
					return err
				}
			}
			return nil
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if err := e.View(context.Background(), bc.read); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
