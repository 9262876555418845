package postgres

import (
	"context"
	"testing"

	"github.com/changegate/changegate/docstore"
)

// A View whose Last scan ends the transaction with its first page runs
// once when nothing follows, and again, whole, when another read or a
// second page follows; every run sees the same objects, and the
// connection goes back to the pool outside a transaction.
func TestScanLastThenSnapshot(t *testing.T) {
	e, _ := openTest(t)
	ctx := context.Background()
	const parent = "/buckets/b/collections/c"
	err := e.Update(ctx, func(tx docstore.Tx) error {
		for i, id := range []string{"a", "b", "c"} {
			lm := int64(10 + i)
			if err := tx.Put(parent, docstore.KindRecord, &docstore.Object{ID: id, LastModified: lm, Data: []byte(`{"id":"` + id + `"}`)}); err != nil {
				return err
			}
		}
		return tx.SetTimestamp(parent, docstore.KindRecord, 12)
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		expect     int
		beginFirst bool
		after      bool
		runs       int
	}{
		{"alone, one page", 4, false, false, 1},
		{"after a read, one page", 4, true, false, 1},
		{"after a read, a read follows", 4, true, true, 2},
		{"alone, a read follows", 4, false, true, 2},
		{"after a read, a second page", 2, true, false, 2},
	}
	var conns int64
	for i, tt := range tests {
		runs := 0
		err := e.View(ctx, func(tx docstore.Tx) error {
			runs++
			if tt.beginFirst {
				// Not last: this begins the transaction.
				keys := []docstore.ObjectKey{{Parent: parent, Kind: docstore.KindRecord, ID: "a"}}
				if _, err := tx.(docstore.Prefetcher).GetMany(keys, false); err != nil {
					return err
				}
			}
			var ids string
			opts := docstore.ScanOptions{Since: 9, NoPermissions: true, Expect: tt.expect, Last: true}
			err := tx.Scan(parent, docstore.KindRecord, opts, func(obj *docstore.Object) (bool, error) {
				ids += obj.ID
				return true, nil
			})
			if err != nil {
				return err
			}
			if ids != "cba" {
				t.Fatalf("%s: scan saw %q", tt.name, ids)
			}
			if tt.after {
				// Swallowed on purpose: the engine must still run fn again.
				_, _ = tx.Get(parent, docstore.KindRecord, "a")
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if runs != tt.runs {
			t.Errorf("%s: %d runs, want %d", tt.name, runs, tt.runs)
		}
		// A connection released inside a transaction is dropped, and
		// the next View opens a new one.
		if n := e.pool.Stat().NewConnsCount(); i > 0 && n != conns {
			t.Errorf("%s: %d connections opened, want %d", tt.name, n, conns)
		}
		conns = e.pool.Stat().NewConnsCount()
	}
}
