package bolt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/changegate/changegate/docstore"
	"github.com/changegate/changegate/docstore/enginetest"
	"go.etcd.io/bbolt"
)

// openTemp opens a new durable engine in a temporary directory.
func openTemp(t *testing.T) (*Engine, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data", "store.db")
	e, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e, path
}

func TestEngine(t *testing.T) {
	enginetest.Run(t, func(t *testing.T) docstore.Engine {
		e, _ := openTemp(t)
		return e
	})
}

// rawDump returns every key and value of every bucket of the file.
func rawDump(t *testing.T, e *Engine) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := e.db.View(func(btx *bbolt.Tx) error {
		return btx.ForEach(func(name []byte, b *bbolt.Bucket) error {
			return b.ForEach(func(k, v []byte) error {
				out[string(name)+"|"+string(k)] = string(v)
				return nil
			})
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// fillVaried stores objects of several sets, tombstones, a large record
// spilling over pages, and timestamps.
func fillVaried(t *testing.T, e *Engine) {
	t.Helper()
	big := make([]byte, 100_000)
	for i := range big {
		big[i] = "0123456789abcdef"[i%16]
	}
	err := e.Update(context.Background(), func(tx docstore.Tx) error {
		objs := []struct {
			parent, kind string
			obj          docstore.Object
		}{
			{"", docstore.KindBucket, docstore.Object{ID: "b", LastModified: 1, Data: []byte(`{"id":"b","last_modified":1}`),
				Permissions: docstore.Permissions{"write": {"account:alice"}, "read": nil}}},
			{"/buckets/b", docstore.KindCollection, docstore.Object{ID: "c", LastModified: 2, Data: []byte(`{"id":"c", "ünïcode": "✓"}`)}},
			{"/buckets/b/collections/c", docstore.KindRecord, docstore.Object{ID: "big", LastModified: 3, Data: big}},
			{"/buckets/b/collections/c", docstore.KindRecord, docstore.Object{ID: "gone", LastModified: 4, Deleted: true}},
			{"/buckets/b/collections/c", docstore.KindRecord, docstore.Object{ID: "neg", LastModified: -4, Data: []byte(`{}`)}},
		}
		for _, o := range objs {
			if err := tx.Put(o.parent, o.kind, &o.obj); err != nil {
				return err
			}
		}
		if err := tx.SetTimestamp("/buckets/b/collections/c", docstore.KindRecord, 4); err != nil {
			return err
		}
		return tx.SetTimestamp("", docstore.KindBucket, 1)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// apiDump reads back, through the engine, what fillVaried stored.
func apiDump(t *testing.T, e *Engine) []*docstore.Object {
	t.Helper()
	var out []*docstore.Object
	err := e.View(context.Background(), func(tx docstore.Tx) error {
		out = nil
		for _, s := range [][2]string{{"", docstore.KindBucket}, {"/buckets/b", docstore.KindCollection}, {"/buckets/b/collections/c", docstore.KindRecord}} {
			err := tx.Scan(s[0], s[1], docstore.ScanOptions{IncludeDeleted: true}, func(o *docstore.Object) (bool, error) {
				out = append(out, o)
				return true, nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestReopenKeepsEverything(t *testing.T) {
	e, path := openTemp(t)
	fillVaried(t, e)
	raw, objs := rawDump(t, e), apiDump(t, e)
	if len(objs) != 5 || len(objs[3].Data) != 100_000 {
		t.Fatalf("fixture read back %d objects; want 5 with the big one fourth", len(objs))
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e, err := Open(path, Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	gotRaw := rawDump(t, e)
	if len(gotRaw) != len(raw) {
		t.Fatalf("reopened file holds %d keys; want %d", len(gotRaw), len(raw))
	}
	for k, v := range raw {
		if gotRaw[k] != v {
			t.Fatalf("reopened file has %q = %q; want %q", k, gotRaw[k], v)
		}
	}
	got := apiDump(t, e)
	for i := range objs {
		a, b := got[i], objs[i]
		if a.ID != b.ID || a.LastModified != b.LastModified || a.Deleted != b.Deleted ||
			string(a.Data) != string(b.Data) || len(a.Permissions) != len(b.Permissions) {
			t.Fatalf("object %d after reopening is %+v; want %+v", i, a, b)
		}
	}
}

func TestSecondOpenSaysFileInUse(t *testing.T) {
	_, path := openTemp(t)
	start := time.Now()
	e, err := Open(path, Options{Timeout: 200 * time.Millisecond})
	elapsed := time.Since(start)
	if err == nil {
		e.Close()
		t.Fatal("second Open of an open file succeeded")
	}
	want := "opening bolt file " + path + ": in use by another process — is a changegate already running?"
	if !errors.Is(err, ErrInUse) || err.Error() != want {
		t.Fatalf("second Open failed with %q; want %q", err, want)
	}
	if elapsed < 100*time.Millisecond || elapsed > 2*time.Second {
		t.Fatalf("second Open failed after %v; want about 200ms", elapsed)
	}
}

func TestOpenCreatesPrivateFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	e, err := Open(filepath.Join(dir, "store.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for path, want := range map[string]os.FileMode{dir: 0o700 | os.ModeDir, filepath.Join(dir, "store.db"): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s has mode %v; want %v", path, fi.Mode(), want)
		}
	}
}

func TestOpenRejectsOtherFormats(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(btx *bbolt.Tx) error {
		b, err := btx.CreateBucket(bucketMeta)
		if err != nil {
			return err
		}
		return b.Put(keyFormat, []byte{0, 0, 0, 0, 0, 0, 0, 3})
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if e, err := Open(path, Options{}); err == nil {
		e.Close()
		t.Fatal("Open of a format 3 file succeeded")
	}
}

func TestTxUnusableAfterCallback(t *testing.T) {
	e, _ := openTemp(t)
	var kept docstore.Tx
	update := func(tx docstore.Tx) error { kept = tx; return nil }
	for _, run := range []func(context.Context, func(docstore.Tx) error) error{e.Update, e.View} {
		if err := run(context.Background(), update); err != nil {
			t.Fatal(err)
		}
		if _, err := kept.Get("", docstore.KindBucket, "b"); !errors.Is(err, errClosed) {
			t.Errorf("Get after the callback = %v; want %v", err, errClosed)
		}
		if err := kept.Put("", docstore.KindBucket, &docstore.Object{ID: "b"}); !errors.Is(err, errClosed) {
			t.Errorf("Put after the callback = %v; want %v", err, errClosed)
		}
		if err := kept.Scan("", docstore.KindBucket, docstore.ScanOptions{}, nil); !errors.Is(err, errClosed) {
			t.Errorf("Scan after the callback = %v; want %v", err, errClosed)
		}
	}
}

func TestInvalidNames(t *testing.T) {
	e, _ := openTemp(t)
	obj := &docstore.Object{ID: "x", LastModified: 1}
	cases := map[string]func(docstore.Tx) error{
		"NUL in parent": func(tx docstore.Tx) error { return tx.Put("/buckets/b\x00", docstore.KindCollection, obj) },
		"NUL in kind":   func(tx docstore.Tx) error { return tx.Put("/buckets/b", "a\x00b", obj) },
		"empty kind":    func(tx docstore.Tx) error { return tx.Put("/buckets/b", "", obj) },
		"empty id":      func(tx docstore.Tx) error { return tx.Put("/buckets/b", docstore.KindCollection, &docstore.Object{}) },
		"nil object":    func(tx docstore.Tx) error { return tx.Put("/buckets/b", docstore.KindCollection, nil) },
		"NUL in tree":   func(tx docstore.Tx) error { return tx.DeleteTree("/buckets/b\x00") },
		"NUL in get": func(tx docstore.Tx) error {
			_, err := tx.Get("\x00", docstore.KindBucket, "x")
			return err
		},
	}
	for name, fn := range cases {
		if err := e.Update(context.Background(), fn); err == nil {
			t.Errorf("%s: Update succeeded", name)
		}
	}
	if got := len(rawDump(t, e)); got != 1 {
		t.Fatalf("file holds %d keys after invalid writes; want only the format", got)
	}
}

// TestCountsLeaveNoTrace: counts that drop to zero are removed, so a
// collection emptied by tombstones leaves only its tombstones.
func TestCountsLeaveNoTrace(t *testing.T) {
	e, _ := openTemp(t)
	put := func(o *docstore.Object) {
		t.Helper()
		err := e.Update(context.Background(), func(tx docstore.Tx) error { return tx.Put("/p", docstore.KindRecord, o) })
		if err != nil {
			t.Fatal(err)
		}
	}
	put(&docstore.Object{ID: "a", LastModified: 1})
	put(&docstore.Object{ID: "a", LastModified: 2, Deleted: true})
	for k := range rawDump(t, e) {
		if len(k) > len("counts|") && k[:len("counts|")] == "counts|" {
			t.Fatalf("count entry %q left after the last object was deleted", k)
		}
	}
}

// TestConcurrentUpdatesShareCommits: concurrent Updates are grouped into
// fewer bbolt transactions than Updates (the group commit that makes
// durable writes fast), each Update's writes landing in the transaction
// that committed its last run.
func TestConcurrentUpdatesShareCommits(t *testing.T) {
	e, _ := openTemp(t)
	const writers, each = 50, 20
	ids := make(chan int, writers*each)
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range each {
				var id int
				err := e.Update(context.Background(), func(dtx docstore.Tx) error {
					id = dtx.(*tx).btx.ID()
					return dtx.Put("/p", docstore.KindRecord, &docstore.Object{ID: fmt.Sprint(g, "-", i), LastModified: 1})
				})
				if err != nil {
					t.Error(err)
					return
				}
				ids <- id
			}
		})
	}
	wg.Wait()
	close(ids)
	commits := map[int]bool{}
	for id := range ids {
		commits[id] = true
	}
	if len(commits) > writers*each/4 {
		t.Fatalf("%d Updates took %d commits; want grouped commits", writers*each, len(commits))
	}
	t.Logf("%d Updates, %d commits", writers*each, len(commits))
}
