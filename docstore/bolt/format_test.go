package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"path/filepath"
	"testing"

	"github.com/changegate/changegate/docstore"
	"go.etcd.io/bbolt"
)

// TestOpenUpgradesFormat1 turns a file into what storage format 1 wrote
// (values without a generation, format 1 in meta) and checks that it
// opens, reports the upgrade, reads its objects as generation 1, numbers
// the next write 2, and is marked format 2; opened again, it reports no
// upgrade.
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

	toFormat1(t, path)

	e, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("opening a format 1 file: %v", err)
	}
	defer e.Close()
	if from, to, ok := e.FormatUpgrade(); !ok || from != 1 || to != 2 {
		t.Errorf("FormatUpgrade() = %d, %d, %v; want 1, 2, true", from, to, ok)
	}
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

// toFormat1 makes the closed file at path what storage format 1 wrote:
// every value without its generation, format 1 in meta.
func toFormat1(tb testing.TB, path string) {
	tb.Helper()
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(btx *bbolt.Tx) error {
		objects := btx.Bucket(bucketObjects)
		type kv struct{ k, v []byte }
		var old []kv
		err := objects.ForEach(func(k, v []byte) error {
			_, w := binary.Uvarint(v[2:])
			old = append(old, kv{append([]byte(nil), k...), append([]byte{codecVersionV1, v[1]}, v[2+w:]...)})
			return nil
		})
		if err != nil {
			return err
		}
		for _, o := range old {
			if err := objects.Put(o.k, o.v); err != nil {
				return err
			}
		}
		return btx.Bucket(bucketMeta).Put(keyFormat, binary.BigEndian.AppendUint64(nil, formatVersionV1))
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// format1File returns a closed format 1 file holding record a of /p.
func format1File(t *testing.T) string {
	t.Helper()
	e, path := openTemp(t)
	err := e.Update(context.Background(), func(tx docstore.Tx) error {
		return tx.Put("/p", docstore.KindRecord, &docstore.Object{ID: "a", LastModified: 10, Data: []byte(`{"id":"a"}`)})
	})
	if err != nil {
		t.Fatal(err)
	}
	e.Close()
	toFormat1(t, path)
	return path
}

// TestUpgradeRewritesNoValue: the upgrade changes the format marker only,
// so that it is one small transaction whatever the file's size (and a
// crash leaves the file in format 1 or 2, both readable).
func TestUpgradeRewritesNoValue(t *testing.T) {
	path := format1File(t)
	e, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	err = e.db.View(func(btx *bbolt.Tx) error {
		_, v := btx.Bucket(bucketObjects).Cursor().First()
		if v[0] != codecVersionV1 {
			t.Errorf("value after the upgrade has codec %d; want %d, untouched", v[0], codecVersionV1)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestReadOnlyLeavesFormat1: opened read-only (a copy's source), a
// format 1 file is read, as generation 1, and stays format 1.
func TestReadOnlyLeavesFormat1(t *testing.T) {
	path := format1File(t)
	e, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := e.FormatUpgrade(); ok {
		t.Error("a read-only Open reports an upgrade")
	}
	err = e.View(context.Background(), func(tx docstore.Tx) error {
		obj, err := tx.GetVersion("/p", docstore.KindRecord, "a")
		if err == nil && obj.Generation != 1 {
			t.Errorf("generation %d; want 1", obj.Generation)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Update(context.Background(), func(docstore.Tx) error { return nil }); err == nil {
		t.Error("Update of a read-only engine succeeded")
	}
	e.Close()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(btx *bbolt.Tx) error {
		if v := btx.Bucket(bucketMeta).Get(keyFormat); !bytes.Equal(v, binary.BigEndian.AppendUint64(nil, formatVersionV1)) {
			t.Errorf("format after a read-only Open = %x; want 1", v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// BenchmarkUpgradeFormat1 opens (and so upgrades) a format 1 file of
// 100,000 records, against opening the same file once upgraded
// (docs/operations.md quotes the figures).
func BenchmarkUpgradeFormat1(b *testing.B) {
	const n = 100_000
	path := filepath.Join(b.TempDir(), "bench.db")
	e, err := Open(path, Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < n; i += 10_000 {
		err := e.Update(context.Background(), func(tx docstore.Tx) error {
			for j := range 10_000 {
				if err := tx.Put(benchParent, docstore.KindRecord, benchRecord(int64(i+j+1))); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	e.Close()
	for _, bc := range []struct {
		name    string
		prepare func()
	}{
		{"format 1", func() { toFormat1(b, path) }},
		{"format 2", func() {}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				bc.prepare()
				b.StartTimer()
				e, err := Open(path, Options{})
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				e.Close()
				b.StartTimer()
			}
		})
	}
}
