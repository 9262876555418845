package postgres

import (
	"context"
	"strings"
	"testing"

	"github.com/changegate/changegate/docstore"
)

// A View whose GetMany with last is followed by another read runs again
// in a transaction, and every run sees the objects; GetMany answers in
// the order of its keys, nil for a missing object or a tombstone.
func TestGetManyAloneThenSnapshot(t *testing.T) {
	e, _ := openTest(t)
	ctx := context.Background()
	err := e.Update(ctx, func(tx docstore.Tx) error {
		if err := tx.Put("", docstore.KindBucket, &docstore.Object{ID: "b", LastModified: 10, Data: []byte(`{"id":"b","last_modified":10}`),
			Permissions: docstore.Permissions{"read": {"system.Everyone"}}}); err != nil {
			return err
		}
		if err := tx.Put("/buckets/b", docstore.KindCollection, &docstore.Object{ID: "c", LastModified: 11, Data: []byte(`{"id":"c","last_modified":11}`)}); err != nil {
			return err
		}
		return tx.Put("/buckets/b", docstore.KindCollection, &docstore.Object{ID: "gone", LastModified: 12, Deleted: true})
	})
	if err != nil {
		t.Fatal(err)
	}
	keys := []docstore.ObjectKey{
		{Parent: "/buckets/b", Kind: docstore.KindCollection, ID: "gone"},
		{Parent: "/buckets/b", Kind: docstore.KindCollection, ID: "c"},
		{Parent: "/buckets/b", Kind: docstore.KindCollection, ID: "missing"},
		{Parent: "", Kind: docstore.KindBucket, ID: "b"},
	}
	for _, second := range []bool{false, true} {
		runs := 0
		err := e.View(ctx, func(tx docstore.Tx) error {
			runs++
			objs, err := tx.(docstore.Prefetcher).GetMany(keys, true)
			if err != nil {
				return err
			}
			if objs[0] != nil || objs[2] != nil || objs[1] == nil || objs[1].ID != "c" || objs[3] == nil || objs[3].ID != "b" {
				t.Fatalf("GetMany = %+v", objs)
			}
			if got := objs[3].Permissions["read"]; len(got) != 1 || got[0] != "system.Everyone" {
				t.Fatalf("bucket permissions = %v", objs[3].Permissions)
			}
			if string(objs[1].Data) != `{"id":"c","last_modified":11}` || objs[1].LastModified != 11 {
				t.Fatalf("collection = %s at %d", objs[1].Data, objs[1].LastModified)
			}
			if second {
				// The error is swallowed on purpose: the engine must
				// still run fn again.
				_, _ = tx.Get("", docstore.KindBucket, "b")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int{false: 1, true: 2}[second]; runs != want {
			t.Fatalf("second read %v: %d runs, want %d", second, runs, want)
		}
	}
	// In an Update, last changes nothing: the transaction began already.
	err = e.Update(ctx, func(tx docstore.Tx) error {
		if _, err := tx.(docstore.Prefetcher).GetMany(keys[1:2], true); err != nil {
			return err
		}
		_, err := tx.Get("", docstore.KindBucket, "b")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A scan whose first page is sized by Expect goes on past it, in order,
// for as long as fn asks.
func TestScanExpectSmallFirstPage(t *testing.T) {
	e, _ := openTest(t)
	var objs []*docstore.Object
	for i := range 10 {
		objs = append(objs, &docstore.Object{ID: string(rune('a' + i)), LastModified: int64(100 + i), Data: []byte(`{}`)})
	}
	put(t, e, coll, docstore.KindRecord, objs...)
	var got []string
	err := e.View(context.Background(), func(tx docstore.Tx) error {
		got = got[:0]
		return tx.Scan(coll, docstore.KindRecord, docstore.ScanOptions{Expect: 3, Since: 101}, func(o *docstore.Object) (bool, error) {
			got = append(got, o.ID)
			return true, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "jihgfedc"; strings.Join(got, "") != want {
		t.Fatalf("scan = %q; want %q", strings.Join(got, ""), want)
	}
}

// A timestamp read with GetMany answers the Timestamp call that follows,
// in a View; a list without a timestamp stays without one.
func TestPrefetchTimestamp(t *testing.T) {
	e, _ := openTest(t)
	put(t, e, coll, docstore.KindRecord, &docstore.Object{ID: "r", LastModified: 500, Data: []byte(`{}`)})
	err := e.View(context.Background(), func(tx docstore.Tx) error {
		p := tx.(docstore.Prefetcher)
		p.PrefetchTimestamp(coll, docstore.KindRecord)
		p.PrefetchTimestamp(coll, "nothing")
		objs, err := p.GetMany([]docstore.ObjectKey{{Parent: coll, Kind: docstore.KindRecord, ID: "r"}}, false)
		if err != nil || objs[0] == nil {
			t.Fatalf("GetMany = %v, %v", objs, err)
		}
		if ts, ok, err := tx.Timestamp(coll, docstore.KindRecord); ts != 500 || !ok || err != nil {
			t.Fatalf("Timestamp = %d, %v, %v; want 500", ts, ok, err)
		}
		if ts, ok, err := tx.Timestamp(coll, "nothing"); ts != 0 || ok || err != nil {
			t.Fatalf("Timestamp of an empty list = %d, %v, %v", ts, ok, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
