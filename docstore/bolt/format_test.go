package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"

	"github.com/changegate/changegate/docstore"
	"go.etcd.io/bbolt"
)

// TestOpenUpgradesFormat1 turns a file into what storage format 1 wrote
// (values without a generation, format 1 in meta) and checks that it
// opens, reads its objects as generation 1, numbers the next write 2, and
// is marked format 2.
func TestOpenUpgradesFormat1(t *testing.T) {
	e, path := openTemp(t)
	ctx := context.Background()
	put := func(e *Engine, obj *docstore.Object) {
		t.Helper()
		if err := e.Update(ctx, func(tx docstore.Tx) error { return tx.Put("/p", docstore.KindRecord, obj) }); err != nil {
			t.Fatal(err)
		}
	}
	put(e, &docstore.Object{ID: "a", LastModified: 10, Data: []byte(`{"id":"a"}`)})
	put(e, &docstore.Object{ID: "a", LastModified: 11, Data: []byte(`{"id":"a","v":2}`)})
	e.Close()

	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(btx *bbolt.Tx) error {
		objects := btx.Bucket(bucketObjects)
		k, v := objects.Cursor().First()
		// Drop the generation varint (one byte here): a format 1 value.
		old := append([]byte{codecVersionV1, v[1]}, v[3:]...)
		if err := objects.Put(append([]byte(nil), k...), old); err != nil {
			return err
		}
		return btx.Bucket(bucketMeta).Put(keyFormat, binary.BigEndian.AppendUint64(nil, formatVersionV1))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	e, err = Open(path, Options{})
	if err != nil {
		t.Fatalf("opening a format 1 file: %v", err)
	}
	defer e.Close()
	gen := func() int64 {
		t.Helper()
		var obj *docstore.Object
		err := e.View(ctx, func(tx docstore.Tx) error {
			var err error
			obj, err = tx.GetVersion("/p", docstore.KindRecord, "a")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return obj.Generation
	}
	if g := gen(); g != 1 {
		t.Fatalf("generation of a format 1 object = %d; want 1", g)
	}
	put(e, &docstore.Object{ID: "a", LastModified: 12, Deleted: true})
	if g := gen(); g != 2 {
		t.Fatalf("generation after a write over a format 1 object = %d; want 2", g)
	}
	err = e.db.View(func(btx *bbolt.Tx) error {
		if v := btx.Bucket(bucketMeta).Get(keyFormat); !bytes.Equal(v, binary.BigEndian.AppendUint64(nil, formatVersion)) {
			t.Errorf("format after opening = %x; want %d", v, formatVersion)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
